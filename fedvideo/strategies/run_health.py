"""Decisions about client failures: when a run cannot learn, and who keeps failing.

The strategy drops failed replies and goes on (:mod:`fedvideo.strategies.base`).
That is right for a transient failure, but a data or configuration fault
repeats every round: a run whose clients all fail that way, or that goes
``max-failed-rounds`` rounds without a single accepted reply, must end as
failed, not as completed with an untrained model. :class:`ClientErrorLog` keeps
the per-client record that ``results.json`` and the final log lines show.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ClientErrorLog", "RunFailed", "all_input_errors", "failed_round_message"]


class RunFailed(RuntimeError):
    """The run cannot go on: clients keep failing, or no reply was ever accepted."""


def all_input_errors(dropped: Sequence[Mapping[str, Any]], num_replies: int) -> bool:
    """Whether every one of a round's ``num_replies`` replies was an input error."""
    errors = [d for d in dropped if d.get("input_error")]
    return num_replies > 0 and len(errors) == num_replies


def failed_round_message(
    server_round: int, dropped: Sequence[Mapping[str, Any]]
) -> str:
    """Say why a round whose every reply was an input error ends the run.

    One error shared by every client is quoted once; different errors are
    listed per client.
    """
    errors = [d for d in dropped if d.get("input_error")]
    distinct = sorted({d["error"] for d in errors})
    if len(distinct) == 1:
        return (
            f"round {server_round}: every client ({len(errors)}) failed with the "
            f"same data or configuration error: {distinct[0]}"
        )
    lines = "; ".join(f"{d['client']}: {d['error']}" for d in errors)
    return (
        f"round {server_round}: every client ({len(errors)}) failed with a data "
        f"or configuration error: {lines}"
    )


@dataclass
class _ClientRecord:
    failed_rounds: list[int] = field(default_factory=list)
    last_error: str = ""
    input_error: bool = False


@dataclass
class ClientErrorLog:
    """Which clients failed in which rounds, with their last error."""

    rounds: list[int] = field(default_factory=list)
    clients: dict[str, _ClientRecord] = field(default_factory=dict)

    def record(self, server_round: int, dropped: Sequence[Mapping[str, Any]]) -> None:
        """Add one round's failed replies (failure injection does not count)."""
        self.rounds.append(server_round)
        for entry in dropped:
            if entry.get("injected") or "client" not in entry:
                continue
            record = self.clients.setdefault(entry["client"], _ClientRecord())
            if server_round not in record.failed_rounds:
                record.failed_rounds.append(server_round)
            record.last_error = entry.get("error") or entry.get("reason", "")
            record.input_error = bool(entry.get("input_error"))

    def summary(self) -> list[dict[str, Any]]:
        """One row per client that failed, most failed rounds first.

        ``every_round`` is true for a client that failed in every round so far.
        """
        rows = [
            {
                "client": client,
                "failed_rounds": len(record.failed_rounds),
                "of_rounds": len(self.rounds),
                "every_round": len(record.failed_rounds) == len(self.rounds),
                "rounds": list(record.failed_rounds),
                "input_error": record.input_error,
                "last_error": record.last_error,
            }
            for client, record in self.clients.items()
        ]
        return sorted(rows, key=lambda row: (-row["failed_rounds"], row["client"]))
