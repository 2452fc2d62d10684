"""Retrieval recall and top-k accuracy on hand-made cases; clip sampling."""

import numpy as np
import pytest
import torch

from fedvideo.tasks.ssl.data.clips import uniform_clip_starts
from fedvideo.tasks.ssl.downstream import retrieval_recall, topk_accuracy


def test_retrieval_recall_hand_made():
    gallery = np.array([[1.0, 0.0], [0.0, 1.0], [0.7, 0.7], [-1.0, 0.0]])
    gallery_labels = [0, 1, 2, 3]
    query = np.array([[2.0, 0.1], [0.1, 3.0], [-1.0, 0.1]])
    # nearest orders: q0 -> 0, 2, 1, 3;  q1 -> 1, 2, 0, 3;  q2 -> 3, 1, 2, 0
    recall = retrieval_recall(query, [2, 1, 0], gallery, gallery_labels, ks=(1, 2, 4))
    assert recall == {
        "R@1": pytest.approx(100 / 3),
        "R@2": pytest.approx(200 / 3),
        "R@4": 100.0,
    }


def test_retrieval_recall_is_cosine_not_euclidean():
    gallery = np.array([[10.0, 0.0], [0.1, 0.1]])
    query = np.array([[0.1, 0.0]])  # closer to g1 in L2, same direction as g0
    assert retrieval_recall(query, [0], gallery, [0, 1], ks=(1,))["R@1"] == 100.0


def test_retrieval_recall_k_beyond_gallery_counts_all():
    recall = retrieval_recall(np.eye(2), [0, 1], np.eye(2)[::-1], [0, 1], ks=(1, 50))
    assert recall == {"R@1": 0.0, "R@50": 100.0}


def test_retrieval_recall_checks_shapes():
    with pytest.raises(ValueError, match="features must be"):
        retrieval_recall(np.zeros((2, 3)), [0, 0], np.zeros((2, 4)), [0, 0])
    with pytest.raises(ValueError, match="one label"):
        retrieval_recall(np.zeros((2, 3)), [0], np.zeros((2, 3)), [0, 0])


def test_topk_accuracy():
    logits = torch.tensor([[0.1, 0.9, 0.0], [0.8, 0.1, 0.3], [0.2, 0.3, 0.5]])
    labels = torch.tensor([1, 2, 0])
    assert topk_accuracy(logits, labels, ks=(1, 2)) == {
        "top1": pytest.approx(100 / 3),
        "top2": pytest.approx(200 / 3),
    }
    assert topk_accuracy(logits, labels, ks=(5,)) == {"top5": 100.0}


def test_uniform_clip_starts_span_the_video():
    assert uniform_clip_starts(100, 16, 10)[0] == 0
    assert uniform_clip_starts(100, 16, 10)[-1] == 84
    assert uniform_clip_starts(16, 16, 3) == [0, 0, 0]
    assert uniform_clip_starts(40, 16, 1) == [12]


def test_cli_scores_a_saved_backbone(tmp_path, capsys):
    import json

    from fedvideo.cli import main
    from fedvideo.tasks.ssl.models.r3d import R3DBackbone

    backbone = tmp_path / "model.pt"
    torch.save(R3DBackbone().state_dict(), backbone)
    out = tmp_path / "scores.json"
    argv = ["--backbone", str(backbone), "--crop-size", "32", "--num-clips", "1"]
    argv += ["--config", "synthetic-action.classes=3", "--config", "seed=5"]
    assert main(["downstream", *argv, "--out", str(out)]) == 0
    scores = json.loads(out.read_text())
    assert {"R@1", "R@5", "R@10", "R@20", "R@50", "seconds"} == set(scores)
    assert json.loads(capsys.readouterr().out) == scores


def test_cli_rejects_bad_config_override(capsys):
    from fedvideo.cli import main

    assert main(["downstream", "--config", "synthetic-action.classes=three"]) == 2
    assert "not a TOML value" in capsys.readouterr().err
