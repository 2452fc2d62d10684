"""Flower's round loop, started after the rounds a resumed run has already done."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from logging import INFO
from typing import Any

from flwr.app import ArrayRecord, ConfigRecord, Message, MetricRecord
from flwr.common.logger import log
from flwr.serverapp import Grid
from flwr.serverapp.strategy import Result, Strategy

__all__ = ["ResumedRounds"]

EvaluateFn = Callable[[int, ArrayRecord], MetricRecord | None]


class ResumedRounds(Strategy):
    """Runs ``strategy`` for rounds ``first_round..num_rounds`` only.

    Flower's :meth:`Strategy.start` always loops over rounds ``1..num_rounds``
    (after evaluating the initial arrays as round 0). Rather than copying that
    loop, this thin wrapper lets it run unchanged and turns the rounds before
    ``first_round`` into no-ops: no training or evaluation messages are
    configured (so no node is contacted), nothing is aggregated, and the
    ``evaluate_fn`` is not called for them nor for round 0. From ``first_round``
    on every call goes to the wrapped strategy with the true round number, so
    client learning-rate schedules, multigrid stages and round-dependent
    aggregation weights see the same numbers as in an uninterrupted run, and the
    strategy's ``reports`` and Flower's :class:`Result` are keyed by them.

    Parameters
    ----------
    strategy : Strategy
        The strategy that runs the remaining rounds (its state already restored).
    first_round : int
        The first round to run (>= 1); earlier rounds were done before.
    """

    def __init__(self, strategy: Strategy, first_round: int) -> None:
        if first_round < 1:
            raise ValueError(f"first_round must be >= 1, got {first_round}")
        self.strategy = strategy
        self.first_round = first_round

    def done_before(self, server_round: int) -> bool:
        """Whether ``server_round`` (0 = the initial evaluation) was done before."""
        return server_round < self.first_round and self.first_round > 1

    def configure_train(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        """No messages for a round done before, else the strategy's."""
        if self.done_before(server_round):
            log(INFO, "round %d: done before the checkpoint, skipped", server_round)
            return []
        return self.strategy.configure_train(server_round, arrays, config, grid)

    def aggregate_train(
        self, server_round: int, replies: Iterable[Message]
    ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        """Nothing for a round done before, else the strategy's aggregate."""
        if self.done_before(server_round):
            return None, None
        return self.strategy.aggregate_train(server_round, replies)

    def configure_evaluate(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        """No messages for a round done before, else the strategy's."""
        if self.done_before(server_round):
            return []
        return self.strategy.configure_evaluate(server_round, arrays, config, grid)

    def aggregate_evaluate(
        self, server_round: int, replies: Iterable[Message]
    ) -> MetricRecord | None:
        """Nothing for a round done before, else the strategy's aggregate."""
        if self.done_before(server_round):
            return None
        return self.strategy.aggregate_evaluate(server_round, replies)

    def summary(self) -> None:
        """Log the wrapped strategy's summary and the first round."""
        self.strategy.summary()
        log(INFO, "\t└──> Resumed: rounds before %d were done before", self.first_round)

    def start(
        self,
        grid: Grid,
        initial_arrays: ArrayRecord,
        num_rounds: int = 3,
        timeout: float = 3600,
        train_config: ConfigRecord | None = None,
        evaluate_config: ConfigRecord | None = None,
        evaluate_fn: EvaluateFn | None = None,
        **flower_kwargs: Any,
    ) -> Result:
        """Flower's ``start``; ``evaluate_fn`` skips the rounds done before.

        Keyword arguments a later Flower adds to ``start`` (``flower_kwargs``)
        are passed on unchanged.
        """

        def evaluate_remaining(
            server_round: int, arrays: ArrayRecord
        ) -> MetricRecord | None:
            if self.done_before(server_round):
                return None
            return evaluate_fn(server_round, arrays)

        return super().start(
            grid=grid,
            initial_arrays=initial_arrays,
            num_rounds=num_rounds,
            timeout=timeout,
            train_config=train_config,
            evaluate_config=evaluate_config,
            evaluate_fn=None if evaluate_fn is None else evaluate_remaining,
            **flower_kwargs,
        )
