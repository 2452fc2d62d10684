"""``fedvideo prepare ssl`` and ``synthetic-ssl``: decoded action datasets, partitions.

The work is done by the task's data modules; these are only the command lines.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from functools import partial
from pathlib import Path
from typing import Any

from fedvideo.data.decode import decode_video_to_frames, existing_frame_count
from fedvideo.data.errors import DatasetError, require_int
from fedvideo.data.folder_check import add_check_parser, print_report
from fedvideo.data.partition import (
    partition_names,
    write_partition_file,
)
from fedvideo.tasks.ssl.data.action_datasets import (
    RawActionLayout,
    RawVideo,
    parse_hmdb51,
    parse_kinetics400,
    parse_ucf101,
    video_frame_folder,
    write_prepared_annotations,
)
from fedvideo.tasks.ssl.data.folder_check import (
    check_hmdb51,
    check_kinetics400,
    check_ucf101,
)
from fedvideo.tasks.ssl.data.synthetic import write_synthetic_action_dataset

__all__ = ["add_parsers"]

SSL_DATASETS: tuple[str, ...] = ("ucf101", "hmdb51", "kinetics400")
SSL_SCHEMES: tuple[str, ...] = ("iid-shuffled", "kinetics-noniid")
#: Print a progress line every this many decoded videos.
PROGRESS_EVERY = 50


def _add_ssl_parser(subparsers: argparse._SubParsersAction) -> None:
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
    parser.set_defaults(run=_run_ssl)


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
        # Spawned, not forked: a worker forked from a parent that already runs
        # threads (PyTorch, PyAV, logging) can start holding one of their locks
        # and wait forever (seen once in CI, a 2-worker test hung 16 minutes).
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=args.workers, mp_context=spawn) as pool:
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


def _run_ssl(args: argparse.Namespace) -> None:
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


def _add_synthetic_ssl_parser(subparsers: argparse._SubParsersAction) -> None:
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
    parser.add_argument(
        "--camera-motion",
        action="store_true",
        help="move the backgrounds with the class's motion too",
    )
    parser.set_defaults(run=_run_synthetic_ssl)


def _run_synthetic_ssl(args: argparse.Namespace) -> None:
    write_synthetic_action_dataset(
        args.out,
        seed=args.seed,
        num_classes=args.classes,
        train_per_class=args.train_per_class,
        test_per_class=args.test_per_class,
        frames=args.frames,
        size=args.size,
        camera_motion=args.camera_motion,
    )
    print(
        f"wrote {args.classes * args.train_per_class} training and "
        f"{args.classes * args.test_per_class} test videos of {args.classes} "
        f"classes ({args.frames} frames, {args.size}x{args.size}) to {args.out}"
    )


def _add_check_parsers(subparsers: argparse._SubParsersAction) -> None:
    for name, dataset, check in (
        ("ucf101", "UCF-101", check_ucf101),
        ("hmdb51", "HMDB-51", check_hmdb51),
    ):
        parser = add_check_parser(subparsers, name, dataset, "classes and videos")
        parser.add_argument(
            "--split-dir", type=Path, help="the split lists, if not inside DIR"
        )
        parser.add_argument(
            "--split", type=int, default=1, choices=(1, 2, 3), help="official split"
        )
        parser.set_defaults(check_folder=check, run=_run_split_check)
    parser = add_check_parser(
        subparsers, "kinetics400", "Kinetics-400", "classes and videos"
    )
    parser.add_argument(
        "--annotations",
        type=Path,
        nargs="+",
        required=True,
        help="annotation CSV file(s): label,youtube_id,time_start,time_end,split",
    )
    parser.add_argument(
        "--max-missing",
        type=float,
        default=0.0,
        help="share of listed videos allowed to be missing (gone from YouTube), "
        "e.g. 0.05; unreadable files always count",
    )
    parser.set_defaults(run=_run_kinetics_check)


def _run_split_check(args: argparse.Namespace) -> int:
    return print_report(args.check_folder(args.check, args.split_dir, args.split))


def _run_kinetics_check(args: argparse.Namespace) -> int:
    check = check_kinetics400(args.check, args.annotations, args.max_missing)
    return print_report(check)


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``ssl``, ``synthetic-ssl`` and dataset-check subcommands.

    Each sets ``run``, the function that does the work, as its default;
    ``ucf101``, ``hmdb51`` and ``kinetics400`` check a downloaded folder
    (``--check DIR``).
    """
    _add_ssl_parser(subparsers)
    _add_synthetic_ssl_parser(subparsers)
    _add_check_parsers(subparsers)
