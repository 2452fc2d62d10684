"""What the server does after every round: checkpoint, evaluate, record results."""

from __future__ import annotations

import random
import time
from logging import INFO

import torch
from flwr.app import ArrayRecord, MetricRecord
from flwr.common.logger import log
from torch import nn

from fedvideo.config import FederationConfig
from fedvideo.fl.checkpoint import save_round_checkpoint
from fedvideo.fl.results import RunRecorder
from fedvideo.fl.task import Task
from fedvideo.fl.threads import adaptive_threads
from fedvideo.strategies.base import FedVideoStrategy

__all__ = ["AfterRound"]


def _mean_train_loss(clients: list[dict]) -> float | None:
    """Example-weighted mean of the clients' local training losses."""
    total = sum(c["num_examples"] for c in clients)
    if not total:
        return None
    return sum(c["train_loss"] * c["num_examples"] for c in clients) / total


def _mean_train_parts(clients: list[dict]) -> dict[str, float]:
    """Example-weighted means of the loss parts (``loss_<part>``) all clients report.

    For ssl these include ``no_motion``, the loss of predicting no motion on
    the same batches: the baseline the training loss must go below.
    """
    total = sum(c["num_examples"] for c in clients)
    if not total:
        return {}
    metrics = [c.get("metrics", {}) for c in clients]
    names = set.intersection(*(set(m) for m in metrics))
    return {
        name.removeprefix("loss_"): sum(
            m[name] * c["num_examples"] for m, c in zip(metrics, clients, strict=True)
        )
        / total
        for name in sorted(names)
        if name.startswith("loss_")
    }


class AfterRound:
    """The ``evaluate_fn`` handed to ``Strategy.start``, called after each round.

    It evaluates the global model on the task's held-out data every
    ``eval-every`` rounds (and at round 0 and the last round), appends the round
    to the run's results with the strategy's per-client report (losses, weights,
    dropped replies) and the wall time, and then checkpoints the global model,
    the strategy's state and the server's ``random`` state. The checkpoint is
    written last so that it always marks a completed round: a run resumed from
    it finds that round, and every earlier one, in its results.
    """

    def __init__(
        self,
        task: Task,
        model: nn.Module,
        device: torch.device,
        federation: FederationConfig,
        strategy: FedVideoStrategy,
        recorder: RunRecorder,
    ) -> None:
        self.task = task
        self.model = model
        self.device = device
        self.federation = federation
        self.strategy = strategy
        self.recorder = recorder
        self.checkpoint_path = recorder.run_dir / "checkpoint.pt"
        #: Seconds spent writing results, plots and checkpoints so far.
        self.saving_seconds = 0.0
        self._last_time = time.perf_counter()

    def _due(self, server_round: int) -> bool:
        every = self.federation.eval_every
        last = self.federation.num_server_rounds
        return server_round in (0, last) or bool(every and server_round % every == 0)

    def __call__(self, server_round: int, arrays: ArrayRecord) -> MetricRecord | None:
        """Maybe evaluate, then record and checkpoint round ``server_round``.

        Nothing happens once the run has its final status (a round that ended
        after ``flwr stop``): neither the results nor the checkpoint get it.
        """
        if self.recorder.finished:
            return None
        round_seconds = time.perf_counter() - self._last_time
        state = arrays.to_torch_state_dict()
        metrics: dict[str, float] = {}
        eval_seconds = 0.0
        if self._due(server_round):
            start = time.perf_counter()
            self.task.load_global_state(self.model, state)
            policy = self.federation.thread_policy
            with adaptive_threads(policy, self.device, measure_first=True) as threads:
                if threads is not None:
                    log(INFO, "held-out evaluation on %d thread(s)", threads.threads)
                metrics = self.task.evaluate_global(
                    self.model.to(self.device), self.device
                )
            eval_seconds = time.perf_counter() - start
            summary = "  ".join(f"{k} {v:.4f}" for k, v in metrics.items())
            log(INFO, "round %d held-out evaluation: %s", server_round, summary)

        report = self.strategy.reports.get(server_round)
        clients = report.clients if report else []
        train_loss, train_parts = _mean_train_loss(clients), _mean_train_parts(clients)
        if train_loss is not None:
            parts = "  ".join(f"{k} {v:.4f}" for k, v in train_parts.items())
            log(
                INFO, "round %d training loss %.4f  %s", server_round, train_loss, parts
            )
        saving_start = time.perf_counter()
        recorded = self.recorder.record_round(
            {
                "round": server_round,
                "train_loss": train_loss,
                "train_parts": train_parts,
                "clients": report.clients if report else [],
                "dropped": report.dropped if report else [],
                "aggregation": report.diagnostics if report else {},
                "skipped": report.skipped if report else None,
                "evaluation": metrics,
                "schedule": self.task.round_schedule(server_round)
                if server_round > 0
                else {},
                "round_seconds": round_seconds,
                "eval_seconds": eval_seconds,
            }
        )
        if not recorded:
            self.saving_seconds += time.perf_counter() - saving_start
            return None
        if self.strategy.client_errors.clients:
            self.recorder.update(client_errors=self.strategy.client_errors.summary())
        if server_round > 0:
            save_round_checkpoint(
                self.checkpoint_path,
                server_round,
                state,
                self.strategy.state_dict(),
                python_rng=random.getstate(),
            )
        self.saving_seconds += time.perf_counter() - saving_start
        self._last_time = time.perf_counter()
        return MetricRecord(metrics) if metrics else None
