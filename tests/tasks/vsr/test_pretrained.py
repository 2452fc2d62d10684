"""Whole-model VSR checkpoints: BasicSR's layout and fedvideo's own (vsr.pretrained)."""

import pytest
import torch
from tiny_tasks import tiny_task

from fedvideo.config import ConfigError
from fedvideo.tasks.vsr.models import build_vsr_model
from fedvideo.tasks.vsr.models.pretrained import load_vsr_weights
from fedvideo.utils import save_weights

IMAGENET_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
IMAGENET_STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def _trained_state(name="basicvsr-tiny", seed=5):
    """A state dict of the preset with every tensor changed (as after training)."""
    torch.manual_seed(seed)
    model = build_vsr_model(name)
    return {
        k: v + torch.randn_like(v.float()).to(v.dtype)
        for k, v in model.state_dict().items()
    }


def _basicsr_checkpoint(path, state, **extra):
    """Write ``state`` as BasicSR does: under 'params', with SpyNet's buffers."""
    params = dict(state)
    params["spynet.mean"] = IMAGENET_MEAN.clone()
    params["spynet.std"] = IMAGENET_STD.clone()
    torch.save({"params": params, **extra}, path)
    return path


def _assert_equal_state(model, state):
    loaded = model.state_dict()
    assert set(loaded) == set(state)
    for key, value in state.items():
        torch.testing.assert_close(loaded[key], value, rtol=0, atol=0)


def test_basicsr_checkpoint_loads_with_a_report_of_every_key(tmp_path):
    state = _trained_state()
    path = _basicsr_checkpoint(tmp_path / "BasicVSR.pth", state)
    model = build_vsr_model("basicvsr-tiny")
    report = load_vsr_weights(model, path)
    _assert_equal_state(model, state)
    assert report.complete and sorted(report.loaded) == sorted(state)
    assert report.ignored == ["spynet.mean", "spynet.std"]
    assert "ignored 2" in report.summary()


def test_ema_weights_are_preferred_and_module_prefix_is_stripped(tmp_path):
    plain, ema = _trained_state(seed=1), _trained_state(seed=2)
    path = tmp_path / "ema.pth"
    torch.save(
        {"params": plain, "params_ema": {f"module.{k}": v for k, v in ema.items()}},
        path,
    )
    model = build_vsr_model("basicvsr-tiny")
    load_vsr_weights(model, path)
    _assert_equal_state(model, ema)


def test_a_fedvideo_run_export_loads(tmp_path):
    state = _trained_state("edvr-tiny")
    save_weights(state, tmp_path / "model.safetensors")
    model = build_vsr_model("edvr-tiny")
    report = load_vsr_weights(model, tmp_path / "model.safetensors")
    _assert_equal_state(model, state)
    assert report.ignored == [] and report.complete


def test_a_checkpoint_of_another_preset_is_refused_and_nothing_loaded(tmp_path):
    path = _basicsr_checkpoint(tmp_path / "basicvsr.pth", _trained_state())
    model = build_vsr_model("edvr-tiny")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match="does not fit EDVR") as error:
        load_vsr_weights(model, path)
    assert "missing keys" in str(error.value) and "unexpected keys" in str(error.value)
    assert "('params')" in str(error.value)
    _assert_equal_state(model, before)


def test_shape_mismatch_and_wrong_buffers_are_named(tmp_path):
    state = _trained_state()
    wide = build_vsr_model("basicvsr-tiny", kwargs={"num_feat": 24}).state_dict()
    path = _basicsr_checkpoint(tmp_path / "wide.pth", wide)
    with pytest.raises(ValueError, match="mismatched shapes: .*file .* vs model"):
        load_vsr_weights(build_vsr_model("basicvsr-tiny"), path)
    bad = dict(state)
    bad["spynet.mean"] = torch.zeros(1, 3, 1, 1)
    torch.save({"params": bad}, tmp_path / "bad.pth")
    with pytest.raises(ValueError, match="spynet.mean"):
        load_vsr_weights(build_vsr_model("basicvsr-tiny"), tmp_path / "bad.pth")
    torch.save([1, 2], tmp_path / "list.pth")
    with pytest.raises(ValueError, match="no state dict"):
        load_vsr_weights(build_vsr_model("basicvsr-tiny"), tmp_path / "list.pth")


def test_vsr_pretrained_sets_the_servers_starting_model(tmp_path):
    state = _trained_state()
    path = _basicsr_checkpoint(tmp_path / "BasicVSR.pth", state)
    task, _, _ = tiny_task(
        **{"vsr.model": "basicvsr-tiny", "vsr.pretrained": str(path)}
    )
    _assert_equal_state(task.initial_model(), state)
    # Clients build the plain model: the weights reach them from the server.
    assert not torch.equal(
        task.build_model().state_dict()["conv_last.weight"], state["conv_last.weight"]
    )
    missing, _, _ = tiny_task(**{"vsr.pretrained": str(tmp_path / "nope.pth")})
    with pytest.raises(ConfigError, match="'vsr.pretrained'.*nope.pth"):
        missing.initial_model()
    wrong, _, _ = tiny_task(**{"vsr.model": "edvr-tiny", "vsr.pretrained": str(path)})
    with pytest.raises(ConfigError, match="'vsr.pretrained' \\(model 'edvr-tiny'\\)"):
        wrong.initial_model()
