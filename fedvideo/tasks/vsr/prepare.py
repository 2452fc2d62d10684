"""``fedvideo prepare vsr`` and ``synthetic-vsr``: REDS partitions, synthetic REDS.

The work is done by the task's data modules; these are only the command lines.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fedvideo.data.errors import DatasetError
from fedvideo.data.folder_check import add_check_parser, print_report
from fedvideo.data.partition import (
    DEFAULT_SKEW,
    SCHEMES,
    partition_names,
    read_labels,
    write_partition_file,
)
from fedvideo.tasks.vsr.data.folder_check import check_reds, check_vid4
from fedvideo.tasks.vsr.data.folders import REDS4_CLIPS, discover_vsr_dataset
from fedvideo.tasks.vsr.data.synthetic import write_synthetic_reds

__all__ = ["add_parsers"]


def _add_vsr_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "vsr",
        help="partition the training clips of a REDS folder among clients",
        description=(
            "Discover a REDS dataset (the REDS4 test clips 000, 011, 015 and 020 "
            "are excluded), split its training clips among clients and write a "
            "partition JSON file for the run config setting vsr.partitioning."
        ),
    )
    parser.add_argument("--data-root", required=True, type=Path, help="REDS folder")
    parser.add_argument("--num-clients", required=True, type=int, help="partitions")
    parser.add_argument("--scheme", required=True, choices=SCHEMES)
    parser.add_argument(
        "--labels",
        type=Path,
        help="CSV (clip,label) or JSON {clip: label} file; required for by-class",
    )
    parser.add_argument(
        "--alpha",
        type=float,
        default=DEFAULT_SKEW,
        help="quantity-skew: client i gets a share proportional to exp(alpha*i)",
    )
    parser.add_argument("--scale", type=int, default=4, help="upscaling factor")
    parser.add_argument("--out", required=True, type=Path, help="partition JSON file")
    parser.set_defaults(run=_run_vsr)


def _run_vsr(args: argparse.Namespace) -> None:
    dataset = discover_vsr_dataset(args.data_root, scale=args.scale)
    names = [video.name for video in dataset.train]
    if not names:
        raise DatasetError(
            f"dataset folder {args.data_root} ({dataset.name}) has no training clips "
            "to partition (--data-root)"
        )
    if args.scheme == "by-class" and args.labels is None:
        raise DatasetError("--scheme by-class needs --labels FILE")
    labels = read_labels(args.labels) if args.labels is not None else None
    partitions = partition_names(
        names, args.scheme, args.num_clients, alpha=args.alpha, labels=labels
    )
    meta = {
        "task": "vsr",
        "dataset": dataset.name,
        "data_root": str(args.data_root),
        "scheme": args.scheme,
        "num_partitions": len(partitions),
        "num_clips": len(names),
        "excluded_test_clips": list(REDS4_CLIPS),
    }
    if args.scheme == "quantity-skew":
        meta["alpha"] = args.alpha
    if args.labels is not None:
        meta["labels"] = str(args.labels)
    write_partition_file(args.out, partitions, meta)
    sizes = [len(part) for part in partitions]
    print(
        f"{dataset.name}: {len(names)} training clips -> {len(partitions)} clients "
        f"({args.scheme}), written to {args.out}"
    )
    print(f"clips per client: {sizes} (min {min(sizes)}, max {max(sizes)})")


def _add_synthetic_vsr_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "synthetic-vsr",
        help="write a synthetic VSR dataset in the REDS layout",
        description=(
            "Write synthetic training clips plus the four REDS4-named test clips "
            "(000, 011, 015, 020) as PNG frames in the REDS folder layout."
        ),
    )
    parser.add_argument("--out", required=True, type=Path, help="new output folder")
    parser.add_argument("--seed", type=int, default=123)
    parser.add_argument("--videos", type=int, default=8, help="training clips")
    parser.add_argument("--frames", type=int, default=10, help="frames per clip")
    parser.add_argument("--height", type=int, default=96, help="HR frame height")
    parser.add_argument("--width", type=int, default=96, help="HR frame width")
    parser.add_argument("--scale", type=int, default=4, help="upscaling factor")
    parser.set_defaults(run=_run_synthetic_vsr)


def _run_synthetic_vsr(args: argparse.Namespace) -> None:
    names = write_synthetic_reds(
        args.out,
        seed=args.seed,
        num_videos=args.videos,
        num_frames=args.frames,
        height=args.height,
        width=args.width,
        scale=args.scale,
    )
    print(
        f"wrote {len(names['train'])} training and {len(names['test'])} test clips "
        f"({args.frames} frames, HR {args.height}x{args.width}, x{args.scale}) "
        f"to {args.out}"
    )


def _add_check_parsers(subparsers: argparse._SubParsersAction) -> None:
    for name, dataset, check in (
        ("reds", "REDS", check_reds),
        ("vid4", "Vid4", check_vid4),
    ):
        parser = add_check_parser(subparsers, name, dataset, "clips and frames")
        parser.add_argument("--scale", type=int, default=4, help="upscaling factor")
        parser.set_defaults(check_folder=check, run=_run_check)


def _run_check(args: argparse.Namespace) -> int:
    return print_report(args.check_folder(args.check, args.scale))


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``vsr``, ``synthetic-vsr``, ``reds`` and ``vid4`` subcommands.

    Each sets ``run``, the function that does the work, as its default;
    ``reds`` and ``vid4`` check a downloaded folder (``--check DIR``).
    """
    _add_vsr_parser(subparsers)
    _add_synthetic_vsr_parser(subparsers)
    _add_check_parsers(subparsers)
