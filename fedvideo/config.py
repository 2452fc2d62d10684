"""Typed run configuration.

Flower hands the apps a flat mapping (``context.run_config``) built from
``[tool.flwr.app.config]`` in ``pyproject.toml`` plus ``--run-config`` overrides.
Nested TOML tables arrive as dotted keys (``[tool.flwr.app.config.vsr]`` →
``vsr.lr``). Flower rejects unknown keys at submit time but does not check value
types, so every section is validated here, once, into a frozen dataclass whose
error messages name the offending key.

``pyproject.toml`` is the single source of truth for defaults: the dataclasses
below declare names, types and allowed values, never default values.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import tomli

__all__ = [
    "TASK_SECTIONS",
    "ConfigError",
    "FederationConfig",
    "default_run_config",
    "flatten_config",
    "lookup",
    "parse_section",
    "settings_of_task",
]

T = TypeVar("T")

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"

#: The run-config sections each task reads (its own, its synthetic data's and
#: its schedule's). The other sections (``reliability``, ``fedvssl``,
#: ``fedprox``) belong to the federation and its strategies, whatever the task.
TASK_SECTIONS: dict[str, tuple[str, ...]] = {
    "vsr": ("vsr", "synthetic", "multigrid-schedule"),
    "ssl": ("ssl", "synthetic-action"),
    "pose": ("pose", "synthetic-pose"),
}


class ConfigError(ValueError):
    """A run-config value is missing, of the wrong type or out of range."""


def choice(*allowed: str) -> dict[str, Any]:
    """Field metadata restricting a string setting to ``allowed`` values."""
    return {"choices": allowed}


def at_least(minimum: float) -> dict[str, Any]:
    """Field metadata for a numeric setting that must be ``>= minimum``."""
    return {"min": minimum}


def in_unit_interval() -> dict[str, Any]:
    """Field metadata for a numeric setting in ``[0, 1]``."""
    return {"min": 0.0, "max": 1.0}


@dataclasses.dataclass(frozen=True)
class FederationConfig:
    """Task-independent settings (top level of ``[tool.flwr.app.config]``)."""

    task: str
    strategy: str
    num_server_rounds: int = dataclasses.field(metadata=at_least(1))
    fraction_train: float = dataclasses.field(metadata=in_unit_interval())
    min_train_nodes: int = dataclasses.field(metadata=at_least(0))
    fraction_evaluate: float = dataclasses.field(metadata=in_unit_interval())
    min_available_nodes: int = dataclasses.field(metadata=at_least(1))
    local_epochs: int = dataclasses.field(metadata=at_least(0))
    local_steps: int = dataclasses.field(metadata=at_least(0))
    seed: int
    eval_every: int = dataclasses.field(metadata=at_least(0))
    output_dir: str
    device: str = dataclasses.field(metadata=choice("auto", "cpu", "cuda"))
    amp: bool
    round_timeout: float = dataclasses.field(metadata=at_least(1.0))
    log_every: int = dataclasses.field(metadata=at_least(1))
    num_threads: int = dataclasses.field(metadata=at_least(0))
    thread_policy: str = dataclasses.field(metadata=choice("fixed", "adaptive"))
    multigrid: bool
    resume: bool
    resume_from: str
    resume_new_folder: bool
    tensorboard: bool

    def __post_init__(self) -> None:
        """Check settings that depend on each other."""
        if self.local_epochs == 0 and self.local_steps == 0:
            raise ConfigError(
                "run config: one of 'local-epochs' and 'local-steps' must be > 0"
            )


def _key(prefix: str, field_name: str) -> str:
    name = field_name.replace("_", "-")
    return f"{prefix}.{name}" if prefix else name


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _coerce(key: str, value: Any, tp: Any) -> Any:
    """Return ``value`` as type ``tp`` or raise a ConfigError naming ``key``."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        errors = []
        for option in typing.get_args(tp):
            try:
                return _coerce(key, value, option)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(errors[0])
    if tp is bool:
        ok = isinstance(value, bool)
    elif tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif tp is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif tp is str:
        ok = isinstance(value, str)
    else:  # pragma: no cover - guards against a typo in a dataclass
        raise TypeError(f"unsupported config type {tp!r} for '{key}'")
    if not ok:
        raise ConfigError(
            f"run config '{key}': expected {_type_name(tp)}, got "
            f"{type(value).__name__} {value!r}"
        )
    return value


def _check_bounds(key: str, value: Any, metadata: Mapping[str, Any]) -> None:
    if "choices" in metadata and value not in metadata["choices"]:
        allowed = ", ".join(repr(c) for c in metadata["choices"])
        raise ConfigError(f"run config '{key}': {value!r} is not one of {allowed}")
    if "min" in metadata and value < metadata["min"]:
        raise ConfigError(f"run config '{key}': {value!r} must be >= {metadata['min']}")
    if "max" in metadata and value > metadata["max"]:
        raise ConfigError(f"run config '{key}': {value!r} must be <= {metadata['max']}")


def parse_section(run_config: Mapping[str, Any], cls: type[T], prefix: str = "") -> T:
    """Validate one section of the run config into the dataclass ``cls``.

    Parameters
    ----------
    run_config : Mapping[str, Any]
        The flat run config (``context.run_config``).
    cls : type
        A dataclass; each field ``some_name`` reads key ``prefix.some-name``.
        Field metadata may carry ``choices``, ``min`` and ``max``.
    prefix : str
        Section name, e.g. ``"vsr"``; empty for top-level keys.

    Returns
    -------
    T
        An instance of ``cls``.

    Raises
    ------
    ConfigError
        If a key is missing, has the wrong type or is out of range.
    """
    hints = typing.get_type_hints(cls)
    values = {}
    for field in dataclasses.fields(cls):
        key = _key(prefix, field.name)
        if key not in run_config:
            raise ConfigError(
                f"run config: missing key '{key}' (declare it with its default in "
                "[tool.flwr.app.config] of pyproject.toml)"
            )
        value = _coerce(key, run_config[key], hints[field.name])
        _check_bounds(key, value, field.metadata)
        values[field.name] = value
    return cls(**values)


def lookup(registry: Mapping[str, T], key: str, name: str) -> T:
    """Return ``registry[name]`` for the top-level setting ``key``.

    Raises
    ------
    ConfigError
        If ``name`` is not registered; the message lists the valid names.
    """
    try:
        return registry[name]
    except KeyError:
        valid = ", ".join(sorted(registry))
        raise ConfigError(
            f"run config '{key}': unknown {key} {name!r}; valid names: {valid}"
        ) from None


def flatten_config(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested TOML tables into Flower's dotted run-config keys."""
    flat: dict[str, Any] = {}
    for name, value in table.items():
        key = f"{prefix}.{name}" if prefix else name
        if isinstance(value, Mapping):
            flat.update(flatten_config(value, key))
        else:
            flat[key] = value
    return flat


def settings_of_task(config: Mapping[str, Any]) -> dict[str, Any]:
    """Return a flat run config without the sections of the tasks it does not run.

    Two runs of one task are the same experiment whatever the other tasks'
    settings say (their defaults change as those tasks evolve); a config
    without ``task`` is returned whole.
    """
    task = config.get("task")
    if task not in TASK_SECTIONS:
        return dict(config)
    foreign = {
        section
        for name, sections in TASK_SECTIONS.items()
        if name != task
        for section in sections
    }
    return {k: v for k, v in config.items() if k.partition(".")[0] not in foreign}


def default_run_config(
    overrides: Mapping[str, Any] | None = None, pyproject: Path = PYPROJECT
) -> dict[str, Any]:
    """Return the defaults of ``[tool.flwr.app.config]``, optionally overridden.

    Used outside a Flower run (tests, benchmarks, evaluation scripts); inside a
    run Flower builds the same mapping itself.

    Raises
    ------
    ConfigError
        If an override names a key that has no default.
    """
    with open(pyproject, "rb") as file:
        table = tomli.load(file)["tool"]["flwr"]["app"]["config"]
    config = flatten_config(table)
    for key, value in (overrides or {}).items():
        if key not in config:
            raise ConfigError(f"run config: unknown key '{key}'")
        config[key] = value
    return config
