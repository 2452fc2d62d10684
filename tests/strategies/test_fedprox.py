import pytest
import torch
from flwr.app import ArrayRecord, ConfigRecord
from flwr.serverapp.strategy import FedAvg
from torch import nn

from fedvideo.config import (
    ConfigError,
    default_run_config,
)
from fedvideo.fl.task import RoundInfo
from fedvideo.fl.training import train_steps
from fedvideo.strategies import FedProx, FedVideoStrategy, FedVSR, LossAware, SWAMixed
from fedvideo.strategies.fedprox import ProximalTerm
from fedvideo.strategy import build_strategy
from fedvideo.tasks import federation_config


def test_fedprox_sends_mu_in_every_train_config(monkeypatch):
    sent = []

    def fedavg_configure_train(self, server_round, arrays, config, grid):
        sent.append(dict(config))
        return []

    monkeypatch.setattr(FedAvg, "configure_train", fedavg_configure_train)
    strategy = FedProx(num_rounds=2, proximal_mu=0.3, min_available_nodes=1)
    arrays = ArrayRecord({"w": torch.zeros(2)})
    strategy.configure_train(1, arrays, ConfigRecord({"num-rounds": 2}), grid=None)
    assert sent == [{"num-rounds": 2, "proximal-mu": 0.3}]
    assert strategy._reference  # fedvideo's reply validation is primed too


def test_build_strategy_reads_fedprox_mu():
    config = default_run_config({"strategy": "fedprox", "fedprox.mu": 0.05})
    strategy = build_strategy(federation_config(config), config)
    assert isinstance(strategy, FedProx) and strategy.proximal_mu == 0.05
    config["fedprox.mu"] = -1.0
    with pytest.raises(ConfigError, match="fedprox.mu"):
        build_strategy(federation_config(config), config)


def test_proximal_term_hand_computed_and_limited_to_named_parameters():
    model = nn.Sequential(nn.Linear(2, 1), nn.Linear(1, 1))
    term = ProximalTerm(model, mu=0.5, names=["0.weight", "0.bias"])
    assert term().item() == 0.0
    with torch.no_grad():
        model[0].weight += torch.tensor([[1.0, 2.0]])
        model[1].weight += 10.0  # not covered
    assert term().item() == pytest.approx(0.5 / 2 * (1.0 + 4.0))
    with pytest.raises(ValueError):
        ProximalTerm(model, mu=0.0)


def _train(mu: float) -> tuple[nn.Module, dict]:
    torch.manual_seed(0)
    model = nn.Linear(4, 1)
    start = [p.detach().clone() for p in model.parameters()]
    data = [{"x": torch.randn(8, 4), "y": torch.randn(8, 1)} for _ in range(20)]

    def loss_fn(m, batch):
        return nn.functional.mse_loss(m(batch["x"]), batch["y"]), {}

    proximal = ProximalTerm(model, mu) if mu > 0 else None
    result = train_steps(
        model,
        iter(data),
        20,
        loss_fn,
        torch.optim.SGD(model.parameters(), lr=0.1),
        lambda step: 0.1,
        torch.device("cpu"),
        log_every=100,
        client_term=proximal,
    )
    with torch.no_grad():
        drift = sum(
            (p - s).pow(2).sum() for p, s in zip(model.parameters(), start, strict=True)
        )
    return result, float(drift)


def test_proximal_term_is_non_zero_and_pulls_towards_the_global_model():
    plain, plain_drift = _train(0.0)
    prox, prox_drift = _train(5.0)
    assert "proximal" not in plain.mean_parts
    assert prox.mean_parts["proximal"] > 1e-4
    assert prox.metrics()["loss_proximal"] == prox.mean_parts["proximal"]
    assert prox_drift < 0.5 * plain_drift


def test_round_info_defaults_to_no_proximal_term():
    model = nn.Linear(2, 1)
    names = [name for name, _ in model.named_parameters()]
    assert RoundInfo(1, 2).config == {}
    assert FedProx.client_term(model, names, RoundInfo(1, 2).config) is None
    assert FedProx.client_term(model, names, {"proximal-mu": 0.0}) is None


def test_fedprox_client_term_covers_the_federated_parameters_only():
    model = nn.Sequential(nn.Linear(2, 1), nn.Linear(1, 1))
    term = FedProx.client_term(model, ["0.weight", "0.bias"], {"proximal-mu": 0.5})
    assert isinstance(term, ProximalTerm) and term.mu == 0.5 and term.name == "proximal"
    assert [ref.shape for _, ref in term.pairs] == [(1, 2), (1,)]


def test_strategies_without_a_client_term_add_nothing():
    model = nn.Linear(2, 1)
    for cls in (FedVideoStrategy, FedVSR, LossAware, SWAMixed):
        assert cls.client_term(model, ["weight"], {"proximal-mu": 1.0}) is None
