"""Nothing fedvideo reads from disk or the network can execute code when loaded."""

import ast
import pickle
from pathlib import Path

import pytest
import torch

from fedvideo.fl.checkpoint import load_round_checkpoint, save_round_checkpoint
from fedvideo.tasks.pose.models.vit_weights import load_backbone_weights
from fedvideo.tasks.pose.models.vitpose import build_vitpose
from fedvideo.tasks.vsr.models.spynet import SpyNet, load_spynet_weights
from fedvideo.utils import load_checkpoint

REPO = Path(__file__).resolve().parent.parent
SOURCES = sorted((REPO / "fedvideo").rglob("*.py")) + [REPO / "dataset_preparation.py"]
EXPLOITED: list[str] = []


class _Exploit:
    """Unpickling this calls ``EXPLOITED.append``: a stand-in for arbitrary code."""

    def __reduce__(self):
        return (EXPLOITED.append, ("code ran",))


@pytest.fixture
def hostile_file(tmp_path):
    """A torch file whose unpickling would run code."""
    path = tmp_path / "hostile.pt"
    torch.save({"round": 1, "model": {"w": torch.zeros(1)}, "evil": _Exploit()}, path)
    EXPLOITED.clear()
    return path


def _calls(tree: ast.AST, name: str):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            dotted = getattr(func, "attr", None) or getattr(func, "id", None)
            if dotted == name:
                yield node


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: str(p.relative_to(REPO)))
def test_sources_load_without_pickle(source):
    tree = ast.parse(source.read_text())
    for call in [*_calls(tree, "load"), *_calls(tree, "loads")]:
        called = ast.unparse(call.func)
        assert not called.startswith(("pickle.", "dill.", "joblib.", "_pickle.")), (
            f"{source}:{call.lineno} {called}"
        )
        keywords = {k.arg: k.value for k in call.keywords}
        if "allow_pickle" in keywords:
            assert ast.literal_eval(keywords["allow_pickle"]) is False, source
        if ast.unparse(call.func).startswith("torch."):
            weights_only = keywords.get("weights_only")
            assert weights_only is not None, f"{source}:{call.lineno} torch.load"
            assert ast.literal_eval(weights_only) is True, f"{source}:{call.lineno}"


def test_round_checkpoint_round_trip_and_hostile_checkpoint(tmp_path, hostile_file):
    path = tmp_path / "checkpoint.pt"
    save_round_checkpoint(path, 3, {"w": torch.ones(2)}, {"step": 4})
    server_round, model, strategy = load_round_checkpoint(path)
    assert server_round == 3 and torch.equal(model["w"], torch.ones(2))
    assert strategy == {"step": 4}
    with pytest.raises(pickle.UnpicklingError):
        load_round_checkpoint(hostile_file)
    with pytest.raises(pickle.UnpicklingError):
        load_checkpoint(hostile_file)
    assert EXPLOITED == []


def test_pretrained_weight_loaders_refuse_code(hostile_file):
    # Refused either as it is or wrapped in a ValueError that names the file.
    refused = (pickle.UnpicklingError, ValueError)
    with pytest.raises(refused):
        load_backbone_weights(build_vitpose("vitpose-tiny"), hostile_file)
    with pytest.raises(refused, match="hostile.pt|Unsupported global"):
        load_spynet_weights(SpyNet(), hostile_file)
    assert EXPLOITED == []
