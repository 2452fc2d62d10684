"""Reading and writing video files with PyAV (FFmpeg).

:func:`read_video` decodes a video file into a uint8 array in memory and
:func:`write_video` encodes frames into one. :func:`decode_video_to_frames`
turns one video file into the prepared frame folder ``<video>/img_00001.jpg
...``. It decodes into ``<video>.partial`` and
renames that folder when done, so an interrupted preparation never leaves a
half-written frame folder behind; a folder that already holds frames is kept,
so preparation can be resumed.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

from fedvideo.data.errors import DatasetError, require_int
from fedvideo.data.frames import FRAME_SUFFIXES, frame_file_name
from fedvideo.utils import atomic_write

__all__ = [
    "VIDEO_SUFFIXES",
    "VideoFileInfo",
    "VideoFrames",
    "decode_video_to_frames",
    "existing_frame_count",
    "inspect_video_file",
    "read_video",
    "resize_short_side",
    "write_video",
]

#: File suffixes (lower case) recognised as video files.
VIDEO_SUFFIXES: tuple[str, ...] = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v")
#: Containers :func:`write_video` writes H.264 into, by file suffix.
_CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mkv": "matroska", ".mov": "mov"}


@dataclass(frozen=True)
class VideoFrames:
    """Decoded frames of a video file and its frame rate."""

    frames: np.ndarray  # uint8 (T, H, W, 3), RGB
    fps: float


def read_video(path: str | Path, max_frames: int | None = None) -> VideoFrames:
    """Decode the first video stream of a file into RGB frames.

    Parameters
    ----------
    path : str or Path
        The video file (any container and codec FFmpeg reads).
    max_frames : int or None
        Keep only the first frames; ``None`` decodes the whole video.

    Returns
    -------
    VideoFrames
        uint8 frames ``(T, H, W, 3)`` and the stream's average frame rate
        (25.0 when the container does not say).

    Raises
    ------
    DatasetError
        If the file is missing, cannot be decoded, or has no video frames; the
        message names the file.
    """
    path = Path(path)
    if max_frames is not None:
        max_frames = require_int(max_frames, "max-frames", 1)
    if not path.is_file():
        raise DatasetError(f"video file {path} does not exist")
    frames = []
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise DatasetError(f"video file {path} has no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            fps = float(stream.average_rate or 25.0)
            for frame in container.decode(stream):
                frames.append(frame.to_ndarray(format="rgb24"))
                if max_frames is not None and len(frames) >= max_frames:
                    break
    except (av.FFmpegError, OSError, ValueError, EOFError) as err:
        raise DatasetError(f"cannot decode video file {path}: {err}") from err
    if not frames:
        raise DatasetError(f"video file {path} has no decodable frames")
    return VideoFrames(np.stack(frames), fps)


@dataclass(frozen=True)
class VideoFileInfo:
    """What :func:`inspect_video_file` found in a video file."""

    frames: int  # packets (frames) of the first video stream
    height: int
    width: int


def inspect_video_file(path: str | Path) -> VideoFileInfo:
    """Check that a video file is whole, without decoding all of it.

    The first frame is decoded; every other packet of the first video stream is
    only read (demuxed), which costs little more than reading the file. A file
    fails when it cannot be opened, has no video stream or no decodable first
    frame, or holds fewer packets than its container declares: an AVI or MP4
    download cut short. Containers that declare no frame count (Matroska, WebM)
    are read to their end, so a cut there shows only as an error or a short
    video.

    Parameters
    ----------
    path : str or Path
        The video file.

    Returns
    -------
    VideoFileInfo
        Frames (packets) read, and the first frame's height and width.

    Raises
    ------
    DatasetError
        If the file is missing, unreadable or truncated; the message names it.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"video file {path} does not exist")
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise DatasetError(f"video file {path} has no video stream")
            stream = container.streams.video[0]
            declared, packets, first = stream.frames, 0, None
            for packet in container.demux(stream):
                if packet.dts is None and packet.size == 0:
                    continue  # the demuxer's end-of-stream marker
                packets += 1
                if first is None:
                    first = next(iter(packet.decode()), None)
            if first is None and packets:  # a decoder that holds frames back
                first = next(iter(stream.codec_context.decode(None)), None)
    except (av.FFmpegError, OSError, ValueError, EOFError) as err:
        raise DatasetError(f"cannot read video file {path}: {err}") from err
    if first is None:
        raise DatasetError(f"video file {path} has no decodable frame")
    if declared and packets < declared:
        raise DatasetError(
            f"video file {path} is truncated: {packets} of its {declared} frames"
        )
    return VideoFileInfo(packets, first.height, first.width)


def write_video(
    path: str | Path, frames: Iterable[np.ndarray], fps: float, crf: int = 18
) -> int:
    """Encode RGB frames into a video file (H.264, yuv420p) and return their count.

    The file is written under a temporary name and renamed when complete.
    Odd frame sizes are padded by one pixel (H.264 needs even sizes).

    Parameters
    ----------
    path : str or Path
        The video file to write (``.mp4``, ``.mkv``, ``.mov``, ``.m4v``); its
        folder is created.
    frames : Iterable[np.ndarray]
        uint8 frames ``(H, W, 3)`` of one size.
    fps : float
        Frame rate.
    crf : int
        x264 quality (0 lossless, 18 visually lossless, 23 default).

    Raises
    ------
    DatasetError
        If there are no frames or they cannot be encoded; the message names
        the file.
    """
    path = Path(path)
    container_format = _CONTAINERS.get(path.suffix.lower())
    if container_format is None:
        raise DatasetError(
            f"cannot write video file {path}: use one of "
            f"{', '.join(sorted(_CONTAINERS))}"
        )
    counted: list[int] = []

    def encode(tmp: str) -> None:
        with av.open(tmp, "w", format=container_format) as container:
            counted.append(_encode_frames(container, frames, fps, crf))
        if counted[0] == 0:
            raise DatasetError(f"no frames to write to {path}")

    try:
        atomic_write(path, encode)
    except DatasetError:
        raise
    except (av.FFmpegError, OSError, ValueError) as err:
        raise DatasetError(f"cannot write video file {path}: {err}") from err
    return counted[0]


def _encode_frames(
    container: av.container.OutputContainer,
    frames: Iterable[np.ndarray],
    fps: float,
    crf: int,
) -> int:
    """Encode frames into a new H.264 stream of ``container``; return their count."""
    stream = None
    count = 0
    for frame in frames:
        height, width = frame.shape[:2]
        if stream is None:
            rate = Fraction(fps).limit_denominator(1001)
            stream = container.add_stream("libx264", rate=rate)
            stream.width, stream.height = width + width % 2, height + height % 2
            stream.pix_fmt = "yuv420p"
            stream.options = {"crf": str(crf)}
        even = np.pad(frame, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")
        video_frame = av.VideoFrame.from_ndarray(even, format="rgb24")
        container.mux(stream.encode(video_frame))
        count += 1
    if stream is not None:
        container.mux(stream.encode())
    return count


def existing_frame_count(folder: str | Path) -> int:
    """Return the number of frame images in ``folder`` (0 if it does not exist)."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    return sum(
        1
        for path in folder.iterdir()
        if path.suffix.lower() in FRAME_SUFFIXES and path.is_file()
    )


def resize_short_side(image: Image.Image, short_side: int | None) -> Image.Image:
    """Resize ``image`` so that its shorter side is ``short_side`` pixels.

    The aspect ratio is kept (the longer side is rounded, at least 1 pixel);
    ``None`` or an image already of that size returns ``image`` itself. Pillow's
    antialiased bilinear filter is used.
    """
    width, height = image.size
    if short_side is None or min(width, height) == short_side:
        return image
    factor = short_side / min(width, height)
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    return image.resize(size, Image.Resampling.BILINEAR)


def _decode_into(
    video_path: Path,
    folder: Path,
    short_side: int | None,
    max_frames: int | None,
    quality: int,
) -> int:
    """Decode the first video stream of ``video_path`` into ``folder``."""
    count = 0
    with av.open(str(video_path)) as container:
        if not container.streams.video:
            raise DatasetError(f"video file {video_path} has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            image = resize_short_side(frame.to_image(), short_side)
            count += 1
            image.save(folder / frame_file_name(count), quality=quality)
            if max_frames is not None and count >= max_frames:
                break
    return count


def decode_video_to_frames(
    video_path: str | Path,
    out_dir: str | Path,
    *,
    short_side: int | None = 128,
    max_frames: int | None = None,
    quality: int = 90,
) -> int:
    """Decode a video file into ``out_dir/img_00001.jpg``, ``img_00002.jpg``, ...

    Frames are decoded into ``<out_dir>.partial`` (removed first if left over
    from an interrupted run), which is renamed to ``out_dir`` at the end. If
    ``out_dir`` already holds frame images, nothing is decoded.

    Parameters
    ----------
    video_path : str or Path
        The video file (any container and codec FFmpeg reads).
    out_dir : str or Path
        The frame folder to create; parent folders are created.
    short_side : int or None
        Resize every frame so that its shorter side has this many pixels,
        keeping the aspect ratio; ``None`` keeps the decoded size.
    max_frames : int or None
        Stop after this many frames; ``None`` decodes the whole video.
    quality : int
        JPEG quality, 1-95.

    Returns
    -------
    int
        The number of frames in ``out_dir``.

    Raises
    ------
    DatasetError
        If a setting is invalid, or the video is missing, cannot be decoded or
        has no video frames; the message names the video file and the partial
        folder is removed.
    """
    video_path, out_dir = Path(video_path), Path(out_dir)
    if short_side is not None:
        short_side = require_int(short_side, "short-side", 1)
    if max_frames is not None:
        max_frames = require_int(max_frames, "max-frames", 1)
    quality = require_int(quality, "JPEG quality", 1)
    if quality > 95:
        raise DatasetError(f"JPEG quality must be <= 95, got {quality}")
    if existing := existing_frame_count(out_dir):
        return existing
    if not video_path.is_file():
        raise DatasetError(f"video file {video_path} does not exist")
    partial = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        partial.mkdir(parents=True)
        count = _decode_into(video_path, partial, short_side, max_frames, quality)
        if count == 0:
            raise DatasetError(f"video file {video_path} has no decodable frames")
        if out_dir.is_dir():  # an empty folder left by hand; frames replace it
            out_dir.rmdir()
        partial.rename(out_dir)
    except DatasetError:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    except (av.FFmpegError, OSError, ValueError, EOFError) as err:
        shutil.rmtree(partial, ignore_errors=True)
        raise DatasetError(f"cannot decode video file {video_path}: {err}") from err
    return count
