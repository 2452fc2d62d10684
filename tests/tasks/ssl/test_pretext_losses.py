"""Cross-entropy of the VCOP and Speed pretext classifiers (ssl.losses)."""

from __future__ import annotations

import math

import pytest
import torch
from torch.utils.data import DataLoader

from fedvideo.tasks.ssl.data.pretext_clips import SpeedTrainClips, VCOPTrainClips
from fedvideo.tasks.ssl.data.synthetic import synthetic_action_splits
from fedvideo.tasks.ssl.losses import (
    classification_batch_loss,
    classification_loss,
    speed_batch_loss,
    vcop_batch_loss,
)
from fedvideo.tasks.ssl.models.speed import SpeedModel
from fedvideo.tasks.ssl.models.vcop import VCOPModel

PART_KEYS = {"accuracy", "chance_accuracy", "uniform"}


@pytest.mark.parametrize("num_classes", [6, 7])
def test_uniform_logits_give_ln_k(num_classes: int) -> None:
    labels = torch.tensor([0, 1, 2, 0])
    total, parts = classification_loss(torch.zeros(4, num_classes), labels)
    assert total.item() == pytest.approx(math.log(num_classes), abs=1e-6)
    assert set(parts) == PART_KEYS
    assert parts["uniform"] == math.log(num_classes)
    assert parts["chance_accuracy"] == 1 / num_classes
    assert parts["accuracy"] == 0.5  # arg-max of equal scores is class 0


def test_baselines_are_the_published_numbers() -> None:
    _, vcop = classification_loss(torch.zeros(1, 6), torch.tensor([0]))
    _, speed = classification_loss(torch.zeros(1, 7), torch.tensor([0]))
    assert round(vcop["uniform"], 3) == 1.792 and round(speed["uniform"], 3) == 1.946
    assert vcop["chance_accuracy"] == pytest.approx(1 / 6)
    assert speed["chance_accuracy"] == pytest.approx(1 / 7)


@pytest.mark.parametrize("num_classes", [6, 7])
def test_perfect_logits(num_classes: int) -> None:
    labels = torch.arange(num_classes).flip(0)
    logits = 5.0 * torch.nn.functional.one_hot(labels, num_classes).float()
    total, parts = classification_loss(logits, labels)
    assert parts["accuracy"] == 1.0
    # each row: -log(e^5 / (e^5 + (K - 1))) = log(1 + (K - 1) e^-5)
    expected = math.log1p((num_classes - 1) * math.exp(-5))
    assert total.item() == pytest.approx(expected, rel=1e-5)


def test_hand_computed_two_rows() -> None:
    logits = torch.tensor([[math.log(3.0), 0.0, 0.0], [0.0, 0.0, math.log(2.0)]])
    labels = torch.tensor([0, 1])
    total, parts = classification_loss(logits, labels)
    # row 0: p = 3 / 5 (correct); row 1: p = 1 / 4 (predicts class 2)
    expected = (-math.log(3 / 5) - math.log(1 / 4)) / 2
    assert total.item() == pytest.approx(expected, rel=1e-6)
    assert parts["accuracy"] == 0.5
    assert parts["chance_accuracy"] == pytest.approx(1 / 3)


def test_low_precision_logits_give_float32_loss_and_gradient() -> None:
    logits = torch.randn(3, 7).to(torch.bfloat16).requires_grad_()
    total, _ = classification_loss(logits, torch.tensor([0, 3, 6]))
    assert total.dtype == torch.float32 and total.dim() == 0
    total.backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0


@pytest.mark.parametrize(
    ("logits", "labels"),
    [(torch.zeros(4, 6), torch.zeros(3, dtype=torch.long)), (torch.zeros(4), None)],
)
def test_shape_mismatch_raises(logits, labels) -> None:
    labels = torch.zeros(4, dtype=torch.long) if labels is None else labels
    with pytest.raises(ValueError, match="expected logits"):
        classification_loss(logits, labels)


class _Recorder(torch.nn.Module):
    """Returns fixed logits and remembers its input."""

    def __init__(self, logits: torch.Tensor) -> None:
        super().__init__()
        self.logits = logits
        self.seen: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen = x
        return self.logits


@pytest.mark.parametrize(
    ("batch_loss", "key"), [(vcop_batch_loss, "clips"), (speed_batch_loss, "clip")]
)
def test_batch_loss_feeds_its_input_key(batch_loss, key) -> None:
    inputs = torch.randn(2, 5)
    model = _Recorder(torch.tensor([[0.0, 2.0], [1.0, 0.0]], dtype=torch.float16))
    total, parts = batch_loss(model, {key: inputs, "label": torch.tensor([1, 1])})
    assert model.seen is inputs
    assert total.dtype == torch.float32
    assert parts["accuracy"] == 0.5 and parts["uniform"] == math.log(2)
    same, _ = classification_batch_loss(
        model, {key: inputs, "label": torch.tensor([1, 1])}, key
    )
    assert same.item() == total.item()


@pytest.mark.parametrize("pretext", ["vcop", "speed"])
def test_fresh_models_on_real_batches(pretext: str) -> None:
    torch.manual_seed(0)
    videos, _ = synthetic_action_splits(
        seed=0, num_classes=2, train_per_class=1, test_per_class=0, frames=32, size=36
    )
    if pretext == "vcop":
        data = VCOPTrainClips(videos, clip_frames=8, crop_size=32, seed=0)
        model, batch_loss, key, num_classes = VCOPModel(), vcop_batch_loss, "clips", 6
    else:
        data = SpeedTrainClips(videos, num_frames=8, crop_size=32, seed=0)
        model, batch_loss, key, num_classes = SpeedModel(), speed_batch_loss, "clip", 7
    batch = next(iter(DataLoader(data, batch_size=2)))
    model.eval()  # deterministic, to compare with a direct computation
    total, parts = batch_loss(model, batch)
    with torch.no_grad():
        logits = model(batch[key])
    expected = torch.nn.functional.cross_entropy(logits, batch["label"])
    assert total.item() == pytest.approx(expected.item(), rel=1e-5)
    assert abs(total.item() - math.log(num_classes)) < 0.01 * math.log(num_classes)
    accuracy = (logits.argmax(1) == batch["label"]).float().mean().item()
    assert parts == {
        "accuracy": accuracy,
        "chance_accuracy": 1 / num_classes,
        "uniform": math.log(num_classes),
    }
    total.backward()
    assert model.backbone.stem[0].weight.grad.abs().sum() > 0
