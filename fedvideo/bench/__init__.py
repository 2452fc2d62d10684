"""Benchmarks: ``python -m fedvideo.bench <name>``, or ``fedvideo bench <name>``.

Each benchmark lives in its task's package and prints JSON lines with its
figures; performance targets are checked against these, never in unit tests.
``BENCHMARKS`` maps a name to its module by import path. A benchmark module has
``add_arguments(parser)`` and ``run(args)``, which yields the JSON lines.
"""

from __future__ import annotations

import argparse
import importlib
import json

__all__ = ["BENCHMARKS", "add_arguments", "run"]

#: Benchmark name -> (module, one-line description).
BENCHMARKS: dict[str, tuple[str, str]] = {
    "aggregate": (
        "fedvideo.bench.aggregate",
        "server aggregation: fedvideo's fedavg and fedvsr vs Flower's FedAvg",
    ),
    "vsr-step": (
        "fedvideo.tasks.vsr.bench.step",
        "VSR train step: Charbonnier alone vs Charbonnier + HiFr",
    ),
    "models": (
        "fedvideo.tasks.vsr.bench.models",
        "VSR models: parameters, GFLOPs per frame, train-step time",
    ),
    "multigrid": (
        "fedvideo.tasks.vsr.bench.multigrid",
        "VSR multigrid + large batch vs the fixed-size baseline, one process",
    ),
    "contention": (
        "fedvideo.tasks.vsr.bench.contention",
        "VSR train step idle and beside a busy process, per OpenMP wait policy",
    ),
    "ssl-step": (
        "fedvideo.tasks.ssl.bench.step",
        "CtP clip preparation and R3D-18 train step",
    ),
    "ctp-probe": (
        "fedvideo.tasks.ssl.bench.ctp_probe",
        "centralised CtP pretraining on synthetic videos: loss vs no motion, retrieval",
    ),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare one subcommand per benchmark, with that benchmark's arguments."""
    benchmarks = parser.add_subparsers(dest="benchmark", required=True)
    for name, (module_name, description) in BENCHMARKS.items():
        module = importlib.import_module(module_name)
        module.add_arguments(
            benchmarks.add_parser(name, help=description, description=description)
        )


def run(args: argparse.Namespace) -> int:
    """Run the chosen benchmark and print its JSON lines."""
    module = importlib.import_module(BENCHMARKS[args.benchmark][0])
    for line in module.run(args):
        print(json.dumps(line), flush=True)
    return 0
