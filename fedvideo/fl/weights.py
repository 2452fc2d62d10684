"""How a checkpoint's tensors fit a model: the report every weight loader gives.

The task packages read published checkpoints in their own layouts (SpyNet and
whole VSR models from BasicSR, MAE / ViT backbones, FedVSSL backbones); all of
them compare the file's tensors with the model's with :func:`compare_state` and
report the outcome as a :class:`WeightLoadReport`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import torch

__all__ = ["WeightLoadReport", "compare_state"]


@dataclass
class WeightLoadReport:
    """What a weight loader did with each key.

    Every model key is in exactly one of ``loaded``, ``missing`` and
    ``mismatched``.

    Parameters
    ----------
    loaded : list of str
        Model keys that received a tensor.
    missing : list of str
        Model keys not in the file (left at their initial value).
    unexpected : list of str
        File keys with no model key.
    mismatched : list of str
        Keys in both with different shapes, as ``"key: file (a, b) vs model (c, d)"``.
    ignored : list of str
        File keys the loader knows and skips on purpose (e.g. buffers that
        fedvideo computes instead of storing).
    """

    loaded: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Whether every model key was loaded and every file key was used or known."""
        return not (self.missing or self.unexpected or self.mismatched)

    def problems(self, shown: int = 5) -> list[str]:
        """Why the file does not fit, one phrase per non-empty list (for errors).

        Parameters
        ----------
        shown : int
            Names shown per list (3 for the longer shape mismatches).

        Returns
        -------
        list of str
            E.g. ``["missing keys: a, b", "mismatched shapes: c: file (1,) vs
            model (2,)"]``; empty when the file fits.
        """

        def first(names: list[str], limit: int) -> str:
            more = f", ... ({len(names)} in all)" if len(names) > limit else ""
            return ", ".join(names[:limit]) + more

        phrases = []
        if self.missing:
            phrases.append(f"missing keys: {first(self.missing, shown)}")
        if self.unexpected:
            phrases.append(f"unexpected keys: {first(self.unexpected, shown)}")
        if self.mismatched:
            phrases.append(
                f"mismatched shapes: {first(self.mismatched, min(shown, 3))}"
            )
        return phrases

    def summary(self, shown: int = 5) -> str:
        """Readable multi-line report with counts and the first names of each list.

        Parameters
        ----------
        shown : int
            Names shown per list.

        Returns
        -------
        str
            The report.
        """
        lines = [
            f"loaded {len(self.loaded)}, missing {len(self.missing)}, "
            f"unexpected {len(self.unexpected)}, mismatched {len(self.mismatched)}"
            + (f", ignored {len(self.ignored)}" if self.ignored else "")
        ]
        for title, names in (
            ("loaded", self.loaded),
            ("missing", self.missing),
            ("unexpected", self.unexpected),
            ("mismatched", self.mismatched),
            ("ignored", self.ignored),
        ):
            if names:
                more = f", … (+{len(names) - shown})" if len(names) > shown else ""
                lines.append(
                    f"  {title} ({len(names)}): {', '.join(names[:shown])}{more}"
                )
        return "\n".join(lines)


def compare_state(
    given: Mapping[str, object], expected: Mapping[str, torch.Tensor]
) -> tuple[dict[str, torch.Tensor], WeightLoadReport]:
    """Match a file's tensors to a model's state dict, key by key.

    Parameters
    ----------
    given : Mapping[str, object]
        The file's entries (after unwrapping and renaming); entries that are
        not tensors count as unexpected.
    expected : Mapping[str, Tensor]
        The model's ``state_dict()``.

    Returns
    -------
    fitting : dict[str, Tensor]
        The file's tensors whose key and shape fit the model.
    report : WeightLoadReport
        Loaded, missing, unexpected and mismatched keys (``ignored`` empty).
    """
    report = WeightLoadReport()
    fitting: dict[str, torch.Tensor] = {}
    for key, value in given.items():
        if key not in expected or not isinstance(value, torch.Tensor):
            report.unexpected.append(key)
        elif value.shape != expected[key].shape:
            report.mismatched.append(
                f"{key}: file {tuple(value.shape)} vs model "
                f"{tuple(expected[key].shape)}"
            )
        else:
            fitting[key] = value
    mismatched = {entry.split(":", 1)[0] for entry in report.mismatched}
    for key in expected:
        if key in fitting:
            report.loaded.append(key)
        elif key not in mismatched:
            report.missing.append(key)
    return fitting, report
