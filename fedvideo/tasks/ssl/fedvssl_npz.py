"""``fedvideo convert-fedvssl``: FedVSSL's ``.npz`` backbones in torchvision's layout.

FedVSSL's Flower code saves each global model as ``round-<r>.npz``: NumPy's
``savez`` of one Flower ``Parameters`` object (pickled), whose ``tensors`` are
the CtP model's state-dict values in module order, each serialised with
``numpy.save``, without names. The R3D-18 backbone comes first (stem conv and
BN, then every block's conv1, bn1, conv2, bn2 and, where present, its
downsample conv and BN, with BN running statistics and batch counters) and the
CtP head after it. That is the order of torchvision's ``r3d_18`` state dict
without ``fc``, so the first arrays map onto those keys by position; every
shape is checked.

The pickle is read with an unpickler that admits only NumPy's array
reconstruction and a plain stand-in for ``Parameters``: nothing in the file
can run code. ::

    fedvideo convert-fedvssl round-540.npz r3d18_fedvssl.safetensors

The output (safetensors, or a torch file for a ``.pt`` / ``.pth`` suffix) loads
into ``torchvision.models.video.r3d_18`` (``strict=False``: ``fc`` stays) and
into ``fedvideo downstream --backbone``.
"""

from __future__ import annotations

import argparse
import io
import pickle
import zipfile
from pathlib import Path

import numpy as np
import torch
from numpy.lib import format as npy_format

from fedvideo.tasks.ssl.models.r3d import R3DBackbone
from fedvideo.utils import CommandError, atomic_torch_save, save_weights

__all__ = ["add_arguments", "convert_fedvssl_npz", "read_flower_npz", "run"]


class _FlowerParameters:
    """Stand-in for ``flwr.common.Parameters`` while unpickling: a plain record."""

    tensors: list[bytes]
    tensor_type: str


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickle an object array holding Flower ``Parameters``, and nothing else."""

    _NUMPY = {
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module: str, name: str) -> object:
        if (module, name) in self._NUMPY:
            return super().find_class(module, name)
        if name == "Parameters" and module.endswith("common.typing"):
            return _FlowerParameters
        raise pickle.UnpicklingError(
            f"refusing to load {module}.{name}: a FedVSSL checkpoint holds only "
            "NumPy arrays in Flower Parameters"
        )


def read_flower_npz(path: str | Path) -> list[np.ndarray]:
    """Read the arrays of an ``.npz`` holding one pickled Flower ``Parameters``.

    Parameters
    ----------
    path : str or Path
        The ``.npz`` file (e.g. FedVSSL's ``round-540.npz``).

    Returns
    -------
    list of np.ndarray
        The tensors, in the order they were saved.

    Raises
    ------
    FileNotFoundError
        If `path` does not exist.
    ValueError
        If the file is not such an archive; the message says what it holds.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if "arr_0.npy" not in names:
                raise ValueError(f"{path}: no arr_0 in the archive (it holds {names})")
            stream = io.BytesIO(archive.read("arr_0.npy"))
    except zipfile.BadZipFile as err:
        raise ValueError(f"{path}: not an .npz archive ({err})") from None
    version = npy_format.read_magic(stream)
    if version == (1, 0):
        _, _, dtype = npy_format.read_array_header_1_0(stream)
    else:
        _, _, dtype = npy_format.read_array_header_2_0(stream)
    if dtype != np.dtype(object):
        raise ValueError(f"{path}: arr_0 holds {dtype} data, not a Flower Parameters")
    try:
        holder = _RestrictedUnpickler(stream).load()
    except (pickle.UnpicklingError, EOFError, AttributeError) as err:
        raise ValueError(f"{path}: cannot read arr_0: {err}") from None
    parameters = holder.item() if isinstance(holder, np.ndarray) else holder
    if not isinstance(parameters, _FlowerParameters):
        raise ValueError(f"{path}: arr_0 holds a {type(parameters).__name__}")
    return [
        np.load(io.BytesIO(blob), allow_pickle=False) for blob in parameters.tensors
    ]


def convert_fedvssl_npz(path: str | Path) -> tuple[dict[str, torch.Tensor], int]:
    """Map a FedVSSL checkpoint's leading arrays onto torchvision ``r3d_18`` keys.

    Parameters
    ----------
    path : str or Path
        FedVSSL's ``.npz`` checkpoint.

    Returns
    -------
    backbone : dict[str, Tensor]
        The R3D-18 backbone in torchvision's layout (no ``fc``).
    unused : int
        Arrays after the backbone's (the CtP head's), not converted.

    Raises
    ------
    FileNotFoundError
        If `path` does not exist.
    ValueError
        If the file holds too few arrays or one does not fit its key's shape.
    """
    arrays = read_flower_npz(path)
    reference = R3DBackbone(pretrain_stride=False).state_dict()
    if len(arrays) < len(reference):
        raise ValueError(
            f"{path}: {len(arrays)} arrays, but an R3D-18 backbone has "
            f"{len(reference)} tensors"
        )
    backbone = {}
    for index, (key, expected) in enumerate(reference.items()):
        array = arrays[index]
        if tuple(array.shape) != tuple(expected.shape):
            raise ValueError(
                f"{path}: array {index} has shape {tuple(array.shape)}, but "
                f"{key} needs {tuple(expected.shape)}: not an R3D-18 CtP model "
                "saved in module order"
            )
        backbone[key] = torch.from_numpy(array.copy(order="C")).to(expected.dtype)
    return backbone, len(arrays) - len(reference)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``fedvideo convert-fedvssl IN.npz OUT``."""
    parser.add_argument("checkpoint", type=Path, help="FedVSSL round-<r>.npz")
    parser.add_argument(
        "output",
        type=Path,
        help="backbone file to write: .safetensors, or .pt / .pth for torch",
    )


def run(args: argparse.Namespace) -> int:
    """Convert and write the backbone; print what was converted."""
    if args.output.suffix not in (".safetensors", ".pt", ".pth"):
        raise CommandError(
            f"output {args.output}: use a .safetensors, .pt or .pth suffix"
        )
    try:
        backbone, unused = convert_fedvssl_npz(args.checkpoint)
    except (FileNotFoundError, ValueError) as err:
        raise CommandError(str(err)) from None
    if args.output.suffix == ".safetensors":
        save_weights(backbone, args.output)
    else:
        atomic_torch_save(backbone, args.output)
    print(
        f"{args.output}: R3D-18 backbone, {len(backbone)} tensors in torchvision's "
        f"r3d_18 layout (without fc); {unused} arrays after them (the CtP head) "
        "were not converted"
    )
    return 0
