"""``fedvideo prepare pose`` and ``synthetic-pose``: MPII partitions, synthetic people.

The work is done by the task's data modules; these are only the command lines.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fedvideo.data.errors import require_empty_folder, require_int
from fedvideo.data.folder_check import add_check_parser, print_report
from fedvideo.tasks.pose.data.folder_check import check_mpii
from fedvideo.tasks.pose.data.mpii import load_mpii, write_mpii_split
from fedvideo.tasks.pose.data.partition import (
    assign_pose_partitions,
    format_resolution,
    parse_resolution,
    write_pose_partition_file,
)
from fedvideo.tasks.pose.data.synthetic import synthetic_pose_records

__all__ = ["add_parsers"]


def _resolution_list(text: str) -> list[tuple[int, int]]:
    try:
        return [parse_resolution(part) for part in text.split(",") if part.strip()]
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _add_pose_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "pose",
        help="assign pose clients a native resolution and their training samples",
        description=(
            "Check an MPII-layout folder (images/, annotations/train.json and "
            "valid.json) and write a partition file: client i gets resolution i of "
            "--client-resolutions and a disjoint random share of the training "
            "entries. Use it with pose.partitioning."
        ),
    )
    parser.add_argument("--mpii", required=True, type=Path, help="MPII-layout root")
    parser.add_argument(
        "--client-resolutions",
        type=_resolution_list,
        default="256x192,192x144,128x96",
        help="native resolution H x W per client (default: RAF's high, mid, low)",
    )
    parser.add_argument(
        "--samples-per-client",
        type=int,
        default=0,
        help="training entries per client (RAF: 4000); 0 = split all equally",
    )
    parser.add_argument("--seed", type=int, default=0, help="shuffle seed")
    parser.add_argument("--out", required=True, type=Path, help="partition JSON file")
    parser.set_defaults(run=_run_pose)


def _run_pose(args: argparse.Namespace) -> None:
    train = load_mpii(args.mpii, "train")
    test = load_mpii(args.mpii, "valid")
    samples = require_int(args.samples_per_client, "--samples-per-client", 0)
    partitions = assign_pose_partitions(
        len(train), args.client_resolutions, samples, args.seed
    )
    write_pose_partition_file(args.out, partitions, str(args.mpii))
    for i, part in enumerate(partitions):
        print(
            f"client {i}: {format_resolution(part.resolution)}, "
            f"{len(part.samples)} samples"
        )
    print(
        f"{len(train)} training and {len(test)} validation entries in {args.mpii}; "
        f"partition written to {args.out}"
    )


def _add_synthetic_pose_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "synthetic-pose",
        help="write the synthetic pose dataset in the MPII layout",
        description=(
            "Render articulated figures with known MPII joints and head boxes "
            "(the dataset behind pose.dataset = 'synthetic') and write them as "
            "images/ + annotations/{train,valid}.json."
        ),
    )
    parser.add_argument("--out", required=True, type=Path, help="new output folder")
    parser.add_argument("--seed", type=int, default=123)
    parser.add_argument("--train-images", type=int, default=144)
    parser.add_argument("--test-images", type=int, default=48)
    parser.add_argument("--image-size", type=int, default=256, help="square side")
    parser.set_defaults(run=_run_synthetic_pose)


def _run_synthetic_pose(args: argparse.Namespace) -> None:
    out = require_empty_folder(args.out, "the synthetic pose dataset")
    train_images = require_int(args.train_images, "--train-images", 1)
    test_images = require_int(args.test_images, "--test-images", 1)
    size = require_int(args.image_size, "--image-size", 64)
    records = synthetic_pose_records(args.seed, train_images + test_images, size)
    write_mpii_split(records[:train_images], out, "train")
    write_mpii_split(records[train_images:], out, "valid")
    print(
        f"wrote {train_images} training and {test_images} validation figures "
        f"({size}x{size}) to {out}"
    )


def _run_mpii_check(args: argparse.Namespace) -> int:
    return print_report(check_mpii(args.check))


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``pose``, ``synthetic-pose`` and ``mpii`` subcommands.

    Each sets ``run``, the function that does the work, as its default;
    ``mpii`` checks a downloaded folder (``--check DIR``).
    """
    _add_pose_parser(subparsers)
    _add_synthetic_pose_parser(subparsers)
    parser = add_check_parser(subparsers, "mpii", "MPII", "people and images")
    parser.set_defaults(run=_run_mpii_check)
