"""Every preset in conf/<task>/ is a valid run config of that task."""

import re
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


def documented_command(preset: Path) -> tuple[str, dict[str, str]]:
    """The ``--run-config`` path and federation settings of a preset's header."""
    comments = [
        line.lstrip("#").strip()
        for line in preset.read_text().splitlines()
        if line.startswith("#")
    ]
    text = " ".join(comments).replace("\\ ", " ")
    match = re.search(
        r"flwr run \. --run-config (\S+)(?:\s+--federation-config \"([^\"]*)\")?", text
    )
    assert match, f"{preset}: no 'flwr run . --run-config ...' command in the header"
    federation = dict(pair.split("=", 1) for pair in (match[2] or "").split())
    return match[1], federation


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: str(p.relative_to(CONF)))
def test_preset_runs_as_its_documented_command_says(preset):
    path, federation = documented_command(preset)
    assert path == str(preset.relative_to(CONF.parent))
    with open(preset, "rb") as file:
        run_config = default_run_config(flatten_config(tomli.load(file)))
    # Flower's local simulation starts 2 SuperNodes unless told otherwise, and
    # a run waits forever for more nodes than it has.
    nodes = int(federation.get("num-supernodes", 2))
    needed = max(run_config["min-available-nodes"], run_config["min-train-nodes"])
    assert nodes >= needed, f"{preset}: {nodes} SuperNodes, the run waits for {needed}"
    if run_config["device"] == "cuda":
        assert float(federation.get("client-resources-num-gpus", 0)) > 0, (
            f"{preset}: device 'cuda' but no client-resources-num-gpus"
        )


@pytest.mark.parametrize("strategy", ["fedavg", "fedvsr", "loss-aware", "fedprox"])
def test_badclient_presets_name_their_strategy_and_one_bad_client(strategy):
    preset = CONF / "vsr" / f"badclient-{strategy}.toml"
    with open(preset, "rb") as file:
        run_config = default_run_config(flatten_config(tomli.load(file)))
    assert run_config["strategy"] == strategy
    assert run_config["vsr.bad-clients"] == "3"
    assert run_config["min-train-nodes"] == 4  # one bad client of four, every round
