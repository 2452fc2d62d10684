"""The final model's test frames as PNG (vsr.export-frames), for VMAF."""

import numpy as np
import torch
from PIL import Image
from tiny_tasks import tiny_task

from fedvideo.tasks.vsr.data.clips import VSRTestClips
from fedvideo.tasks.vsr.export import to_uint8_frames


def _read(folder):
    return np.stack([np.asarray(Image.open(f)) for f in sorted(folder.glob("*.png"))])


def test_export_writes_sr_gt_and_bicubic_frames_of_every_clip(tmp_path):
    task, _, _ = tiny_task(**{"vsr.export-frames": True, "synthetic.test-videos": 2})
    model = task.initial_model()
    summary = task.final_evaluation(model, torch.device("cpu"), tmp_path)
    clips = VSRTestClips(task.test_data())
    assert summary == {"exported_frames": float(sum(len(c["hr"]) for c in clips))}
    for clip in clips:
        folder = tmp_path / "frames" / clip["name"]
        gt = _read(folder / "gt")
        np.testing.assert_array_equal(gt, to_uint8_frames(clip["hr"]))
        assert gt.shape == (4, 32, 32, 3)
        # A fresh model is the bicubic upsampling (zero-initialised residual).
        sr, bicubic = _read(folder / "sr"), _read(folder / "bicubic")
        assert np.abs(sr.astype(int) - bicubic.astype(int)).max() <= 1
        assert [p.name for p in sorted((folder / "sr").glob("*.png"))][:2] == [
            "00000000.png",
            "00000001.png",
        ]


def test_no_export_by_default(tmp_path):
    task, _, _ = tiny_task()
    assert (
        task.final_evaluation(task.initial_model(), torch.device("cpu"), tmp_path) == {}
    )
    assert not (tmp_path / "frames").exists()


def test_uint8_frames_round_like_basicsr():
    frames = torch.tensor([0.0, 0.5 / 255, 1.49 / 255, 1.0, 1.2]).view(1, 1, 1, 5)
    frames = frames.expand(1, 3, 1, 5)
    assert to_uint8_frames(frames)[0, 0, :, 0].tolist() == [0, 0, 1, 255, 255]
