"""Every preset in conf/<task>/ is a valid run config of that task."""

from pathlib import Path

import pytest
import tomli

from fedvideo.config import (
    default_run_config,
    flatten_config,
)
from fedvideo.strategy import build_strategy
from fedvideo.tasks import TASKS, build_task, federation_config

CONF = Path(__file__).resolve().parent.parent / "conf"
PRESETS = sorted(CONF.glob("*/*.toml"))


def test_presets_are_grouped_by_task():
    assert PRESETS, "no presets found"
    assert not list(CONF.glob("*.toml")), "presets belong in conf/<task>/"
    assert {path.parent.name for path in PRESETS} <= set(TASKS)


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: str(p.relative_to(CONF)))
def test_preset_is_a_valid_run_config_of_its_task(preset):
    with open(preset, "rb") as file:
        overrides = flatten_config(tomli.load(file))
    run_config = default_run_config(overrides)  # unknown keys raise
    federation = federation_config(run_config)
    assert federation.task == preset.parent.name
    task = build_task(run_config, federation)
    build_strategy(federation, run_config)
    assert task.name == preset.parent.name
