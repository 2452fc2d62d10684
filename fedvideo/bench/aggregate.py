"""Server aggregation time: fedvideo's fedavg and fedvsr against Flower's FedAvg.

``python -m fedvideo.bench aggregate`` builds ``--replies`` training replies of
a model with ``--params`` float32 parameters (split into tensors of BasicVSR-
like sizes), then times ``aggregate_train`` of Flower's own
:class:`flwr.serverapp.strategy.FedAvg`, of fedvideo's ``fedavg`` (with every
reply check) and of ``fedvsr``, in one process, best of ``--repeats``. Target:
at most 1.1 × Flower's time for both.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator

import numpy as np
from flwr.app import (
    Array,
    ArrayRecord,
    Message,
    MessageType,
    Metadata,
    MetricRecord,
    RecordDict,
)
from flwr.serverapp.strategy import FedAvg

from fedvideo.strategies import FedVideoStrategy, FedVSR
from fedvideo.strategies.validation import array_specs

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the benchmark's arguments."""
    parser.add_argument("--replies", type=int, default=10)
    parser.add_argument("--params", type=float, default=35e6, help="per reply")
    parser.add_argument("--tensors", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)


def _replies(num_replies: int, num_params: int, num_tensors: int) -> list[Message]:
    rng = np.random.default_rng(0)
    sizes = np.full(num_tensors, num_params // num_tensors)
    sizes[0] += num_params - sizes.sum()
    replies = []
    for node in range(num_replies):
        arrays = ArrayRecord(
            {
                f"layer{i}.weight": Array(rng.standard_normal(n, dtype=np.float32))
                for i, n in enumerate(sizes)
            }
        )
        metrics = MetricRecord(
            {"train_loss": 0.1 + 0.05 * node, "num-examples": 100, "partition_id": node}
        )
        metadata = Metadata(
            run_id=1,
            message_id=f"m{node}",
            src_node_id=1000 + node,
            dst_node_id=0,
            reply_to_message_id="",
            group_id="1",
            created_at=time.time(),
            ttl=3600.0,
            message_type=MessageType.TRAIN,
        )
        content = RecordDict({"arrays": arrays, "metrics": metrics})
        replies.append(Message(content=content, metadata=metadata))
    return replies


def _best_time(aggregate: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        aggregate()
        best = min(best, time.perf_counter() - start)
    return best


def run(args: argparse.Namespace) -> Iterator[dict]:
    """Yield one JSON line with the three times and the two ratios."""
    replies = _replies(args.replies, int(args.params), args.tensors)
    reference = array_specs(next(iter(replies[0].content.array_records.values())))
    flower = FedAvg()
    strategies = {}
    for name, cls in (("fedavg", FedVideoStrategy), ("fedvsr", FedVSR)):
        strategy = cls(num_rounds=10)
        strategy._reference = reference  # what configure_train records
        strategies[name] = strategy
    times = {
        "flower_fedavg": _best_time(
            lambda: flower.aggregate_train(1, replies), args.repeats
        )
    }
    for name, strategy in strategies.items():
        times[name] = _best_time(
            lambda s=strategy: s.aggregate_train(1, replies), args.repeats
        )
    yield {
        "benchmark": "aggregate",
        "replies": args.replies,
        "params_per_reply": int(args.params),
        "tensors": args.tensors,
        "seconds": {k: round(v, 4) for k, v in times.items()},
        "ratio_fedavg": round(times["fedavg"] / times["flower_fedavg"], 3),
        "ratio_fedvsr": round(times["fedvsr"] / times["flower_fedavg"], 3),
    }
