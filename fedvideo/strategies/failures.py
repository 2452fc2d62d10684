"""Failure injection: client uploads lost in transit, for robustness experiments."""

from __future__ import annotations

import numpy as np

__all__ = ["upload_lost"]


def upload_lost(
    seed: int, server_round: int, client_key: int, probability: float
) -> bool:
    """Decide whether a client's training upload of one round is lost.

    The decision is a deterministic function of its arguments, independent for
    every (round, client) pair, so that two runs with the same seed (for
    example FedAvg and FedVSR) lose the same uploads, and a resumed run loses
    the ones the uninterrupted run would have lost.

    Parameters
    ----------
    seed : int
        The run's seed.
    server_round : int
        Round of the upload, >= 1.
    client_key : int
        A stable identifier of the client: its partition id (or its node id).
    probability : float
        Probability in [0, 1] that the upload is lost.

    Returns
    -------
    bool
        True with probability ``probability``.

    Raises
    ------
    ValueError
        If ``probability`` is outside [0, 1].
    """
    if not 0.0 <= probability <= 1.0:
        raise ValueError(f"probability must be in [0, 1], got {probability}")
    if probability == 0.0:
        return False
    # SeedSequence entropy must be non-negative: fold the signed values.
    entropy = [seed % 2**63, server_round % 2**63, client_key % 2**63]
    return bool(np.random.default_rng(entropy).random() < probability)
