"""The ``fedvideo`` command: the tools users run besides ``flwr run``.

::

    fedvideo prepare {vsr,synthetic-vsr,ssl,synthetic-ssl,pose,synthetic-pose} ...
    fedvideo prepare {reds,vid4,ucf101,hmdb51,kinetics400,mpii} --check DIR
    fedvideo compare RUN ... [--plot FILE]        held-out metrics of runs
    fedvideo robustness RUN ... [--plot FILE]     final quality vs lost uploads
    fedvideo seeds RUN ... [--plot FILE]          mean ± std over seeds, per group
    fedvideo compare-pose RUN ... [--plot FILE]   PCKh across test resolutions
    fedvideo upscale in.mp4 out.mp4 --model model.pt [--evaluate]
    fedvideo downstream [--backbone model.pt]     retrieval / fine-tuning of R3D-18
    fedvideo convert-fedvssl round-540.npz out.safetensors   FedVSSL's backbones
    fedvideo bench {aggregate,vsr-step,models,multigrid,ssl-step,ctp-probe} ...

A tool is a module with ``add_arguments(parser)`` and ``run(args) -> int``,
registered in ``TOOLS`` by import path: only the tool that runs is imported.
``prepare`` gathers the subcommands of every task package that has a
``prepare`` module (``add_parsers(subparsers)``).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Sequence

from fedvideo.config import ConfigError
from fedvideo.data.errors import DatasetError
from fedvideo.tasks import TASKS
from fedvideo.utils import CommandError

__all__ = ["TOOLS", "main"]

#: Command -> (module with ``add_arguments`` and ``run``, one-line description).
TOOLS: dict[str, tuple[str, str]] = {
    "compare": (
        "fedvideo.reports.compare",
        "compare finished runs: Markdown table and per-round plot",
    ),
    "robustness": (
        "fedvideo.reports.robustness",
        "final quality per strategy against the share of lost uploads",
    ),
    "seeds": (
        "fedvideo.reports.seeds",
        "runs grouped over seeds: mean ± std of the final metrics, table and plot",
    ),
    "weights": (
        "fedvideo.reports.weights",
        "aggregation weight of flagged (e.g. bad) clients per round, over seeds",
    ),
    "compare-pose": (
        "fedvideo.tasks.pose.compare",
        "compare pose runs across test resolutions (PCKh table and plot)",
    ),
    "upscale": (
        "fedvideo.tasks.vsr.upscale",
        "super-resolve a video file with a trained VSR model (--evaluate: score it)",
    ),
    "downstream": (
        "fedvideo.tasks.ssl.downstream",
        "retrieval and fine-tuning evaluation of an R3D-18 backbone",
    ),
    "convert-fedvssl": (
        "fedvideo.tasks.ssl.fedvssl_npz",
        "FedVSSL's published round-<r>.npz backbone to torchvision r3d_18 keys",
    ),
    "bench": ("fedvideo.bench", "benchmarks, printed as JSON lines"),
}

PREPARE_HELP = "prepare datasets and client partitions"


def _prepare_modules() -> list[str]:
    """List the ``prepare`` modules of the registered task packages, in order."""
    packages = [path.partition(":")[0].rpartition(".")[0] for path in TASKS.values()]
    return [
        f"{package}.prepare"
        for package in packages
        if importlib.util.find_spec(f"{package}.prepare") is not None
    ]


def _add_prepare_arguments(parser: argparse.ArgumentParser) -> None:
    datasets = parser.add_subparsers(dest="dataset", required=True)
    for module_name in _prepare_modules():
        importlib.import_module(module_name).add_parsers(datasets)


def _build_parser(command: str | None) -> argparse.ArgumentParser:
    """Build the ``fedvideo`` parser, with the arguments of ``command`` only."""
    parser = argparse.ArgumentParser(
        prog="fedvideo",
        description="Tools of fedvideo (federated learning on video with Flower).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    prepare = commands.add_parser(
        "prepare", help=PREPARE_HELP, description=PREPARE_HELP
    )
    if command == "prepare":
        _add_prepare_arguments(prepare)
    for name, (module_name, description) in TOOLS.items():
        tool = commands.add_parser(name, help=description, description=description)
        if command == name:
            importlib.import_module(module_name).add_arguments(tool)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``fedvideo`` command and return its exit status.

    A data, config or usage problem is printed as ``fedvideo <command>: error:
    <message>`` (the message names the file or setting) with status 2.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv else None
    args = _build_parser(command).parse_args(argv)
    try:
        if args.command == "prepare":
            return args.run(args) or 0  # the checks return their exit status
        return importlib.import_module(TOOLS[args.command][0]).run(args)
    except (CommandError, ConfigError, DatasetError, FileNotFoundError) as err:
        print(f"fedvideo {args.command}: error: {err}", file=sys.stderr)
        return 2
