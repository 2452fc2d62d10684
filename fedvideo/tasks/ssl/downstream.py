"""Downstream evaluation of a pretrained R3D-18 backbone: retrieval and fine-tuning.

The protocols follow FedVSSL / CtP on UCF-101 and HMDB-51:

* Retrieval: features pooled after layer4, averaged over ``num_clips`` evenly
  spaced centre-cropped clips per video; test videos query the training videos
  by cosine similarity; R@k is the share of queries with a same-class video
  among their k nearest neighbours.
* Fine-tuning: the backbone plus dropout 0.5 and a new linear layer, SGD
  (momentum 0.9, weight decay 5e-4), learning rate divided by 10 at 40 % and
  80 % of the epochs (60/120 of 150); the test score averages the logits of
  ``num_clips`` clips per video (top-1 / top-5).

Run on a saved backbone with ``fedvideo downstream``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from logging import INFO
from pathlib import Path

import numpy as np
import tomli
import torch
import torch.nn.functional as F
from flwr.common.logger import log
from torch import nn
from torch.utils.data import DataLoader

from fedvideo.config import default_run_config, parse_section
from fedvideo.fl.training import (
    autocast_for,
    epoch_batches,
    shuffled_loader,
    train_steps,
)
from fedvideo.tasks.ssl.config import SyntheticActionConfig
from fedvideo.tasks.ssl.data.action_video import ActionVideo
from fedvideo.tasks.ssl.data.clips import LabelledTrainClips, UniformClips
from fedvideo.tasks.ssl.data.splits import load_action_splits
from fedvideo.tasks.ssl.models.r3d import (
    R3DBackbone,
    load_r3d18_backbone,
    r3d18_classifier,
)
from fedvideo.utils import (
    CommandError,
    atomic_write,
    load_weights,
    select_device,
    set_seed,
)

__all__ = [
    "RETRIEVAL_KS",
    "FinetuneSettings",
    "add_arguments",
    "extract_features",
    "finetune",
    "retrieval",
    "retrieval_recall",
    "run",
    "topk_accuracy",
]

RETRIEVAL_KS: tuple[int, ...] = (1, 5, 10, 20, 50)


def retrieval_recall(
    query: np.ndarray,
    query_labels: Sequence[int],
    gallery: np.ndarray,
    gallery_labels: Sequence[int],
    ks: Sequence[int] = RETRIEVAL_KS,
) -> dict[str, float]:
    """Nearest-neighbour retrieval recall R@k (in %) under cosine similarity.

    Parameters
    ----------
    query, gallery : np.ndarray
        Features ``(Q, D)`` and ``(G, D)``.
    query_labels, gallery_labels : Sequence[int]
        Class of every query and gallery item.
    ks : Sequence[int]
        Neighbourhood sizes; a k larger than the gallery counts the whole gallery.

    Returns
    -------
    dict[str, float]
        ``{"R@1": ..., "R@5": ...}``: the percentage of queries with at least one
        gallery item of their class among their k most similar.

    Examples
    --------
    >>> q = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> g = np.array([[0.9, 0.1], [0.2, 0.8], [1.0, 1.0]])
    >>> retrieval_recall(q, [0, 0], g, [0, 1, 0], ks=(1, 2))
    {'R@1': 50.0, 'R@2': 100.0}
    """
    query = np.asarray(query, dtype=np.float64)
    gallery = np.asarray(gallery, dtype=np.float64)
    if query.ndim != 2 or gallery.ndim != 2 or query.shape[1] != gallery.shape[1]:
        raise ValueError(
            f"features must be (Q, D) and (G, D), got {query.shape} and {gallery.shape}"
        )
    q_labels = np.asarray(query_labels)
    g_labels = np.asarray(gallery_labels)
    if len(q_labels) != len(query) or len(g_labels) != len(gallery):
        raise ValueError("one label per query and per gallery item is needed")
    eps = 1e-12
    query = query / np.maximum(np.linalg.norm(query, axis=1, keepdims=True), eps)
    gallery = gallery / np.maximum(np.linalg.norm(gallery, axis=1, keepdims=True), eps)
    order = np.argsort(-(query @ gallery.T), axis=1, kind="stable")
    same = g_labels[order] == q_labels[:, None]  # (Q, G), nearest first
    return {f"R@{k}": float(same[:, :k].any(axis=1).mean() * 100.0) for k in ks}


def topk_accuracy(
    logits: torch.Tensor, labels: torch.Tensor, ks: Sequence[int] = (1, 5)
) -> dict[str, float]:
    """Top-k accuracy (in %) of ``logits (N, C)``; k is capped at C."""
    top = logits.topk(min(max(ks), logits.shape[1]), dim=1).indices
    hits = top == labels[:, None]
    return {f"top{k}": float(hits[:, :k].any(dim=1).float().mean() * 100) for k in ks}


@torch.no_grad()
def _clip_outputs(
    network: nn.Module,
    clips: UniformClips,
    device: torch.device,
    batch_size: int,
    amp: bool,
) -> torch.Tensor:
    """Average the outputs of ``network`` over the clips of each video (on CPU)."""
    network.eval()
    loader = DataLoader(clips, batch_size=batch_size, shuffle=False)
    sums: torch.Tensor | None = None
    for batch in loader:
        with autocast_for(device, amp):
            out = network(batch["clip"].to(device)).float().cpu()
        if sums is None:
            sums = torch.zeros(len(clips.videos), out.shape[1])
        sums.index_add_(0, batch["video"], out)
    assert sums is not None
    return sums / clips.num_clips


class _PooledBackbone(nn.Module):
    """R3D-18 features after layer4, averaged over time and space."""

    def __init__(self, backbone_state: Mapping[str, torch.Tensor]) -> None:
        super().__init__()
        self.backbone = R3DBackbone(pretrain_stride=False)
        self.backbone.load_state_dict(dict(backbone_state), strict=True)

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        return self.backbone(clips).mean(dim=(2, 3, 4))


def extract_features(
    backbone_state: Mapping[str, torch.Tensor],
    videos: Sequence[ActionVideo],
    num_frames: int,
    crop_size: int,
    num_clips: int,
    device: torch.device,
    batch_size: int = 8,
    amp: bool = True,
) -> np.ndarray:
    """Clip-averaged layer4 features ``(len(videos), 512)`` of a backbone."""
    network = _PooledBackbone(backbone_state).to(device)
    clips = UniformClips(videos, num_frames, crop_size, num_clips)
    return _clip_outputs(network, clips, device, batch_size, amp).numpy()


def retrieval(
    backbone_state: Mapping[str, torch.Tensor],
    train: Sequence[ActionVideo],
    test: Sequence[ActionVideo],
    num_frames: int,
    crop_size: int,
    num_clips: int,
    device: torch.device,
    ks: Sequence[int] = RETRIEVAL_KS,
    amp: bool = True,
) -> dict[str, float]:
    """Score retrieval of test videos (queries) among training videos (gallery)."""
    features = extract_features(
        backbone_state,
        [*train, *test],
        num_frames,
        crop_size,
        num_clips,
        device,
        amp=amp,
    )
    gallery, query = features[: len(train)], features[len(train) :]
    return retrieval_recall(
        query, [v.label for v in test], gallery, [v.label for v in train], ks
    )


@dataclass(frozen=True)
class FinetuneSettings:
    """Supervised fine-tuning hyperparameters (FedVSSL / CtP defaults)."""

    epochs: int = 150
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    batch_size: int = 8
    dropout: float = 0.5
    milestones: tuple[float, ...] = (0.4, 0.8)  # shares of the epochs
    seed: int = 0
    flip: bool = True  # off for classes that a mirror image turns into each other


def finetune(
    backbone_state: Mapping[str, torch.Tensor],
    train: Sequence[ActionVideo],
    test: Sequence[ActionVideo],
    num_classes: int,
    num_frames: int,
    crop_size: int,
    num_clips: int,
    device: torch.device,
    settings: FinetuneSettings = FinetuneSettings(),
    amp: bool = True,
) -> dict[str, float]:
    """Fine-tune the backbone with a new classifier; multi-clip top-1/top-5 in %."""
    set_seed(settings.seed)
    network = r3d18_classifier(num_classes, dropout=settings.dropout)
    load_r3d18_backbone(network, backbone_state)
    network.to(device)
    dataset = LabelledTrainClips(
        train, num_frames, crop_size, settings.seed, flip=settings.flip
    )
    loader = shuffled_loader(dataset, settings.batch_size, settings.seed, device)
    steps_per_epoch = len(loader)
    milestones = [round(m * settings.epochs) for m in settings.milestones]

    def lr_at(step: int) -> float:
        epoch = step // steps_per_epoch
        return settings.lr * 0.1 ** sum(epoch >= m for m in milestones)

    def loss_fn(net: nn.Module, batch: Mapping[str, torch.Tensor]):
        return F.cross_entropy(net(batch["clip"]).float(), batch["label"]), {}

    optimizer = torch.optim.SGD(
        network.parameters(),
        lr=settings.lr,
        momentum=settings.momentum,
        weight_decay=settings.weight_decay,
    )
    result = train_steps(
        network,
        epoch_batches(loader),
        settings.epochs * steps_per_epoch,
        loss_fn,
        optimizer,
        lr_at,
        device,
        amp=amp,
        log_every=max(steps_per_epoch, 1),
        description="fine-tune",
    )
    clips = UniformClips(test, num_frames, crop_size, num_clips)
    logits = _clip_outputs(network, clips, device, settings.batch_size, amp)
    labels = torch.tensor([v.label for v in test])
    return {**topk_accuracy(logits, labels), "finetune_loss": result.mean_loss}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command-line arguments of ``fedvideo downstream``.

    It evaluates a pretrained R3D-18 backbone (the model.pt of an ssl run, or
    any state_dict that torchvision's r3d_18 loads) by retrieval and,
    optionally, fine-tuning on an action dataset.
    """
    parser.add_argument(
        "--backbone",
        type=Path,
        help="backbone state_dict file; omit to score a randomly initialised one",
    )
    parser.add_argument(
        "--dataset",
        default="synthetic",
        help="'synthetic' or a folder prepared by 'fedvideo prepare ssl'",
    )
    parser.add_argument("--num-frames", type=int, default=16)
    parser.add_argument("--crop-size", type=int, default=112)
    parser.add_argument("--num-clips", type=int, default=10)
    parser.add_argument("--finetune-epochs", type=int, default=0)
    parser.add_argument("--finetune-lr", type=float, default=0.01)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument(
        "--seed", type=int, default=0, help="random backbone and fine-tuning seed"
    )
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="run-config override for the synthetic data, e.g. "
        "synthetic-action.test-per-class=6 (TOML value; repeatable)",
    )
    parser.add_argument("--out", type=Path, help="write the scores as JSON here")


def _config_overrides(pairs: Sequence[str]) -> dict[str, object]:
    """Parse ``KEY=VALUE`` pairs with TOML values (``--config``)."""
    overrides = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise CommandError(f"--config {pair!r}: expected KEY=VALUE")
        try:
            overrides[key.strip()] = tomli.loads(f"value = {value}")["value"]
        except tomli.TOMLDecodeError:
            raise CommandError(
                f"--config {pair!r}: {value!r} is not a TOML value (quote strings)"
            ) from None
    return overrides


def run(args: argparse.Namespace) -> int:
    """Score the backbone; print the scores as JSON (and write them to ``--out``)."""
    run_config = default_run_config(_config_overrides(args.config))
    synthetic = parse_section(run_config, SyntheticActionConfig, "synthetic-action")
    device = select_device(args.device)
    if args.backbone is None:
        set_seed(args.seed)
        state = R3DBackbone(pretrain_stride=False).state_dict()
    else:
        state = load_weights(args.backbone)
    # The synthetic videos come from the run config's seed, as in a run.
    splits = load_action_splits(args.dataset, int(run_config["seed"]), synthetic)
    start = time.perf_counter()
    scores = retrieval(
        state,
        splits.train,
        splits.test,
        args.num_frames,
        args.crop_size,
        args.num_clips,
        device,
    )
    if args.finetune_epochs:
        settings = FinetuneSettings(
            epochs=args.finetune_epochs,
            lr=args.finetune_lr,
            batch_size=args.batch_size,
            seed=args.seed,
            flip=args.dataset != "synthetic",  # its classes include mirrored motions
        )
        scores |= finetune(
            state,
            splits.train,
            splits.test,
            splits.num_classes,
            args.num_frames,
            args.crop_size,
            args.num_clips,
            device,
            settings,
        )
    scores["seconds"] = time.perf_counter() - start
    text = json.dumps(scores, indent=2)
    log(INFO, "downstream evaluation: %s", text)
    print(text)
    if args.out:
        atomic_write(args.out, lambda tmp: Path(tmp).write_text(text))
    return 0
