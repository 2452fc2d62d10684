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

__all__ = [
    "PROXIMAL_FORMS",
    "FedProx",
    "FedProxConfig",
    "ProximalTerm",
    "proximal_form",
]


@dataclasses.dataclass(frozen=True)
class FedProxConfig:
    """Settings of FedProx (``[tool.flwr.app.config.fedprox]``)."""

    mu: float = dataclasses.field(metadata=at_least(0.0))


#: The forms of FedProx's pull towards the global model (see :func:`proximal_form`).
PROXIMAL_FORMS: tuple[str, ...] = ("coupled", "decoupled")


def proximal_form(optimizer: torch.optim.Optimizer) -> str:
    """Choose the form of FedProx's pull that works with ``optimizer``.

    SGD (with or without momentum) steps along the gradient, so the paper's
    term ``mu / 2 * ||w - w_global||^2`` in the loss pulls each weight by
    ``lr * mu * (w - w_global)`` per step: the ``"coupled"`` form. Adaptive
    optimisers (Adam, AdamW, ...) divide every gradient by its running RMS, so
    wherever the data gradient is small the tiny proximal gradient becomes a
    full-size step and the term takes over training. For them the pull is
    applied next to the optimiser's step instead, like AdamW's decoupled
    weight decay: the ``"decoupled"`` form.

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
        The client's optimiser.

    Returns
    -------
    str
        ``"coupled"`` for :class:`torch.optim.SGD`, ``"decoupled"`` otherwise.
    """
    return "coupled" if isinstance(optimizer, torch.optim.SGD) else "decoupled"


class ProximalTerm:
    """FedProx's pull towards the global weights, ``mu / 2 * ||w - w_global||^2``.

    The reference weights are copied when the term is built, which must happen
    after the global weights were loaded and before local training.

    * ``"coupled"`` (the paper's form, for SGD): calling the term returns it
      with its gradient ``mu * (w - w_global)``, which the training loop adds
      to the loss.
    * ``"decoupled"`` (for adaptive optimisers): :meth:`before_step` moves every
      weight by ``-lr * mu * (w - w_global)`` just before the optimiser's step,
      with ``lr`` the weight's parameter group's learning rate and ``w`` the
      weights that produced the step's gradient. The optimiser's own update is
      unchanged, and with plain SGD the result equals the coupled form's.
      Calling the term returns its value without a gradient, for the report.

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
    form : str
        ``"coupled"`` or ``"decoupled"`` (see :func:`proximal_form`).
    optimizer : torch.optim.Optimizer or None
        The client's optimiser; the decoupled form reads its learning rates.
    """

    name = "proximal"

    def __init__(
        self,
        model: nn.Module,
        mu: float,
        names: Iterable[str] | None = None,
        form: str = "coupled",
        optimizer: torch.optim.Optimizer | None = None,
    ) -> None:
        if mu <= 0:
            raise ValueError(f"proximal mu must be > 0, got {mu}")
        if form not in PROXIMAL_FORMS:
            raise ValueError(
                f"proximal form must be one of {PROXIMAL_FORMS}, got {form!r}"
            )
        if form == "decoupled" and optimizer is None:
            raise ValueError("the decoupled proximal form needs the optimizer")
        wanted = None if names is None else set(names)
        self.mu = mu
        self.form = form
        self.optimizer = optimizer
        self.pairs = [
            (param, param.detach().clone())
            for name, param in model.named_parameters()
            if param.requires_grad and (wanted is None or name in wanted)
        ]
        #: Constant metrics the client reports: which form ran.
        self.report = {"proximal_decoupled": float(form == "decoupled")}

    def __call__(self) -> torch.Tensor:
        """Return the term for the current weights (differentiable if coupled)."""
        with torch.set_grad_enabled(self.form == "coupled" and torch.is_grad_enabled()):
            squared = [(p.float() - ref.float()).pow(2).sum() for p, ref in self.pairs]
            return 0.5 * self.mu * torch.stack(squared).sum()

    @torch.no_grad()
    def before_step(self) -> None:
        """Apply the decoupled pull to the weights (the coupled form: nothing)."""
        if self.form == "coupled":
            return
        reference = {id(param): ref for param, ref in self.pairs}
        for group in self.optimizer.param_groups:
            for param in group["params"]:
                ref = reference.get(id(param))
                if ref is not None:
                    param.add_(param - ref, alpha=-group["lr"] * self.mu)


class FedProx(FedVideoStrategy, FlowerFedProx):
    """Flower's FedProx with fedvideo's reply validation and round reports.

    Aggregation is FedAvg's; Flower's FedProx adds ``proximal-mu`` to every
    training round's config, and :meth:`client_term` turns it into a
    :class:`ProximalTerm` over the federated parameters, in the form that suits
    the client's optimiser (:func:`proximal_form`). Clients report the term's
    mean value as ``loss_proximal`` and the form as ``proximal_decoupled``
    (1 or 0).

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
        optimizer: torch.optim.Optimizer,
    ) -> ProximalTerm | None:
        """Build the proximal term of the round's ``proximal-mu`` (None if it is 0)."""
        mu = float(round_config.get("proximal-mu", 0.0))
        if mu <= 0:
            return None
        form = proximal_form(optimizer)
        return ProximalTerm(model, mu, federated, form, optimizer)
