"""Prepare datasets and client partitions for fedvideo experiments.

Usage::

    python dataset_preparation.py synthetic-vsr --out data/synthetic-reds
    python dataset_preparation.py vsr --data-root data/synthetic-reds \\
        --num-clients 4 --scheme iid --out partitions.json

Each subcommand is a pair of functions (``add_<name>_parser`` and
``run_<name>``); the work itself is done by :mod:`fedvideo.data`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from fedvideo.data.errors import DatasetError
from fedvideo.data.partition import (
    DEFAULT_SKEW,
    SCHEMES,
    partition_names,
    read_labels,
    write_partition_file,
)
from fedvideo.data.synthetic_vsr import write_synthetic_reds
from fedvideo.data.vsr_folders import REDS4_CLIPS, discover_vsr_dataset

# argparse has no public name for the object that add_subparsers() returns.
Subparsers = argparse._SubParsersAction


def add_vsr_parser(subparsers: Subparsers) -> None:
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
    parser.set_defaults(run=run_vsr)


def run_vsr(args: argparse.Namespace) -> None:
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


def add_synthetic_vsr_parser(subparsers: Subparsers) -> None:
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
    parser.set_defaults(run=run_synthetic_vsr)


def run_synthetic_vsr(args: argparse.Namespace) -> None:
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


#: One entry per subcommand; add ``ssl``/``pose`` here.
SUBCOMMANDS: tuple[Callable[[Subparsers], None], ...] = (
    add_vsr_parser,
    add_synthetic_vsr_parser,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dataset_preparation.py",
        description="Prepare datasets and client partitions for fedvideo.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for add_parser in SUBCOMMANDS:
        add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except DatasetError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
