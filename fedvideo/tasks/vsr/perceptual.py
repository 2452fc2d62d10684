"""LPIPS (Zhang et al., 2018), the perceptual distance FedVSR reports beside PSNR/SSIM.

:class:`LPIPS` is LPIPS v0.1 with the AlexNet trunk, the variant the ``lpips``
package uses by default: both images, scaled to [-1, 1], are shifted and
scaled per channel, passed through AlexNet's convolutional layers, the
activations after each of its five ReLU stages are normalised to unit length
along the channels, and the squared differences are weighted per channel by a
learned 1×1 convolution, averaged over space and summed over the stages.
Lower is better.

The weights come from a local file (``vsr.lpips-weights``): the ``state_dict``
of ``lpips.LPIPS(net="alex")`` (ImageNet AlexNet plus the calibrated linear
layers), written once on a machine with the ``lpips`` package (see
:func:`load_lpips`). Images are compared in float, never as 8-bit tensors.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch
from torch import Tensor, nn
from torchvision.models import alexnet

from fedvideo.fl.weights import WeightLoadReport, compare_state
from fedvideo.utils import load_weights

__all__ = ["LPIPS", "load_lpips"]

#: Indices in AlexNet's ``features`` after which LPIPS taps the activations.
_TAPS = (1, 4, 7, 9, 11)
#: Channels at those taps.
_CHANNELS = (64, 192, 384, 256, 256)
#: The ``lpips`` package's input shift and scale (its ``ScalingLayer``).
_SHIFT = (-0.030, -0.088, -0.188)
_SCALE = (0.458, 0.448, 0.450)


class LPIPS(nn.Module):
    """LPIPS v0.1 distance with the AlexNet trunk (eval mode, no gradients needed).

    The layers are those of ``lpips.LPIPS(net="alex")``; load its weights with
    :func:`load_lpips` (a fresh instance has random weights).
    """

    def __init__(self) -> None:
        super().__init__()
        self.features = alexnet().features[: _TAPS[-1] + 1]
        self.lins = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in _CHANNELS)
        self.register_buffer("shift", torch.tensor(_SHIFT).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(_SCALE).view(1, 3, 1, 1))
        self.eval()
        self.requires_grad_(False)

    def _stages(self, images: Tensor) -> list[Tensor]:
        x = (images - self.shift) / self.scale
        stages = []
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in _TAPS:
                stages.append(x / (x.square().sum(dim=1, keepdim=True).sqrt() + 1e-10))
        return stages

    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        """Distance of each image pair.

        Parameters
        ----------
        a, b : Tensor
            Images ``(N, 3, H, W)`` in [-1, 1], float (H, W at least 32).

        Returns
        -------
        Tensor
            ``(N,)`` distances.
        """
        total = torch.zeros(a.shape[0], device=a.device, dtype=torch.float32)
        for lin, fa, fb in zip(
            self.lins, self._stages(a), self._stages(b), strict=True
        ):
            total = total + lin((fa - fb).square()).mean(dim=(1, 2, 3)).float()
        return total


def _rename(key: str) -> str:
    """Map a key of ``lpips.LPIPS(net="alex")`` to :class:`LPIPS` (others kept)."""
    if match := re.fullmatch(r"net\.slice\d\.(\d+)\.(weight|bias)", key):
        return f"features.{match[1]}.{match[2]}"
    # The package registers each linear layer twice (lin<k> and lins.<k>).
    if match := re.fullmatch(r"lins?\.?(\d)\.model\.\d\.weight", key):
        return f"lins.{match[1]}.weight"
    if match := re.fullmatch(r"scaling_layer\.(shift|scale)", key):
        return match[1]
    return key


def load_lpips(path: str | Path) -> tuple[LPIPS, WeightLoadReport]:
    """Build :class:`LPIPS` with the weights of a local file.

    The file holds the ``state_dict`` of ``lpips.LPIPS(net="alex")`` (or of
    :class:`LPIPS`), as a torch or safetensors file. Write it once where the
    ``lpips`` package and the internet are available::

        import lpips, torch
        torch.save(lpips.LPIPS(net="alex").state_dict(), "lpips_alex.pth")

    Parameters
    ----------
    path : str or Path
        The weights file.

    Returns
    -------
    model : LPIPS
        The network, in eval mode.
    report : WeightLoadReport
        Every key (all loaded for a complete file).

    Raises
    ------
    FileNotFoundError
        If `path` does not exist.
    ValueError
        If the file does not hold every LPIPS weight with the right shape, or
        its input scaling differs from LPIPS v0.1's.
    """
    state = {_rename(str(k)): v for k, v in load_weights(path).items()}
    model = LPIPS()
    fitting, report = compare_state(state, model.state_dict())
    if not report.complete:
        raise ValueError(
            f"{path}: not the weights of lpips.LPIPS(net='alex'): "
            + "; ".join(report.problems())
        )
    for name in ("shift", "scale"):
        if not torch.allclose(fitting[name].float(), getattr(model, name)):
            raise ValueError(f"{path}: input {name} differs from LPIPS v0.1's")
    model.load_state_dict(fitting, strict=True)
    return model, report
