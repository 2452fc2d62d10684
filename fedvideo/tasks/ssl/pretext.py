"""The pretext tasks FedVSSL federates on R3D-18: CtP, VCOP and Speed.

A pretext task is a model (the R3D-18 backbone under ``backbone.`` plus its own
head under ``head.``), a dataset of training examples cut from unlabelled
videos, a loss and the trivial baseline that loss must go below:

* ``ctp``: Catch-the-Patch, track pasted patches (baseline: predicting no
  motion); its patches follow ``[ssl.ctp]`` and its curriculum.
* ``vcop``: video clip order prediction, which of the 3! orders a shuffled
  tuple of 3 clips is in (baseline: the uniform prediction, ln 6, chance 1/6).
* ``speed``: playback rate, which of 7 strides a clip was sampled with
  (baseline: ln 7, chance 1/7).

Only the backbone is federated, so the server and the strategies never see
which pretext task ran.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from torch import nn
from torch.utils.data import Dataset

from fedvideo.fl.task import LossFn
from fedvideo.tasks.ssl.config import CtPConfig, SSLConfig
from fedvideo.tasks.ssl.curriculum import curriculum_difficulty
from fedvideo.tasks.ssl.data.action_video import ActionVideo
from fedvideo.tasks.ssl.data.clips import CtPTrainClips
from fedvideo.tasks.ssl.data.pretext_clips import (
    SpeedTrainClips,
    VCOPTrainClips,
    speed_frames_needed,
)
from fedvideo.tasks.ssl.losses import ctp_batch_loss, speed_batch_loss, vcop_batch_loss
from fedvideo.tasks.ssl.models.ctp import CtPModel
from fedvideo.tasks.ssl.models.speed import SpeedModel
from fedvideo.tasks.ssl.models.vcop import VCOPModel

__all__ = ["CtPPretext", "Pretext", "SpeedPretext", "VCOPPretext", "build_pretext"]

#: Client evaluation metric of each loss part of the classification pretexts.
_CLASSIFICATION_METRICS = {
    "accuracy": "pretext_accuracy",
    "chance_accuracy": "pretext_chance_accuracy",
    "uniform": "pretext_loss_uniform",
}


class Pretext(ABC):
    """One self-supervised pretext task on the R3D-18 backbone.

    Parameters
    ----------
    config : SSLConfig
        The ssl settings (clip length, crop size, ...).
    """

    #: Name in ``ssl.pretext``.
    name: str
    #: ``loss_fn(model, batch) -> (loss, parts)`` of the task.
    loss_fn: LossFn
    #: Loss parts that are trivial baselines, with their legend in loss.png.
    references: tuple[tuple[str, str], ...]
    #: Loss part -> name of the client evaluation metric that reports it.
    eval_metrics: dict[str, str]
    #: SGD learning rate of the official configs (used when ``ssl.lr = 0``).
    official_lr: float

    def __init__(self, config: SSLConfig) -> None:
        self.config = config

    @property
    def lr(self) -> float:
        """``ssl.lr``, or the official rate of the pretext when it is 0."""
        return self.config.lr or self.official_lr

    @abstractmethod
    def build_model(self) -> nn.Module:
        """Build a fresh model: ``backbone`` (R3D-18) and ``head``."""

    @abstractmethod
    def train_clips(
        self, videos: Sequence[ActionVideo], seed: int, progress: float
    ) -> Dataset:
        """Training examples of `videos` at `progress` (share of training done)."""

    def frames_needed(self) -> int:
        """Frames a video must have to give one training example."""
        return 1

    def round_metrics(self, progress: float) -> dict[str, float]:
        """Return settings of a round worth recording (e.g. a difficulty)."""
        return {}


class CtPPretext(Pretext):
    """Catch-the-Patch with the patches of ``[ssl.ctp]`` and its curriculum."""

    name = "ctp"
    official_lr = 0.01
    loss_fn = staticmethod(ctp_batch_loss)
    references = (("no_motion", "predicting no motion"),)
    eval_metrics = {
        "center": "loss_center",
        "size": "loss_size",
        "no_motion": "pretext_loss_no_motion",
    }

    def __init__(self, config: SSLConfig, ctp: CtPConfig) -> None:
        super().__init__(config)
        self.ctp = ctp
        self.curriculum = ctp.curriculum_for(config.num_patches)

    def build_model(self) -> nn.Module:
        """Build R3D-18 (pretraining strides) with a trajectory head."""
        return CtPModel(num_frames=self.config.num_frames)

    def train_clips(
        self, videos: Sequence[ActionVideo], seed: int, progress: float
    ) -> Dataset:
        """Clips with the patches of the curriculum at `progress`."""
        cfg = self.config
        augment = self.curriculum.settings_at(progress)
        return CtPTrainClips(videos, cfg.num_frames, cfg.crop_size, seed, augment)

    def round_metrics(self, progress: float) -> dict[str, float]:
        """Return the curriculum's difficulty (1 = the ``[ssl.ctp]`` settings)."""
        return {"ctp_difficulty": curriculum_difficulty(progress, self.ctp.curriculum)}


class VCOPPretext(Pretext):
    """Clip order prediction over tuples of 3 clips of ``ssl.num-frames``."""

    name = "vcop"
    official_lr = 0.001
    loss_fn = staticmethod(vcop_batch_loss)
    references = (("uniform", "uniform prediction (ln 6)"),)
    eval_metrics = _CLASSIFICATION_METRICS

    def build_model(self) -> nn.Module:
        """Build R3D-18 (standard strides) with the clip-order head."""
        return VCOPModel()

    def train_clips(
        self, videos: Sequence[ActionVideo], seed: int, progress: float
    ) -> Dataset:
        """Shuffled tuples of 3 clips with their order's index."""
        cfg = self.config
        return VCOPTrainClips(videos, cfg.num_frames, cfg.crop_size, seed)

    def frames_needed(self) -> int:
        """Three clips in order, overlapping in a short video (at least 2 apart)."""
        return self.config.num_frames + 2


class SpeedPretext(Pretext):
    """Playback-rate prediction over the 7 strides of the official code."""

    name = "speed"
    official_lr = 0.01
    loss_fn = staticmethod(speed_batch_loss)
    references = (("uniform", "uniform prediction (ln 7)"),)
    eval_metrics = _CLASSIFICATION_METRICS

    def build_model(self) -> nn.Module:
        """Build R3D-18 (standard strides) with the playback-rate head."""
        return SpeedModel()

    def train_clips(
        self, videos: Sequence[ActionVideo], seed: int, progress: float
    ) -> Dataset:
        """Clips played at a random stride with the stride's index."""
        cfg = self.config
        return SpeedTrainClips(videos, cfg.num_frames, cfg.crop_size, seed)

    def frames_needed(self) -> int:
        """One clip at the fastest stride (4): ``4 (T - 1) + 1`` frames."""
        return speed_frames_needed(self.config.num_frames)


def build_pretext(config: SSLConfig, ctp: CtPConfig) -> Pretext:
    """Return the pretext task named by ``ssl.pretext``."""
    if config.pretext == "ctp":
        return CtPPretext(config, ctp)
    if config.pretext == "vcop":
        return VCOPPretext(config)
    return SpeedPretext(config)
