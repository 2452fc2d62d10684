"""Small utilities shared by the apps, tasks and tools: seeding, devices, files."""

from __future__ import annotations

import logging
import os
import random
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file as load_safetensors
from safetensors.torch import save_file as save_safetensors

__all__ = [
    "CommandError",
    "atomic_savefig",
    "atomic_torch_save",
    "atomic_write",
    "configure_threads",
    "derive_seed",
    "load_checkpoint",
    "load_weights",
    "peak_memory_mb",
    "reset_peak_memory",
    "save_weights",
    "select_device",
    "set_seed",
]


# The process umask, read once (os.umask can only be read by setting it).
_UMASK = os.umask(0o022)
os.umask(_UMASK)


class CommandError(Exception):
    """A ``fedvideo`` command cannot do what it was asked; the message says why."""


def derive_seed(*parts: int) -> int:
    """Combine integers (base seed, partition id, round, ...) into one 32-bit seed.

    Uses NumPy's ``SeedSequence`` so nearby inputs give unrelated seeds.
    """
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0])


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and PyTorch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


#: How to reserve GPUs for simulated clients, quoted in device errors and warnings.
GPU_ADVICE = (
    "reserve a GPU share for every simulated client, e.g. --federation-config "
    '"num-supernodes=4 client-resources-num-cpus=2 client-resources-num-gpus=0.25" '
    "(4 clients per GPU)"
)
_warned_cpu_fallback = False


def select_device(name: str) -> torch.device:
    """Resolve the ``device`` setting (``auto``, ``cpu`` or ``cuda``).

    Inside a Flower simulation, a client that Ray gave no GPU cannot see one,
    although the machine may have several: ``auto`` then trains on the CPU
    with a warning (once per process) that says how to reserve GPUs, and
    ``cuda`` fails with that advice.

    Raises
    ------
    RuntimeError
        If ``cuda`` is requested but no CUDA device is available to this
        process; the message says how to get one.
    """
    reserved, cluster = _ray_gpus()
    without_gpu = reserved == 0 and cluster > 0
    if name == "cuda" and not torch.cuda.is_available():
        reason = (
            f"this simulated client was given no GPU although the Ray cluster has "
            f"{cluster:g}: {GPU_ADVICE}"
            if without_gpu
            else "no CUDA device is available to this process (in a simulation, "
            f"{GPU_ADVICE}; or set device = 'auto')"
        )
        raise RuntimeError(f"run config 'device' is 'cuda' but {reason}")
    if name == "auto" and without_gpu and not torch.cuda.is_available():
        _warn_cpu_fallback(cluster)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def reset_peak_memory(device: torch.device) -> None:
    """Start counting the peak GPU memory anew (nothing to do on the CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory_mb(device: torch.device) -> float | None:
    """Peak GPU memory allocated by PyTorch since the last reset, in MiB (CPU: None)."""
    if device.type != "cuda":
        return None
    torch.cuda.synchronize(device)
    return round(torch.cuda.max_memory_allocated(device) / 2**20, 1)


def _warn_cpu_fallback(cluster: float) -> None:
    global _warned_cpu_fallback
    if _warned_cpu_fallback:
        return
    _warned_cpu_fallback = True
    logging.getLogger("flwr").warning(
        "fedvideo: device 'auto' trains this client on the CPU: Ray gave it no "
        "GPU, although the cluster has %g; %s",
        cluster,
        GPU_ADVICE,
    )


# What Ray reserved for this process's actor; fixed for the actor's lifetime,
# so asked once (every ClientApp message needs it twice otherwise).
_RAY_RESOURCES: tuple[Mapping[str, float], Mapping[str, float]] | None = None


def _ray_resources() -> tuple[Mapping[str, float], Mapping[str, float]]:
    """Resources Ray reserved for this actor, and its cluster's ({} outside Ray)."""
    global _RAY_RESOURCES
    if _RAY_RESOURCES is not None:
        return _RAY_RESOURCES
    try:
        import ray
    except ImportError:
        return {}, {}
    if not ray.is_initialized():
        return {}, {}
    try:
        reserved = ray.get_runtime_context().get_assigned_resources()
        _RAY_RESOURCES = reserved, ray.cluster_resources()
    except Exception:  # noqa: BLE001 - not in a worker: no reservation
        return {}, {}
    return _RAY_RESOURCES


def _ray_gpus() -> tuple[float, float]:
    """GPUs Ray reserved for this actor and GPUs of its cluster ((0, 0) outside)."""
    reserved, cluster = _ray_resources()
    return float(reserved.get("GPU", 0)), float(cluster.get("GPU", 0))


def _ray_assigned_cpus() -> int:
    """CPUs Ray reserved for the current actor (0 outside a Ray worker)."""
    return int(_ray_resources()[0].get("CPU", 0))


def configure_threads(requested: int) -> int:
    """Set PyTorch's intra-op threads for this process and return the count.

    ``requested > 0`` sets exactly that many. ``0`` means automatic: inside a
    Flower simulation (a Ray actor) the CPUs reserved for the client
    (``client-resources-num-cpus``), so that parallel clients do not
    oversubscribe the cores; elsewhere PyTorch's default.
    """
    threads = requested or _ray_assigned_cpus()
    if threads > 0 and threads != torch.get_num_threads():
        torch.set_num_threads(threads)
    return torch.get_num_threads()


def atomic_write(path: Path, write: Callable[[str], None]) -> None:
    """Create ``path`` through a temporary file and an atomic rename.

    ``write`` receives the temporary file's name and fills it. A crash while
    writing never leaves a truncated file at ``path``. The file gets the
    permissions of a file created with ``open`` (0o666 less the umask).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def atomic_savefig(figure: Any, path: Path, dpi: int = 120) -> None:
    """Save a Matplotlib figure via :func:`atomic_write` (format from the suffix)."""
    image_format = path.suffix.lstrip(".")
    atomic_write(path, lambda tmp: figure.savefig(tmp, dpi=dpi, format=image_format))


def atomic_torch_save(obj: Any, path: Path) -> None:
    """Save with ``torch.save`` through :func:`atomic_write`."""
    atomic_write(path, lambda tmp: torch.save(obj, tmp))


def save_weights(state: Mapping[str, torch.Tensor], path: Path) -> None:
    """Write tensors as safetensors (atomically), the format to share weights in.

    Tensors are copied to contiguous CPU memory first, so views and tensors that
    share storage (which safetensors refuses) are written as plain copies.
    """
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in state.items()}
    atomic_write(
        path, lambda tmp: save_safetensors(tensors, tmp, metadata={"format": "pt"})
    )


def load_weights(path: str | Path) -> Mapping[str, Any]:
    """Read model weights without executing code from the file.

    ``path`` is a ``.safetensors`` file, a torch file (read with
    ``weights_only=True``) or a run folder, in which ``model.safetensors`` is
    preferred to ``model.pt``.

    Raises
    ------
    FileNotFoundError
        If the file, or both files of a run folder, do not exist.
    """
    path = Path(path)
    if path.is_dir():
        for name in ("model.safetensors", "model.pt"):
            if (path / name).is_file():
                return load_weights(path / name)
        raise FileNotFoundError(f"{path} holds neither model.safetensors nor model.pt")
    if path.suffix == ".safetensors":
        if not path.is_file():
            raise FileNotFoundError(f"weights file {path} does not exist")
        return load_safetensors(str(path), device="cpu")
    return load_checkpoint(path)


def load_checkpoint(path: str | Path) -> Mapping[str, Any]:
    """Load a checkpoint written by fedvideo without unpickling arbitrary objects.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint file {path} does not exist")
    return torch.load(path, map_location="cpu", weights_only=True)
