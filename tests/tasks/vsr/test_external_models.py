"""VSR models named by import path: building, kwargs, and the contract check."""

import textwrap

import pytest
import torch
from tiny_tasks import tiny_task

from fedvideo.config import (
    ConfigError,
)
from fedvideo.fl.client_info import ClientInfo
from fedvideo.fl.task import RoundInfo
from fedvideo.fl.training import local_round
from fedvideo.tasks.vsr.models import build_vsr_model, check_vsr_contract
from fedvideo.tasks.vsr.models.external import load_factory, parse_model_kwargs

EXTERNAL_MODULE = textwrap.dedent(
    '''
    """A VSR model that lives outside fedvideo (written by the test)."""
    import torch
    import torch.nn.functional as F
    from torch import nn


    class PixelShuffleVSR(nn.Module):
        def __init__(self, upscale=4, channels=8):
            super().__init__()
            self.upscale = upscale
            self.body = nn.Sequential(
                nn.Conv2d(3, channels, 3, padding=1),
                nn.ReLU(),
                nn.Conv2d(channels, 3 * upscale**2, 3, padding=1),
            )

        def forward(self, x):
            b, t, c, h, w = x.shape
            frames = x.reshape(b * t, c, h, w)
            out = F.pixel_shuffle(self.body(frames), self.upscale)
            base = F.interpolate(frames, scale_factor=self.upscale, mode="bilinear")
            return (out + base).reshape(b, t, c, h * self.upscale, w * self.upscale)


    def wrong_shape(upscale=4):
        return nn.Identity()


    NOT_CALLABLE = 3
    '''
)


@pytest.fixture
def external_module(tmp_path, monkeypatch):
    (tmp_path / "my_vsr_zoo.py").write_text(EXTERNAL_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    return "my_vsr_zoo"


def test_parse_model_kwargs_inline_table():
    assert parse_model_kwargs("") == {}
    assert parse_model_kwargs("upscale = 4, window_size = [6, 8, 8]") == {
        "upscale": 4,
        "window_size": [6, 8, 8],
    }
    assert parse_model_kwargs("{ depths = [2, 2], name = 'x' }") == {
        "depths": [2, 2],
        "name": "x",
    }
    with pytest.raises(ValueError, match="'vsr.model-kwargs'.*not a TOML inline"):
        parse_model_kwargs("upscale 4")


def test_load_factory_errors_name_the_problem(external_module):
    assert load_factory(f"{external_module}:PixelShuffleVSR").__name__ == (
        "PixelShuffleVSR"
    )
    with pytest.raises(ValueError, match="cannot import module 'no_such_pkg.models'"):
        load_factory("no_such_pkg.models:VRT")
    with pytest.raises(ValueError, match="has no attribute 'Missing'"):
        load_factory(f"{external_module}:Missing")
    with pytest.raises(ValueError, match="is not callable"):
        load_factory(f"{external_module}:NOT_CALLABLE")
    with pytest.raises(ValueError, match="'package.module:Factory'"):
        load_factory(":Factory")


def test_build_external_model_with_kwargs(external_module):
    model = build_vsr_model(
        f"{external_module}:PixelShuffleVSR", kwargs={"upscale": 2, "channels": 4}
    )
    out = model(torch.rand(1, 3, 3, 8, 10))
    assert out.shape == (1, 3, 3, 16, 20)
    check_vsr_contract(model, scale=2, num_frames=3, lr_size=(8, 10))


def test_contract_check_rejects_wrong_output(external_module):
    model = build_vsr_model(f"{external_module}:wrong_shape")
    with pytest.raises(
        ValueError, match=r"to \(1, 2, 3, 4, 4\), expected \(1, 2, 3, 16, 16\)"
    ):
        check_vsr_contract(model, scale=4, num_frames=2, lr_size=(4, 4))
    with pytest.raises(ValueError, match="failed on a probe clip"):
        check_vsr_contract(torch.nn.Conv2d(3, 3, 1), 4, 2, (4, 4))


def test_bundled_presets_take_size_overrides():
    model = build_vsr_model("basicvsr-tiny", kwargs={"num_feat": 8, "num_blocks": 1})
    assert model(torch.rand(1, 2, 3, 8, 8)).shape == (1, 2, 3, 32, 32)


def _task(**overrides):
    return tiny_task(**{"synthetic.train-videos": 2, "local-steps": 1, **overrides})[0]


def test_vsr_task_trains_an_external_model(external_module):
    task = _task(
        **{
            "vsr.model": f"{external_module}:PixelShuffleVSR",
            "vsr.model-kwargs": "upscale = 4, channels = 4",
        }
    )
    model = task.initial_model()  # checks the contract once
    result = local_round(
        task, model, ClientInfo(0, 1), RoundInfo(1, 1), torch.device("cpu"), {}
    )
    assert result.train_loss > 0
    assert set(task.global_state(model)) == set(model.state_dict())


def test_vsr_task_config_errors_for_external_models(external_module):
    with pytest.raises(ConfigError, match="'vsr.model': unknown model 'nope'"):
        _task(**{"vsr.model": "nope"})
    with pytest.raises(ConfigError, match="'vsr.model-kwargs'"):
        _task(**{"vsr.model-kwargs": "channels ="})
    bad_kwargs = _task(
        **{
            "vsr.model": f"{external_module}:PixelShuffleVSR",
            "vsr.model-kwargs": "colour = 3",
        }
    )
    with pytest.raises(ConfigError, match="'vsr.model-kwargs'.*does not fit"):
        bad_kwargs.build_model()
    wrong = _task(**{"vsr.model": f"{external_module}:wrong_shape"})
    with pytest.raises(ConfigError, match="'vsr.model'.*expected"):
        wrong.initial_model()
    missing = _task(**{"vsr.model": "no_such_pkg:VRT"})
    with pytest.raises(ConfigError, match="cannot import module 'no_such_pkg'"):
        missing.build_model()
