import logging
import sys

import pytest
import torch

from fedvideo import utils
from fedvideo.utils import (
    atomic_torch_save,
    configure_threads,
    derive_seed,
    load_checkpoint,
    load_weights,
    save_weights,
    select_device,
)


def test_derive_seed_is_deterministic_and_spreads():
    assert derive_seed(123, 0, 1) == derive_seed(123, 0, 1)
    assert len({derive_seed(123, pid, 1) for pid in range(50)}) == 50


def test_configure_threads_explicit_and_automatic():
    before = torch.get_num_threads()
    try:
        assert configure_threads(1) == 1
        # outside a Ray actor, automatic keeps the current setting
        assert configure_threads(0) == 1
    finally:
        torch.set_num_threads(before)


def test_atomic_save_and_safe_load(tmp_path):
    path = tmp_path / "sub" / "ckpt.pt"
    atomic_torch_save({"round": 3, "model": {"w": torch.ones(2)}}, path)
    data = load_checkpoint(path)
    assert data["round"] == 3 and torch.equal(data["model"]["w"], torch.ones(2))
    assert [p.name for p in path.parent.iterdir()] == ["ckpt.pt"]  # no temp files left
    plain = tmp_path / "plain"
    plain.write_text("")
    assert path.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777  # as open()
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load_checkpoint(tmp_path / "missing.pt")


def test_weights_round_trip_through_safetensors(tmp_path):
    base = torch.arange(12.0).view(3, 4)
    state = {
        "w": base,
        "w_t": base.t(),
        "row": base[1],
        "b": torch.ones(2, dtype=torch.int64),
    }
    save_weights(state, tmp_path / "model.safetensors")
    loaded = load_weights(tmp_path / "model.safetensors")
    assert set(loaded) == set(state)
    for key, value in state.items():
        assert torch.equal(loaded[key], value) and loaded[key].dtype == value.dtype
    # A run folder: model.safetensors is preferred to model.pt.
    atomic_torch_save({"w": torch.zeros(1)}, tmp_path / "model.pt")
    assert torch.equal(load_weights(tmp_path)["w"], base)
    (tmp_path / "model.safetensors").unlink()
    assert torch.equal(load_weights(tmp_path)["w"], torch.zeros(1))
    (tmp_path / "model.pt").unlink()
    with pytest.raises(
        FileNotFoundError, match="neither model.safetensors nor model.pt"
    ):
        load_weights(tmp_path)
    with pytest.raises(FileNotFoundError, match="missing.safetensors"):
        load_weights(tmp_path / "missing.safetensors")


def test_select_device_cpu():
    assert select_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="'device' is 'cuda'"):
            select_device("cuda")


def test_a_simulated_client_without_a_gpu_share_is_told_how_to_get_one(
    monkeypatch, caplog
):
    monkeypatch.setattr(utils, "_ray_gpus", lambda: (0.0, 2.0))  # 2 GPUs, none ours
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(utils, "_warned_cpu_fallback", False)
    with pytest.raises(RuntimeError, match="given no GPU.*client-resources-num-gpus"):
        select_device("cuda")
    with caplog.at_level(logging.WARNING, logger="flwr"):
        assert select_device("auto").type == "cpu"
        assert select_device("auto").type == "cpu"
    warnings = [r for r in caplog.records if "client-resources-num-gpus" in r.message]
    assert len(warnings) == 1  # once per process


def test_cuda_without_any_gpu_names_the_setting_and_the_way_out(monkeypatch):
    monkeypatch.setattr(utils, "_ray_gpus", lambda: (0.0, 0.0))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="no CUDA device.*device = 'auto'"):
        select_device("cuda")
    assert select_device("cpu").type == "cpu"


def test_a_client_with_a_gpu_share_gets_no_warning(monkeypatch, caplog):
    monkeypatch.setattr(utils, "_ray_gpus", lambda: (0.25, 1.0))
    monkeypatch.setattr(utils, "_warned_cpu_fallback", False)
    with caplog.at_level(logging.WARNING, logger="flwr"):
        select_device("auto")
    assert not caplog.records


def test_ray_resources_are_asked_once_per_actor(monkeypatch):
    calls = []

    class Context:
        def get_assigned_resources(self):
            calls.append("assigned")
            return {"CPU": 2.0, "GPU": 0.25}

    class FakeRay:
        @staticmethod
        def is_initialized():
            return True

        @staticmethod
        def get_runtime_context():
            return Context()

        @staticmethod
        def cluster_resources():
            calls.append("cluster")
            return {"CPU": 16.0, "GPU": 1.0}

    monkeypatch.setitem(sys.modules, "ray", FakeRay)
    monkeypatch.setattr(utils, "_RAY_RESOURCES", None)
    assert utils._ray_gpus() == (0.25, 1.0)
    assert utils._ray_assigned_cpus() == 2
    assert calls == ["assigned", "cluster"]
