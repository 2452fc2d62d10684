"""Checks that decide whether a client's training reply may enter aggregation."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from flwr.app import ArrayRecord, Message, MetricRecord

__all__ = [
    "DEFAULT_LIMITS",
    "ArraySpec",
    "ReplyLimits",
    "array_specs",
    "non_finite_array",
    "reject_reason",
]

ArraySpec = tuple[tuple[int, ...], str]  # (shape, dtype)


@dataclass(frozen=True)
class ReplyLimits:
    """Largest values a sound reply may report (run config keys of the same name).

    Parameters
    ----------
    max_num_examples : int
        Upper bound of ``num-examples``: a client claiming more would dominate
        an example-weighted average.
    max_train_loss : float
        Upper bound of the training loss: a diverged client, or a lie that
        would skew loss-aware weights.
    """

    max_num_examples: int = 10_000_000
    max_train_loss: float = 1e3


#: The limits of a strategy built without run config (tests, library use).
DEFAULT_LIMITS = ReplyLimits()


def array_specs(arrays: ArrayRecord) -> dict[str, ArraySpec]:
    """Shape and dtype of every array in ``arrays`` (the reference for replies)."""
    return {key: (tuple(arr.shape), str(arr.dtype)) for key, arr in arrays.items()}


def _single(records: Mapping, kind: str) -> tuple[object | None, str | None]:
    if len(records) != 1:
        return None, f"expected exactly one {kind}, got {len(records)}"
    return next(iter(records.values())), None


def reject_reason(
    reply: Message,
    reference: Mapping[str, ArraySpec],
    loss_key: str = "train_loss",
    weight_key: str = "num-examples",
    limits: ReplyLimits = DEFAULT_LIMITS,
    check_values: bool = True,
) -> str | None:
    """Return why ``reply`` must not be aggregated, or ``None`` if it is sound.

    A reply is rejected when it carries an error, does not hold exactly one
    ArrayRecord and one MetricRecord, lacks ``loss_key`` or ``weight_key``,
    reports a loss that is not finite and positive or above
    ``limits.max_train_loss``, a number of examples that is not a positive
    integer up to ``limits.max_num_examples``, or when its arrays differ from
    the global model in keys, shapes or dtypes, or (with ``check_values``)
    contain NaN/inf. Without ``check_values`` no array is read: the caller
    checks the values where it reads them anyway (:func:`non_finite_array`).
    """
    if reply.has_error():
        return f"client error: {reply.error.reason}"
    arrays, problem = _single(reply.content.array_records, "ArrayRecord")
    if problem:
        return problem
    metrics, problem = _single(reply.content.metric_records, "MetricRecord")
    if problem:
        return problem
    assert isinstance(arrays, ArrayRecord) and isinstance(metrics, MetricRecord)

    for key in (loss_key, weight_key):
        if key not in metrics:
            return f"metric '{key}' missing"
        if isinstance(metrics[key], list):
            return f"metric '{key}' is a list, expected a number"
    loss, weight = float(metrics[loss_key]), float(metrics[weight_key])
    if not (math.isfinite(loss) and loss > 0):
        return f"'{loss_key}' = {loss} is not finite and positive"
    if not (math.isfinite(weight) and weight > 0):
        return f"'{weight_key}' = {weight} is not finite and positive"
    if loss > limits.max_train_loss:
        return (
            f"'{loss_key}' = {loss:g} exceeds max-train-loss "
            f"({limits.max_train_loss:g})"
        )
    if weight != int(weight):
        return f"'{weight_key}' = {weight} is not a whole number"
    if weight > limits.max_num_examples:
        return (
            f"'{weight_key}' = {weight:g} exceeds max-num-examples "
            f"({limits.max_num_examples})"
        )

    if set(arrays.keys()) != set(reference):
        missing = sorted(set(reference) - set(arrays.keys()))[:3]
        extra = sorted(set(arrays.keys()) - set(reference))[:3]
        return (
            "array keys differ from the global model "
            f"(missing {missing}, extra {extra})"
        )
    for key, arr in arrays.items():
        shape, dtype = reference[key]
        if (tuple(arr.shape), str(arr.dtype)) != (shape, dtype):
            return (
                f"array '{key}' is {tuple(arr.shape)} {arr.dtype}, "
                f"expected {shape} {dtype}"
            )
    return non_finite_array(arrays) if check_values else None


def non_finite_array(arrays: ArrayRecord) -> str | None:
    """Say which floating-point array holds NaN or inf (None: all finite)."""
    for key, arr in arrays.items():
        values = arr.numpy()
        if values.dtype.kind == "f" and not np.isfinite(values).all():
            return f"array '{key}' contains NaN or inf"
    return None
