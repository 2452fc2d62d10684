"""Run-config validation: defaults parse, bad values fail with the key named."""

import pytest

from fedvideo.config import (
    ConfigError,
    FederationConfig,
    default_run_config,
    flatten_config,
    parse_section,
)
from fedvideo.strategy import build_strategy
from fedvideo.tasks import build_task, federation_config


def test_defaults_parse():
    config = default_run_config()
    federation = parse_section(config, FederationConfig)
    assert federation.task == "vsr"
    assert federation.num_server_rounds >= 1
    task = build_task(config, federation)
    assert task.name == "vsr"


def test_flatten_nested_tables():
    assert flatten_config({"a": 1, "vsr": {"lr": 0.1, "x": {"y": "z"}}}) == {
        "a": 1,
        "vsr.lr": 0.1,
        "vsr.x.y": "z",
    }


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("num-server-rounds", "3", "'num-server-rounds': expected int, got str"),
        ("num-server-rounds", 2.5, "'num-server-rounds': expected int, got float"),
        ("amp", 1, "'amp': expected bool, got int"),
        ("fraction-train", 1.5, "'fraction-train': 1.5 must be <= 1.0"),
        ("device", "tpu", "'device': 'tpu' is not one of"),
        ("num-server-rounds", True, "expected int, got bool"),
    ],
)
def test_wrong_value_names_the_key(key, value, message):
    config = default_run_config({key: value})
    with pytest.raises(ConfigError, match=message):
        parse_section(config, FederationConfig)


def test_int_accepted_for_float():
    config = default_run_config({"fraction-train": 1})
    assert parse_section(config, FederationConfig).fraction_train == 1.0


def test_missing_key_is_reported():
    config = default_run_config()
    del config["seed"]
    with pytest.raises(ConfigError, match="missing key 'seed'"):
        parse_section(config, FederationConfig)


def test_unknown_override_rejected():
    with pytest.raises(ConfigError, match="unknown key 'learning-rate'"):
        default_run_config({"learning-rate": 0.1})


def test_no_local_work_rejected():
    config = default_run_config({"local-epochs": 0, "local-steps": 0})
    with pytest.raises(ConfigError, match="local-epochs"):
        parse_section(config, FederationConfig)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("vsr.lr", "0.001", "'vsr.lr': expected float, got str"),
        ("vsr.model", "srcnn", "'vsr.model': unknown model 'srcnn'"),
        ("vsr.gt-crop", 30, "'vsr.gt-crop' \\(30\\) must be a multiple"),
        ("vsr.wavelet", "wave", "'vsr.wavelet'"),
        ("synthetic.frames", "10", "'synthetic.frames': expected int"),
    ],
)
def test_task_section_errors(key, value, message):
    config = default_run_config({key: value})
    federation = parse_section(config, FederationConfig)
    with pytest.raises(ConfigError, match=message):
        build_task(config, federation)


def test_unknown_task_and_strategy_list_valid_names():
    config = default_run_config({"task": "asr", "strategy": "fedfoo"})
    federation = parse_section(config, FederationConfig)
    with pytest.raises(ConfigError, match="valid names: pose, ssl, vsr"):
        build_task(config, federation)
    with pytest.raises(
        ConfigError, match="valid names: fedavg, fedprox, fedvsr, loss-aware, swa-mixed"
    ):
        build_strategy(federation, config)


@pytest.mark.parametrize(
    ("task", "strategy"), [("vsr", "fedvsr"), ("ssl", "swa-mixed"), ("pose", "fedavg")]
)
def test_an_empty_strategy_is_the_tasks_method(task, strategy):
    assert default_run_config()["strategy"] == ""
    assert federation_config(default_run_config({"task": task})).strategy == strategy
    chosen = default_run_config({"task": task, "strategy": "fedprox"})
    assert federation_config(chosen).strategy == "fedprox"


def test_settings_of_task_drop_the_other_tasks_sections_only():
    from fedvideo.config import TASK_SECTIONS, settings_of_task
    from fedvideo.tasks import TASKS

    assert set(TASK_SECTIONS) == set(TASKS)
    config = default_run_config({"task": "vsr"})
    settings = settings_of_task(config)
    assert settings["vsr.lr"] == config["vsr.lr"]
    assert settings["synthetic.frames"] == config["synthetic.frames"]
    assert settings["fedprox.mu"] == config["fedprox.mu"]  # a strategy's section
    assert not any(k.startswith(("ssl.", "pose.", "synthetic-")) for k in settings)
    # every section of the defaults is a task's, or the federation's
    sections = {k.partition(".")[0] for k in config if "." in k}
    owned = {s.partition(".")[0] for names in TASK_SECTIONS.values() for s in names}
    assert sections - owned == {"reliability", "fedvssl", "fedprox"}
    assert settings_of_task({"seed": 1, "ssl.lr": 0.1}) == {"seed": 1, "ssl.lr": 0.1}
