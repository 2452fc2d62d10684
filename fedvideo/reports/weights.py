"""Aggregation weight of flagged clients per round, mean over seeds per group.

A client can flag itself in its reported metrics, e.g. ``bad_client = 1`` for
a client of ``vsr.bad-clients`` that trains on corrupted pairs. This report
reads finished runs, groups them over seeds as ``fedvideo seeds`` does, and
gives, per group and round, the summed aggregation weight the strategy gave
the flagged clients (mean ± std over the group's runs), next to their share of
the training examples, the weight FedAvg would give them.

Usage::

    fedvideo weights outputs/badclient/*/ --flag bad_client \
        --plot docs/results/badclient_weight.png \
        --json docs/results/badclient_weight.json
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fedvideo.reports.compare import load_results
from fedvideo.reports.seeds import group_runs
from fedvideo.reports.tables import line_plot, markdown_table
from fedvideo.utils import CommandError, atomic_write

__all__ = ["add_arguments", "flagged_weights", "run", "weight_rows", "weights_table"]


def flagged_weights(results: Mapping[str, Any], flag: str) -> dict[int, dict]:
    """Per trained round: the flagged clients' summed weight and example share.

    Parameters
    ----------
    results : Mapping
        A parsed ``results.json``.
    flag : str
        Client metric that is 1 for the flagged clients (e.g. ``bad_client``).

    Returns
    -------
    dict[int, dict]
        Round -> ``{"weight": float, "examples": float, "flagged": int}``: the
        sum of the flagged clients' aggregation weights, their share of the
        round's training examples and how many of them replied. Rounds
        without replies are left out.
    """
    rounds = {}
    for entry in results["rounds"]:
        clients = entry.get("clients", [])
        total = sum(c["num_examples"] for c in clients)
        if not clients or not total:
            continue
        flagged = [c for c in clients if c.get("metrics", {}).get(flag) == 1]
        rounds[entry["round"]] = {
            "weight": sum(c["weight"] for c in flagged),
            "examples": sum(c["num_examples"] for c in flagged) / total,
            "flagged": len(flagged),
        }
    return rounds


def weight_rows(
    groups: Mapping[str, Sequence[Mapping[str, Any]]], flag: str
) -> list[dict[str, Any]]:
    """Per group: the flagged clients' weight per round over its runs.

    Returns
    -------
    list of dict
        ``group``, ``runs``, ``rounds`` (round -> mean and std of the weight
        and mean example share over the runs that trained in that round) and
        ``mean_weight`` / ``mean_examples`` over all rounds and runs.

    Raises
    ------
    CommandError
        If no client of a group ever reported ``flag`` = 1.
    """
    rows = []
    for label, runs in groups.items():
        per_run = [flagged_weights(r, flag) for r in runs]
        if not any(v["flagged"] for rounds in per_run for v in rounds.values()):
            raise CommandError(f"{label}: no client reported {flag} = 1")
        by_round: dict[int, list[dict]] = {}
        for rounds in per_run:
            for number, values in rounds.items():
                by_round.setdefault(number, []).append(values)
        summary = {
            number: {
                "weight": statistics.fmean(v["weight"] for v in values),
                "weight_std": statistics.stdev(v["weight"] for v in values)
                if len(values) > 1
                else 0.0,
                "examples": statistics.fmean(v["examples"] for v in values),
            }
            for number, values in sorted(by_round.items())
        }
        every = [v for rounds in per_run for v in rounds.values()]
        rows.append(
            {
                "group": label,
                "runs": len(runs),
                "rounds": summary,
                "mean_weight": statistics.fmean(v["weight"] for v in every),
                "mean_examples": statistics.fmean(v["examples"] for v in every),
            }
        )
    return rows


def weights_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """Markdown: one line per round, one column per group (mean ± std)."""
    numbers = sorted({n for row in rows for n in row["rounds"]})
    header = ["round", *(row["group"] for row in rows)]
    cells = []
    for number in numbers:
        line = [str(number)]
        for row in rows:
            values = row["rounds"].get(number)
            if values is None:
                line.append("–")
            else:
                line.append(f"{values['weight']:.3f} ± {values['weight_std']:.3f}")
        cells.append(line)
    cells.append(["mean", *(f"{row['mean_weight']:.3f}" for row in rows)])
    cells.append(["example share", *(f"{row['mean_examples']:.3f}" for row in rows)])
    return markdown_table(header, cells)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command-line arguments of ``fedvideo weights``."""
    parser.add_argument("runs", nargs="+", help="run folders (or results.json files)")
    parser.add_argument(
        "--flag",
        default="bad_client",
        help="client metric that is 1 for the clients to follow (default: bad_client)",
    )
    parser.add_argument(
        "--plot", type=Path, help="weight per round, one line per group"
    )
    parser.add_argument("--json", type=Path, help="write the rows here")


def run(args: argparse.Namespace) -> int:
    """Print the per-round weight table; optionally write the JSON rows and a plot."""
    runs = [load_results(r) for r in args.runs]
    rows = weight_rows(group_runs(runs), args.flag)
    print(weights_table(rows))
    if args.json:
        text = json.dumps(rows, indent=2) + "\n"
        atomic_write(args.json, lambda tmp: Path(tmp).write_text(text))
    if args.plot:
        series = {
            row["group"]: (
                list(row["rounds"]),
                [v["weight"] for v in row["rounds"].values()],
            )
            for row in rows
        }
        share = statistics.fmean(row["mean_examples"] for row in rows)
        line_plot(
            series,
            args.plot,
            xlabel="round",
            ylabel=f"aggregation weight of the {args.flag} clients",
            hlines={"their share of the examples": share},
        )
        print(f"plot written to {args.plot}")
    return 0
