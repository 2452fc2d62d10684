"""FedAvg with reply validation and a per-round report; the base of every strategy."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from logging import INFO, WARNING
from typing import Any, Self

import numpy as np
import torch
from flwr.app import Array, ArrayRecord, ConfigRecord, Message, MetricRecord, RecordDict
from flwr.common.logger import log
from flwr.serverapp import Grid
from flwr.serverapp.strategy import FedAvg, Result
from torch import nn

from fedvideo.config import (
    ConfigError,
    FederationConfig,
    at_least,
    in_unit_interval,
    parse_section,
)
from fedvideo.fl.client_errors import parse_input_error
from fedvideo.fl.training import ClientTerm
from fedvideo.strategies.failures import upload_lost
from fedvideo.strategies.rounds import EvaluateFn, ResumedRounds
from fedvideo.strategies.run_health import (
    ClientErrorLog,
    RunFailed,
    all_input_errors,
    failed_round_message,
)
from fedvideo.strategies.validation import (
    DEFAULT_LIMITS,
    ArraySpec,
    ReplyLimits,
    array_specs,
    non_finite_array,
    reject_reason,
)

__all__ = [
    "ClientUpdate",
    "FedVideoStrategy",
    "ReliabilityConfig",
    "RoundReport",
    "averaged_array",
]

AGGREGATION_WEIGHT_KEY = "aggregation-weight"


def averaged_array(value: np.ndarray, dtype: np.dtype | str) -> Array:
    """Wrap a weighted average as an Array of ``dtype``, rounding for integers."""
    if np.issubdtype(np.dtype(dtype), np.integer):
        value = np.rint(value)
    return Array(np.asarray(value, dtype=dtype))


@dataclass(frozen=True)
class ReliabilityConfig:
    """Reply acceptance and failure injection (``[..config.reliability]``)."""

    min_train_replies: int = dataclasses.field(metadata=at_least(1))
    max_num_examples: int = dataclasses.field(metadata=at_least(1))
    max_train_loss: float
    upload_loss: float = dataclasses.field(metadata=in_unit_interval())
    max_failed_rounds: int = dataclasses.field(metadata=at_least(0))

    def __post_init__(self) -> None:
        """Reject a loss bound that no sound reply could meet."""
        if not self.max_train_loss > 0:
            raise ConfigError(
                "run config 'reliability.max-train-loss' must be > 0, got "
                f"{self.max_train_loss}"
            )


@dataclass(frozen=True)
class ClientUpdate:
    """One accepted training reply, as a strategy's weighting sees it."""

    node_id: int
    train_loss: float
    num_examples: float


@dataclass
class RoundReport:
    """What happened to every reply of one training round."""

    clients: list[dict] = field(default_factory=list)
    dropped: list[dict] = field(default_factory=list)
    diagnostics: dict[str, float] = field(default_factory=dict)
    skipped: str | None = None  # why the round kept the previous global model


class FedVideoStrategy(FedAvg):
    """Flower's FedAvg, hardened for unattended video runs.

    Training replies with an error, missing metrics, a loss that is not finite and
    positive or beyond ``limits``, an implausible number of examples, or arrays
    that do not match the global model are dropped with a logged reason, and the
    round goes on with the rest; with fewer than ``min_train_replies`` left the
    round keeps the previous global model. The run ends with
    :class:`~fedvideo.strategies.run_health.RunFailed` when every reply of a
    round is a client input error (a data or configuration fault, which would
    repeat), or when more than ``max_failed_rounds`` consecutive rounds
    accepted no reply (failure injection aside); ``client_errors`` records who
    failed when. For robustness experiments,
    ``upload_loss`` discards each upload with that probability before it is read
    (:func:`~fedvideo.strategies.failures.upload_lost`). Subclasses change how the
    accepted updates are weighted by overriding :meth:`aggregation_weights`,
    read their own section of the run config in :meth:`method_options`, and
    add a term to their clients' objective with :meth:`client_term`.
    Every round's per-client losses, weights and reported metrics are kept in
    ``reports``.
    Strategies that carry state across rounds expose it with :meth:`state_dict`
    so that it goes into the round checkpoint.

    Parameters
    ----------
    num_rounds : int
        Total number of rounds (loss-aware schedules depend on it).
    min_train_replies : int, optional
        Accepted replies a round needs to update the global model.
    upload_loss : float, optional
        Probability in [0, 1] that a client's upload is lost (failure injection).
    seed : int, optional
        Seed of the failure injection.
    max_failed_rounds : int, optional
        Consecutive rounds without an accepted reply that the run tolerates;
        0 = no limit.
    limits : ReplyLimits, optional
        Largest number of examples and loss a reply may report.
    **fedavg_kwargs
        Passed on to :class:`flwr.serverapp.strategy.FedAvg`.
    """

    loss_key = "train_loss"

    def __init__(
        self,
        *,
        num_rounds: int,
        min_train_replies: int = 1,
        upload_loss: float = 0.0,
        seed: int = 0,
        max_failed_rounds: int = 0,
        limits: ReplyLimits = DEFAULT_LIMITS,
        **fedavg_kwargs,
    ) -> None:
        super().__init__(**fedavg_kwargs)
        if min_train_replies < 1:
            raise ValueError(f"min_train_replies must be >= 1, got {min_train_replies}")
        if not 0.0 <= upload_loss <= 1.0:
            raise ValueError(f"upload_loss must be in [0, 1], got {upload_loss}")
        if max_failed_rounds < 0:
            raise ValueError(f"max_failed_rounds must be >= 0, got {max_failed_rounds}")
        self.num_rounds = num_rounds
        self.min_train_replies = min_train_replies
        self.upload_loss = upload_loss
        self.seed = seed
        self.max_failed_rounds = max_failed_rounds
        self.limits = limits
        self.reports: dict[int, RoundReport] = {}
        self.client_errors = ClientErrorLog()
        self.updated_rounds = 0  # rounds that changed the global model
        self._failed_in_a_row = 0
        self._reference: dict[str, ArraySpec] = {}

    @classmethod
    def from_run_config(
        cls, run_config: Mapping[str, Any], federation: FederationConfig
    ) -> Self:
        """Build the strategy from the run config.

        The federation settings and ``[..config.reliability]`` apply to every
        strategy; the method's own section comes from :meth:`method_options`.

        Raises
        ------
        ConfigError
            If a setting of either section is invalid.
        """
        reliability = parse_section(run_config, ReliabilityConfig, "reliability")
        return cls(
            num_rounds=federation.num_server_rounds,
            min_train_replies=reliability.min_train_replies,
            upload_loss=reliability.upload_loss,
            seed=federation.seed,
            max_failed_rounds=reliability.max_failed_rounds,
            limits=ReplyLimits(
                reliability.max_num_examples, reliability.max_train_loss
            ),
            fraction_train=federation.fraction_train,
            min_train_nodes=federation.min_train_nodes,
            fraction_evaluate=federation.fraction_evaluate,
            min_evaluate_nodes=0 if federation.fraction_evaluate == 0 else 1,
            min_available_nodes=federation.min_available_nodes,
            **cls.method_options(run_config),
        )

    @classmethod
    def method_options(cls, run_config: Mapping[str, Any]) -> dict[str, Any]:
        """Read the method's own run-config section into constructor arguments."""
        return {}

    @classmethod
    def client_term(
        cls,
        model: nn.Module,
        federated: Iterable[str],
        round_config: Mapping[str, Any],
        optimizer: torch.optim.Optimizer,
    ) -> ClientTerm | None:
        """Build the method's term in its clients' objective (FedAvg: none).

        Called on the client before local training, with the model holding
        the global weights, the names of the federated tensors, the round's
        configuration that :meth:`configure_train` sent and the optimiser
        local training will use.
        """
        return None

    def configure_train(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        """Remember the global model's layout, then configure as FedAvg does."""
        self._reference = array_specs(arrays)
        return super().configure_train(server_round, arrays, config, grid)

    def aggregation_weights(
        self, server_round: int, updates: Sequence[ClientUpdate]
    ) -> tuple[list[float], dict[str, float]]:
        """Weights of the accepted updates (FedAvg: share of examples).

        Returns
        -------
        tuple[list[float], dict[str, float]]
            One non-negative weight per update (normalised by the caller) and
            diagnostics to record with the round.
        """
        return [u.num_examples for u in updates], {}

    def state_dict(self) -> dict[str, Any]:
        """Strategy state that spans rounds (none for FedAvg), for checkpoints."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore state saved by :meth:`state_dict`."""
        if state:
            raise ValueError(
                f"{type(self).__name__} keeps no state, got keys {sorted(state)}"
            )

    def start(
        self,
        grid: Grid,
        initial_arrays: ArrayRecord,
        num_rounds: int = 3,
        timeout: float = 3600,
        train_config: ConfigRecord | None = None,
        evaluate_config: ConfigRecord | None = None,
        evaluate_fn: EvaluateFn | None = None,
        *,
        first_round: int = 1,
        **flower_kwargs: Any,
    ) -> Result:
        """Flower's ``start``, or, with ``first_round > 1``, its resumed form.

        A run resumed from the checkpoint of round ``k`` passes
        ``first_round = k + 1`` (with its state restored by
        :meth:`load_state_dict`): rounds ``1..k`` and the round-0 evaluation
        are skipped, and rounds ``k+1..num_rounds`` run with their true numbers
        (see :class:`~fedvideo.strategies.rounds.ResumedRounds`).
        Keyword arguments a later Flower adds to ``start`` (``flower_kwargs``)
        are passed on unchanged.
        """
        arguments = {
            "grid": grid,
            "initial_arrays": initial_arrays,
            "num_rounds": num_rounds,
            "timeout": timeout,
            "train_config": train_config,
            "evaluate_config": evaluate_config,
            "evaluate_fn": evaluate_fn,
            **flower_kwargs,
        }
        if first_round == 1:
            return super().start(**arguments)
        return ResumedRounds(self, first_round).start(**arguments)

    def accept_replies(
        self, server_round: int, replies: Iterable[Message]
    ) -> list[Message]:
        """Split replies into accepted ones and dropped ones (logged and reported)."""
        report = self.reports.setdefault(server_round, RoundReport())
        accepted = []
        for reply in replies:
            node_id = reply.metadata.src_node_id
            if self._lost_in_transit(server_round, reply):
                reason = (
                    f"upload lost (failure injection, upload-loss {self.upload_loss})"
                )
                log(INFO, "round %d: node %d: %s", server_round, node_id, reason)
                report.dropped.append(
                    {"node_id": node_id, "reason": reason, "injected": True}
                )
                continue
            reason = reject_reason(
                reply,
                self._reference,
                self.loss_key,
                self.weighted_by_key,
                self.limits,
                check_values=False,  # checked while averaging (_weighted_average)
            )
            if reason is None:
                accepted.append(reply)
                continue
            self._drop(server_round, reply, reason)
        # Arrival order varies from run to run; a fixed order makes the float
        # sums of the aggregation, and so a resumed run, reproducible.
        accepted.sort(key=lambda r: (self._client_key(r), r.metadata.src_node_id))
        return accepted

    def aggregate_train(
        self, server_round: int, replies: Iterable[Message]
    ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        """Drop unsound replies, weight the rest, and average their arrays.

        Each accepted reply's arrays are read once, while they are averaged; a
        reply whose arrays hold NaN or inf shows in the average, and is then
        found, dropped and the average done again without it.

        Raises
        ------
        RunFailed
            If every reply was a client input error, or too many rounds in a
            row accepted no reply (see the class docstring).
        """
        replies = list(replies)
        accepted = self.accept_replies(server_round, replies)
        arrays = None
        while len(accepted) >= self.min_train_replies:
            metrics = [next(iter(r.content.metric_records.values())) for r in accepted]
            updates = [
                ClientUpdate(
                    node_id=r.metadata.src_node_id,
                    train_loss=float(m[self.loss_key]),
                    num_examples=float(m[self.weighted_by_key]),
                )
                for r, m in zip(accepted, metrics, strict=True)
            ]
            weights, diagnostics = self.aggregation_weights(server_round, updates)
            total = float(sum(weights))
            weights = [w / total for w in weights]
            arrays = self._weighted_average(accepted, weights)
            if arrays is not None:
                break
            accepted = self._drop_non_finite(server_round, accepted)
        log(INFO, "aggregate_train: %d replies accepted", len(accepted))
        self._judge_round(server_round, len(replies), len(accepted))
        if arrays is None:
            reason = (
                f"{len(accepted)} accepted replies, fewer than min-train-replies "
                f"({self.min_train_replies}): the global model is kept"
            )
            log(WARNING, "round %d: %s", server_round, reason)
            self.reports[server_round].skipped = reason
            return None, None
        self.updated_rounds += 1
        contents = [
            RecordDict({"metrics": MetricRecord({**m, AGGREGATION_WEIGHT_KEY: w})})
            for m, w in zip(metrics, weights, strict=True)
        ]
        train_metrics = self.train_metrics_aggr_fn(contents, AGGREGATION_WEIGHT_KEY)

        report = self.reports[server_round]
        report.diagnostics = diagnostics
        report.clients = [
            {
                "node_id": u.node_id,
                "train_loss": u.train_loss,
                "num_examples": u.num_examples,
                "weight": w,
                "metrics": dict(m),
            }
            for u, w, m in zip(updates, weights, metrics, strict=True)
        ]
        return arrays, train_metrics

    def _judge_round(self, server_round: int, num_replies: int, accepted: int) -> None:
        """Record the round's failures and end the run if it cannot learn."""
        dropped = self.reports[server_round].dropped
        self.client_errors.record(server_round, dropped)
        if accepted:
            self._failed_in_a_row = 0
            return
        if all_input_errors(dropped, num_replies):
            raise RunFailed(failed_round_message(server_round, dropped))
        if dropped and all(d.get("injected") for d in dropped):
            return  # failure injection: the experiment, not a fault
        self._failed_in_a_row += 1
        limit = self.max_failed_rounds
        if limit and self._failed_in_a_row > limit:
            raise RunFailed(
                f"round {server_round}: {self._failed_in_a_row} rounds in a row "
                f"without an accepted reply, more than reliability.max-failed-rounds "
                f"({limit}); last errors: "
                + (
                    "; ".join(f"{d['client']}: {d['error']}" for d in dropped)
                    or "no replies"
                )
            )

    def _drop(self, server_round: int, reply: Message, reason: str) -> None:
        """Log a dropped reply and add it to the round's report."""
        log(
            WARNING,
            "round %d: dropped reply of node %d: %s",
            server_round,
            reply.metadata.src_node_id,
            reason,
        )
        self.reports[server_round].dropped.append(self._dropped_entry(reply, reason))

    def _dropped_entry(self, reply: Message, reason: str) -> dict[str, Any]:
        """Describe a dropped reply: its node, client, error and kind."""
        node_id = reply.metadata.src_node_id
        entry: dict[str, Any] = {"node_id": node_id, "reason": reason}
        parsed = parse_input_error(reply.error.reason) if reply.has_error() else None
        if parsed is not None:
            entry.update(client=parsed.client, error=parsed.message, input_error=True)
            return entry
        key = self._client_key(reply)
        client = f"partition {key}" if key != node_id else f"node {node_id}"
        entry.update(client=client, error=reason, input_error=False)
        return entry

    @staticmethod
    def _client_key(reply: Message) -> int:
        """Return the reply's partition id, else its node id: a stable client key."""
        if not reply.has_error() and len(reply.content.metric_records) == 1:
            metrics = next(iter(reply.content.metric_records.values()))
            if isinstance(metrics.get("partition_id"), int):
                return int(metrics["partition_id"])
        return reply.metadata.src_node_id

    def _lost_in_transit(self, server_round: int, reply: Message) -> bool:
        """Whether failure injection loses this reply (keyed by its client key)."""
        if self.upload_loss == 0.0:
            return False
        client_key = self._client_key(reply)
        return upload_lost(self.seed, server_round, client_key, self.upload_loss)

    def _weighted_average(
        self, replies: Sequence[Message], weights: Sequence[float]
    ) -> ArrayRecord | None:
        """Average the replies' arrays with ``weights``; None if NaN or inf shows.

        One pass over the replies' arrays, with the operations of Flower's
        ``aggregate_arrayrecords`` in the same order (so the same floats):
        ``sum_i x_i * (w_i / sum(w))``. Averages are cast back to the global
        model's dtypes; integer buffers such as batch-norm step counters are
        rounded, so the next round's replies match.
        """
        total = sum(weights)
        sums: dict[str, np.ndarray] = {}
        for reply, weight in zip(replies, weights, strict=True):
            factor = weight / total
            record = next(iter(reply.content.array_records.values()))
            for key, array in record.items():
                if key in sums:
                    sums[key] += array.numpy() * factor
                else:
                    sums[key] = array.numpy() * factor
        if any(v.dtype.kind == "f" and not np.isfinite(v).all() for v in sums.values()):
            return None
        averaged = {}
        for key, value in sums.items():
            spec = self._reference.get(key)
            averaged[key] = averaged_array(value, spec[1] if spec else value.dtype)
        return ArrayRecord(averaged)

    def _drop_non_finite(
        self, server_round: int, replies: Sequence[Message]
    ) -> list[Message]:
        """Drop (log and report) the replies whose arrays hold NaN or inf."""
        kept = []
        for reply in replies:
            reason = non_finite_array(next(iter(reply.content.array_records.values())))
            if reason is None:
                kept.append(reply)
                continue
            self._drop(server_round, reply, reason)
        if len(kept) == len(replies):  # finite replies whose sum overflowed
            raise FloatingPointError(
                f"round {server_round}: the weighted average of finite replies "
                "is not finite (overflow)"
            )
        return kept
