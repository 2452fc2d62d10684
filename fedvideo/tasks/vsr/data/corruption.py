"""Corrupted training pairs, for federations with clients whose updates are bad.

``vsr.bad-clients`` names the partitions whose training pairs are corrupted as
``vsr.bad-corruption`` says; their LR frames, every other client and the
held-out test clips stay clean. Such a client's loss is high *because* its
update is harmful, the case loss-aware aggregation is meant for
(docs/heterogeneity.md).

* ``"shift:N"``: every HR frame is shifted by ``N`` pixels down and right
  against its LR frame (wrapping around), so the client learns a misaligned
  mapping.
* ``"noise:S"``: every HR frame gets Gaussian noise of standard deviation ``S``
  (0-255 scale), the same noise each time the frame is loaded.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from fedvideo.config import ConfigError
from fedvideo.tasks.vsr.data.video import Video, VideoWrapper

__all__ = [
    "CORRUPTIONS",
    "CorruptedVideo",
    "Corruption",
    "parse_bad_clients",
    "parse_corruption",
]

#: The kinds of corruption and what their amount means.
CORRUPTIONS = {"shift": "pixels, an integer >= 1", "noise": "standard deviation > 0"}


@dataclass(frozen=True)
class Corruption:
    """How a bad client's HR frames are corrupted.

    Attributes
    ----------
    kind : str
        ``"shift"`` or ``"noise"``.
    amount : float
        Pixels of the shift, or the noise's standard deviation (0-255 scale).
    """

    kind: str
    amount: float

    def apply(self, hr: np.ndarray, video: str, indices: Sequence[int]) -> np.ndarray:
        """Corrupt uint8 HR frames ``(T, H, W, 3)`` of ``video`` at ``indices``.

        The noise of a frame depends only on the video's name and the frame's
        index, so a frame loaded twice is corrupted the same way.
        """
        if self.kind == "shift":
            step = int(self.amount)
            return np.roll(hr, (step, step), axis=(1, 2))
        name_seed = zlib.crc32(video.encode("utf-8"))
        noisy = np.empty_like(hr)
        for t, index in enumerate(indices):
            rng = np.random.default_rng([name_seed, int(index)])
            noise = rng.normal(0.0, self.amount, hr[t].shape)
            noisy[t] = np.clip(hr[t] + noise, 0, 255).round().astype(np.uint8)
        return noisy


def parse_corruption(text: str) -> Corruption:
    """Parse ``vsr.bad-corruption``: ``"shift:N"`` or ``"noise:S"``.

    Raises
    ------
    ConfigError
        Naming the setting, for an unknown kind or an invalid amount.
    """
    kind, _, amount = text.partition(":")
    kinds = ", ".join(f"'{k}:<{what}>'" for k, what in CORRUPTIONS.items())
    problem = f"run config 'vsr.bad-corruption': {text!r} is not one of {kinds}"
    if kind not in CORRUPTIONS:
        raise ConfigError(problem)
    try:
        value = float(amount)
    except ValueError:
        raise ConfigError(problem) from None
    if kind == "shift" and (value != int(value) or value < 1):
        raise ConfigError(problem)
    if not value > 0:
        raise ConfigError(problem)
    return Corruption(kind, value)


def parse_bad_clients(text: str) -> frozenset[int]:
    """Parse ``vsr.bad-clients``: comma-separated partition ids, "" for none.

    Raises
    ------
    ConfigError
        Naming the setting, for an entry that is not an integer >= 0.
    """
    ids = [part.strip() for part in text.split(",") if part.strip()]
    if not all(part.isdigit() for part in ids):
        raise ConfigError(
            f"run config 'vsr.bad-clients': {text!r} must list partition ids "
            "(integers >= 0) separated by commas"
        )
    return frozenset(int(part) for part in ids)


class CorruptedVideo(VideoWrapper):
    """A :class:`~fedvideo.tasks.vsr.data.video.Video` whose HR frames are corrupted.

    Parameters
    ----------
    video : Video
        The clean clip.
    corruption : Corruption
        What happens to its HR frames when they are loaded.
    """

    def __init__(self, video: Video, corruption: Corruption) -> None:
        super().__init__(video)
        self.corruption = corruption

    def load(self, indices: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Load the frames at ``indices``: clean LR, corrupted HR."""
        lr, hr = self.video.load(indices)
        return lr, self.corruption.apply(hr, self.name, indices)
