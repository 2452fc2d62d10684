"""Flower internals stay in fedvideo.fl.flower_compat; the rest uses the public API."""

from __future__ import annotations

import ast
import math
import re
from pathlib import Path

import numpy as np
import pytest
from flwr.app import Array, ArrayRecord, MetricRecord, RecordDict
from flwr.serverapp.strategy import FedAvg, Strategy

from fedvideo.fl import flower_compat
from fedvideo.fl.flower_compat import (
    INTERNAL_MODULES,
    aggregate_arrayrecords,
    client_app_error_code,
    find_attribute,
    task_identity_class,
)
from fedvideo.strategies import FedVideoStrategy
from fedvideo.strategies.rounds import ResumedRounds

REPO = Path(__file__).resolve().parents[2]
COMPAT = Path(flower_compat.__file__).resolve()
PYTHON_SOURCES = sorted(
    path
    for folder in ("fedvideo", "tests", "scripts")
    for path in (REPO / folder).rglob("*.py")
)


def _is_internal(name: str) -> bool:
    return any(name == m or name.startswith(f"{m}.") for m in INTERNAL_MODULES)


def _internal_uses(path: Path) -> list[str]:
    """Imports of, and dotted strings naming, Flower internals in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if _is_internal(alias.name)]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            found += [name for name in names if _is_internal(name)]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found += [word for word in node.value.split() if _is_internal(word)]
    return sorted(set(found))


def test_only_the_compat_module_uses_flower_internals():
    uses = {
        str(path.relative_to(REPO)): _internal_uses(path)
        for path in PYTHON_SOURCES
        if path.resolve() != COMPAT and _internal_uses(path)
    }
    assert uses == {}


def test_the_scan_finds_an_internal_import(tmp_path):
    internal = INTERNAL_MODULES[0]
    source = tmp_path / "module.py"
    source.write_text(f"from {internal} import thing\nimport json\n")
    assert _internal_uses(source) == sorted({internal, f"{internal}.thing"})


def test_the_hidden_list_alias_appears_nowhere():
    """``flwr list``, never its hidden alias, in code, docs and scripts."""
    alias = re.compile(r"\bflwr\s+ls\b|[\"']ls[\"']")
    texts = [*PYTHON_SOURCES, REPO / "README.md", *sorted(REPO.glob("docs/**/*.md"))]
    texts += [p for p in sorted(REPO.glob("scripts/*")) + [REPO / ".ci/run"]]
    texts += sorted(REPO.glob("deploy/**/*"))
    hits = [
        f"{path.relative_to(REPO)}:{number}"
        for path in texts
        if path.is_file() and path.resolve() != Path(__file__).resolve()
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if alias.search(line)
    ]
    assert hits == []


def test_every_internal_resolves_in_the_installed_flower():
    assert isinstance(client_app_error_code(), int)
    assert isinstance(task_identity_class(), type)
    assert callable(
        find_attribute("add_exit_handler", flower_compat.EXIT_HANDLER_MODULES)
    )


def test_find_attribute_falls_back_to_an_older_location():
    # the first module does not exist, the second lacks the name
    modules = ("fedvideo_no_such_module", "json", "math")
    assert find_attribute("sqrt", modules) is math.sqrt


def test_find_attribute_names_every_location_tried():
    with pytest.raises(ImportError) as raised:
        find_attribute("no_such_name", ("fedvideo_no_such_module", "math"))
    message = str(raised.value)
    assert "fedvideo_no_such_module, math" in message
    assert "fedvideo/fl/flower_compat.py" in message


def test_aggregate_arrayrecords_is_flowers_weighted_average():
    records = [
        RecordDict(
            {
                "arrays": ArrayRecord(
                    {"w": Array(np.array([value], dtype=np.float32))}
                ),
                "metrics": MetricRecord({"num-examples": weight}),
            }
        )
        for value, weight in ((0.0, 1), (4.0, 3))
    ]
    average = aggregate_arrayrecords(records, "num-examples")
    np.testing.assert_allclose(average["w"].numpy(), [3.0])


@pytest.fixture
def recorded_start(monkeypatch):
    """Replace Flower's ``start`` (FedAvg's and the base class's) by a recorder."""
    calls = []

    def start(self, **kwargs):
        calls.append((type(self).__name__, kwargs))
        return "result"

    monkeypatch.setattr(FedAvg, "start", start)
    monkeypatch.setattr(Strategy, "start", start)
    return calls


@pytest.mark.parametrize("first_round", [1, 3])
def test_start_passes_on_arguments_a_later_flower_adds(recorded_start, first_round):
    strategy = FedVideoStrategy(num_rounds=4)
    result = strategy.start(
        grid=None,
        initial_arrays=ArrayRecord(),
        num_rounds=4,
        evaluate_fn=lambda server_round, arrays: None,
        first_round=first_round,
        should_stop="a new argument",
    )
    assert result == "result"
    [(caller, kwargs)] = recorded_start
    assert caller == ("FedVideoStrategy" if first_round == 1 else "ResumedRounds")
    assert kwargs["should_stop"] == "a new argument"
    assert kwargs["num_rounds"] == 4
    assert "first_round" not in kwargs


def test_resumed_rounds_passes_on_arguments_a_later_flower_adds(recorded_start):
    ResumedRounds(FedVideoStrategy(num_rounds=2), 2).start(
        grid=None, initial_arrays=ArrayRecord(), should_stop=None
    )
    [(_, kwargs)] = recorded_start
    assert "should_stop" in kwargs
