"""Prepare datasets and client partitions for fedvideo experiments.

Usage::

    python dataset_preparation.py synthetic-vsr --out data/synthetic-reds
    python dataset_preparation.py vsr --data-root data/synthetic-reds \\
        --num-clients 4 --scheme iid --out partitions.json
    python dataset_preparation.py synthetic-ssl --out data/synthetic-action
    python dataset_preparation.py ssl --dataset ucf101 --raw-root data/raw/ucf101 \\
        --out data/ucf101 --num-clients 5 --scheme iid-shuffled
    python dataset_preparation.py synthetic-pose --out data/synthetic-pose
    python dataset_preparation.py pose --mpii data/mpii --samples-per-client 4000 \\
        --out conf/mpii-raf3.json

Each subcommand is a pair of functions (``add_<name>_parser`` and
``run_<name>``); the work itself is done by :mod:`fedvideo.data`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from functools import partial
from pathlib import Path
from typing import Any

from fedvideo.data.action_datasets import (
    RawActionLayout,
    RawVideo,
    parse_hmdb51,
    parse_kinetics400,
    parse_ucf101,
    video_frame_folder,
    write_prepared_annotations,
)
from fedvideo.data.decode import decode_video_to_frames, existing_frame_count
from fedvideo.data.errors import DatasetError, require_empty_folder, require_int
from fedvideo.data.mpii import load_mpii, write_mpii_split
from fedvideo.data.partition import (
    DEFAULT_SKEW,
    SCHEMES,
    partition_names,
    read_labels,
    write_partition_file,
)
from fedvideo.data.pose_partition import (
    assign_pose_partitions,
    format_resolution,
    parse_resolution,
    write_pose_partition_file,
)
from fedvideo.data.synthetic_action import write_synthetic_action_dataset
from fedvideo.data.synthetic_pose import synthetic_pose_records
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


SSL_DATASETS: tuple[str, ...] = ("ucf101", "hmdb51", "kinetics400")
SSL_SCHEMES: tuple[str, ...] = ("iid-shuffled", "kinetics-noniid")
#: Print a progress line every this many decoded videos.
PROGRESS_EVERY = 50


def add_ssl_parser(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "ssl",
        help="decode UCF-101, HMDB-51 or Kinetics-400 videos into frame folders",
        description=(
            "Parse a raw action dataset, decode every video once into "
            "OUT/frames/<class>/<video>/img_00001.jpg ..., write "
            "OUT/annotations/{train,test,classes}.json and OUT/prepare_summary.json "
            "and, with --num-clients, a partition file "
            "OUT/partitions/<scheme>_<N>.json over the training videos. "
            "Undecodable videos are reported and skipped; re-running resumes."
        ),
    )
    parser.add_argument("--dataset", required=True, choices=SSL_DATASETS)
    parser.add_argument(
        "--raw-root",
        required=True,
        type=Path,
        help="ucf101: folder with UCF-101/; hmdb51: folder with <class>/*.avi; "
        "kinetics400: folder searched recursively for the videos",
    )
    parser.add_argument(
        "--split-dir",
        type=Path,
        help="ucf101: the ucfTrainTestlist folder (default RAW_ROOT/ucfTrainTestlist);"
        " hmdb51: the folder of <class>_test_split<k>.txt files (default "
        "RAW_ROOT/testTrainMulti_7030_splits)",
    )
    parser.add_argument(
        "--annotations",
        type=Path,
        nargs="+",
        help="kinetics400: annotation CSV file(s) with the columns "
        "label,youtube_id,time_start,time_end,split",
    )
    parser.add_argument(
        "--split", type=int, default=1, choices=(1, 2, 3), help="official split"
    )
    parser.add_argument("--out", required=True, type=Path, help="prepared dataset")
    parser.add_argument(
        "--short-side",
        type=int,
        default=128,
        help="resize frames to this shorter side (0 keeps the decoded size)",
    )
    parser.add_argument("--max-frames", type=int, help="decode at most this many")
    parser.add_argument("--workers", type=int, default=1, help="decoding processes")
    parser.add_argument("--num-clients", type=int, help="also write a partition")
    parser.add_argument("--scheme", choices=SSL_SCHEMES, default="iid-shuffled")
    parser.add_argument(
        "--classes-per-client",
        type=int,
        default=8,
        help="kinetics-noniid: half-classes per client",
    )
    parser.add_argument("--seed", type=int, default=0, help="partition seed")
    parser.set_defaults(run=run_ssl)


def _parse_raw_layout(args: argparse.Namespace) -> RawActionLayout:
    if args.dataset == "ucf101":
        return parse_ucf101(args.raw_root, args.split_dir, args.split)
    if args.dataset == "hmdb51":
        return parse_hmdb51(args.raw_root, args.split_dir, args.split)
    if not args.annotations:
        raise DatasetError("--dataset kinetics400 needs --annotations CSV [CSV ...]")
    return parse_kinetics400(args.raw_root, args.annotations)


def _decode_all(
    videos: Sequence[RawVideo], args: argparse.Namespace
) -> tuple[int, int, list[dict[str, str]]]:
    """Decode the videos without frames; return (decoded, present, skipped)."""
    pending = [
        (video, video_frame_folder(args.out, video.name))
        for video in videos
        if not existing_frame_count(video_frame_folder(args.out, video.name))
    ]
    present = len(videos) - len(pending)
    print(
        f"{len(videos)} videos: {present} already decoded, {len(pending)} to decode",
        flush=True,
    )
    decode = partial(
        decode_video_to_frames,
        short_side=args.short_side or None,
        max_frames=args.max_frames,
    )
    skipped: list[dict[str, str]] = []
    done = 0

    def finish(video: RawVideo, error: DatasetError | None) -> None:
        nonlocal done
        done += 1
        if error is not None:
            print(f"warning: skipping {video.name}: {error}", file=sys.stderr)
            skipped.append({"video": video.name, "reason": str(error)})
        if done % PROGRESS_EVERY == 0 or done == len(pending):
            print(
                f"decoded {done}/{len(pending)} videos ({len(skipped)} skipped)",
                flush=True,
            )

    if args.workers <= 1 or len(pending) <= 1:
        for video, folder in pending:
            try:
                decode(video.video_path, folder)
                finish(video, None)
            except DatasetError as err:
                finish(video, err)
    else:
        with ProcessPoolExecutor(max_workers=args.workers) as pool:
            futures = {
                pool.submit(decode, video.video_path, folder): video
                for video, folder in pending
            }
            for future in as_completed(futures):
                error = future.exception()
                if error is not None and not isinstance(error, DatasetError):
                    raise error
                finish(futures[future], error)
    order = {video.name: k for k, video in enumerate(videos)}
    skipped.sort(key=lambda entry: order[entry["video"]])
    return len(pending) - len(skipped), present, skipped


def run_ssl(args: argparse.Namespace) -> None:
    require_int(args.short_side, "--short-side", 0)
    require_int(args.workers, "--workers", 1)
    if args.max_frames is not None:
        require_int(args.max_frames, "--max-frames", 1)
    layout = _parse_raw_layout(args)
    if not layout.videos:
        raise DatasetError(
            f"no {args.dataset} video files found under {args.raw_root} "
            f"({len(layout.missing)} listed videos are missing) (--raw-root)"
        )
    decoded, present, skipped = _decode_all(layout.videos, args)
    failed = {entry["video"] for entry in skipped}
    entries = {
        split: [
            {"name": video.name, "label": video.label}
            for video in layout.videos
            if video.split == split and video.name not in failed
        ]
        for split in ("train", "test")
    }
    write_prepared_annotations(
        args.out, layout.classes, entries["train"], entries["test"]
    )
    summary: dict[str, Any] = {
        "dataset": layout.dataset,
        "raw_root": str(args.raw_root),
        "split": args.split if layout.dataset != "kinetics400" else None,
        "classes": len(layout.classes),
        "total": len(layout.videos),
        "decoded": decoded,
        "already_present": present,
        "skipped": skipped,
        "missing": len(layout.missing),
        "missing_videos": layout.missing,
        "train": len(entries["train"]),
        "test": len(entries["test"]),
    }
    summary_path = args.out / "prepare_summary.json"
    summary_path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(
        f"{layout.dataset}: {len(layout.videos)} videos ({decoded} decoded, "
        f"{present} already present, {len(skipped)} skipped), "
        f"{len(layout.missing)} listed videos missing; {len(entries['train'])} "
        f"train / {len(entries['test'])} test videos of {len(layout.classes)} "
        f"classes in {args.out} (summary: {summary_path})"
    )
    if not entries["train"]:
        raise DatasetError(
            f"no training video of {args.raw_root} could be decoded; see {summary_path}"
        )
    if args.num_clients is not None:
        _write_ssl_partition(args, layout, entries["train"])


def _write_ssl_partition(
    args: argparse.Namespace,
    layout: RawActionLayout,
    train: list[dict[str, Any]],
) -> None:
    names = [entry["name"] for entry in train]
    labels = {entry["name"]: entry["label"] for entry in train}
    partitions = partition_names(
        names,
        args.scheme,
        args.num_clients,
        labels=labels,
        seed=args.seed,
        classes_per_client=args.classes_per_client,
    )
    meta: dict[str, Any] = {
        "task": "ssl",
        "dataset": layout.dataset,
        "data_root": str(args.out),
        "scheme": args.scheme,
        "num_partitions": len(partitions),
        "num_videos": len(names),
        "seed": args.seed,
    }
    if args.scheme == "kinetics-noniid":
        meta["classes_per_client"] = args.classes_per_client
    path = args.out / "partitions" / f"{args.scheme}_{args.num_clients}.json"
    write_partition_file(path, partitions, meta)
    sizes = [len(part) for part in partitions]
    print(
        f"partition ({args.scheme}) of {len(names)} training videos into "
        f"{len(partitions)} clients written to {path}; videos per client: "
        f"min {min(sizes)}, max {max(sizes)}"
    )


def add_synthetic_ssl_parser(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "synthetic-ssl",
        help="write a synthetic action dataset in the prepared ssl layout",
        description=(
            "Write synthetic action videos whose classes differ only in motion "
            "(class c moves with motion pattern c) as JPEG frame folders, with "
            "annotations/{train,test,classes}.json."
        ),
    )
    parser.add_argument("--out", required=True, type=Path, help="new output folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--classes", type=int, default=10, help="number of classes")
    parser.add_argument("--train-per-class", type=int, default=20)
    parser.add_argument("--test-per-class", type=int, default=5)
    parser.add_argument("--frames", type=int, default=32, help="frames per video")
    parser.add_argument("--size", type=int, default=80, help="frame height and width")
    parser.set_defaults(run=run_synthetic_ssl)


def run_synthetic_ssl(args: argparse.Namespace) -> None:
    write_synthetic_action_dataset(
        args.out,
        seed=args.seed,
        num_classes=args.classes,
        train_per_class=args.train_per_class,
        test_per_class=args.test_per_class,
        frames=args.frames,
        size=args.size,
    )
    print(
        f"wrote {args.classes * args.train_per_class} training and "
        f"{args.classes * args.test_per_class} test videos of {args.classes} "
        f"classes ({args.frames} frames, {args.size}x{args.size}) to {args.out}"
    )


def _resolution_list(text: str) -> list[tuple[int, int]]:
    try:
        return [parse_resolution(part) for part in text.split(",") if part.strip()]
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def add_pose_parser(subparsers: Subparsers) -> None:
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
    parser.set_defaults(run=run_pose)


def run_pose(args: argparse.Namespace) -> None:
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


def add_synthetic_pose_parser(subparsers: Subparsers) -> None:
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
    parser.set_defaults(run=run_synthetic_pose)


def run_synthetic_pose(args: argparse.Namespace) -> None:
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


#: One entry per subcommand.
SUBCOMMANDS: tuple[Callable[[Subparsers], None], ...] = (
    add_vsr_parser,
    add_synthetic_vsr_parser,
    add_ssl_parser,
    add_synthetic_ssl_parser,
    add_pose_parser,
    add_synthetic_pose_parser,
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
