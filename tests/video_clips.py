"""Small H.264 clip files of synthetic content, for the tests that read video files."""

from fedvideo.data.decode import write_video
from fedvideo.tasks.vsr.data.synthetic import make_synthetic_videos


def write_clip_file(path, frames=6, height=36, width=50, seed=0):
    """Encode a synthetic clip of odd size (not a multiple of 4) as H.264."""
    (video,) = make_synthetic_videos(seed, 1, frames, 48, 64, scale=4)
    hr = video.load(range(frames))[1][:, :height, :width]
    write_video(path, iter(hr), fps=25)
    return path
