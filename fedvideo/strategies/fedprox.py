"""FedProx: FedAvg on the server, a proximal term on the clients."""

from __future__ import annotations

from flwr.serverapp.strategy import FedProx as FlowerFedProx

from fedvideo.strategies.base import FedVideoStrategy

__all__ = ["FedProx"]


class FedProx(FedVideoStrategy, FlowerFedProx):
    """Flower's FedProx with fedvideo's reply validation and round reports.

    Aggregation is FedAvg's; Flower's FedProx adds ``proximal-mu`` to every
    training round's config, and the client adds ``mu / 2 * ||w - w_global||^2``
    over the federated parameters to its loss
    (:class:`fedvideo.training.ProximalTerm`). Clients report the term's mean
    value as ``loss_proximal``.

    Parameters
    ----------
    num_rounds : int
        Total number of rounds.
    proximal_mu : float
        Weight of the proximal term (``fedprox.mu`` in the run config).
    **fedavg_kwargs
        Passed on to Flower's FedAvg.
    """

    def __init__(self, *, num_rounds: int, proximal_mu: float, **fedavg_kwargs):
        super().__init__(
            num_rounds=num_rounds, proximal_mu=proximal_mu, **fedavg_kwargs
        )
