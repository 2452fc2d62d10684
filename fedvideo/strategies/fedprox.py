"""FedProx: FedAvg on the server, a proximal term on the clients."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

import torch
from flwr.serverapp.strategy import FedProx as FlowerFedProx
from torch import nn

from fedvideo.config import at_least, parse_section
from fedvideo.strategies.base import FedVideoStrategy

__all__ = ["FedProx", "FedProxConfig", "ProximalTerm"]


@dataclasses.dataclass(frozen=True)
class FedProxConfig:
    """Settings of FedProx (``[tool.flwr.app.config.fedprox]``)."""

    mu: float = dataclasses.field(metadata=at_least(0.0))


class ProximalTerm:
    """FedProx's proximal term ``mu / 2 * ||w - w_global||^2``.

    The reference weights are copied when the term is built, which must happen
    right after the global weights were loaded and before local training.

    Parameters
    ----------
    model : nn.Module
        The model about to be trained, holding the global weights.
    mu : float
        Weight of the term (FedProx's ``proximal_mu``), > 0.
    names : Iterable[str] or None
        Names of the parameters the term covers, by default every trainable
        parameter; the strategy passes the federated tensors so that weights
        that stay on the client are not pulled anywhere.
    """

    name = "proximal"

    def __init__(
        self, model: nn.Module, mu: float, names: Iterable[str] | None = None
    ) -> None:
        if mu <= 0:
            raise ValueError(f"proximal mu must be > 0, got {mu}")
        wanted = None if names is None else set(names)
        self.mu = mu
        self.pairs = [
            (param, param.detach().clone())
            for name, param in model.named_parameters()
            if param.requires_grad and (wanted is None or name in wanted)
        ]

    def __call__(self) -> torch.Tensor:
        """Return the term for the current weights (differentiable)."""
        squared = [(p.float() - ref.float()).pow(2).sum() for p, ref in self.pairs]
        return 0.5 * self.mu * torch.stack(squared).sum()


class FedProx(FedVideoStrategy, FlowerFedProx):
    """Flower's FedProx with fedvideo's reply validation and round reports.

    Aggregation is FedAvg's; Flower's FedProx adds ``proximal-mu`` to every
    training round's config, and :meth:`client_term` turns it into a
    :class:`ProximalTerm` over the federated parameters, which the clients add
    to their loss. Clients report the term's mean value as ``loss_proximal``.

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

    @classmethod
    def method_options(cls, run_config: Mapping[str, Any]) -> dict[str, Any]:
        """Read ``proximal_mu`` from ``fedprox.mu``."""
        return {"proximal_mu": parse_section(run_config, FedProxConfig, "fedprox").mu}

    @classmethod
    def client_term(
        cls,
        model: nn.Module,
        federated: Iterable[str],
        round_config: Mapping[str, Any],
    ) -> ProximalTerm | None:
        """Build the proximal term of the round's ``proximal-mu`` (None if it is 0)."""
        mu = float(round_config.get("proximal-mu", 0.0))
        return ProximalTerm(model, mu, federated) if mu > 0 else None
