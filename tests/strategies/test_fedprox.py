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
from fedvideo.strategies.fedprox import ProximalTerm, proximal_form
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
    sgd = torch.optim.SGD(model.parameters(), lr=0.1)
    assert FedProx.client_term(model, names, RoundInfo(1, 2).config, sgd) is None
    assert FedProx.client_term(model, names, {"proximal-mu": 0.0}, sgd) is None


def test_fedprox_client_term_covers_the_federated_parameters_only():
    model = nn.Sequential(nn.Linear(2, 1), nn.Linear(1, 1))
    sgd = torch.optim.SGD(model.parameters(), lr=0.1)
    names = ["0.weight", "0.bias"]
    term = FedProx.client_term(model, names, {"proximal-mu": 0.5}, sgd)
    assert isinstance(term, ProximalTerm) and term.mu == 0.5 and term.name == "proximal"
    assert [ref.shape for _, ref in term.pairs] == [(1, 2), (1,)]
    assert term.form == "coupled" and term.report == {"proximal_decoupled": 0.0}
    adam = torch.optim.Adam(model.parameters(), lr=0.1)
    term = FedProx.client_term(model, names, {"proximal-mu": 0.5}, adam)
    assert term.form == "decoupled" and term.report == {"proximal_decoupled": 1.0}


def test_strategies_without_a_client_term_add_nothing():
    model = nn.Linear(2, 1)
    for cls in (FedVideoStrategy, FedVSR, LossAware, SWAMixed):
        sgd = torch.optim.SGD(model.parameters(), lr=0.1)
        assert cls.client_term(model, ["weight"], {"proximal-mu": 1.0}, sgd) is None


def test_proximal_form_follows_the_optimizer():
    params = list(nn.Linear(2, 1).parameters())
    assert proximal_form(torch.optim.SGD(params, lr=0.1)) == "coupled"
    assert proximal_form(torch.optim.SGD(params, lr=0.1, momentum=0.9)) == "coupled"
    assert proximal_form(torch.optim.Adam(params)) == "decoupled"
    assert proximal_form(torch.optim.AdamW(params)) == "decoupled"
    model = nn.Linear(2, 1)
    with pytest.raises(ValueError, match="optimizer"):
        ProximalTerm(model, 0.1, form="decoupled")
    with pytest.raises(ValueError, match="form"):
        ProximalTerm(model, 0.1, form="sideways")


def _moved_model(seed: int = 0) -> tuple[nn.Linear, list[torch.Tensor], dict]:
    """A model, its global weights, and a batch, with the model moved away."""
    torch.manual_seed(seed)
    model = nn.Linear(3, 2)
    global_weights = [p.detach().clone() for p in model.parameters()]
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p))
    batch = {"x": torch.randn(5, 3), "y": torch.randn(5, 2)}
    return model, global_weights, batch


def _step(model, optimizer, batch, term=None) -> list[torch.Tensor]:
    """One step on the batch's MSE, with ``term`` applied in its form."""
    optimizer.zero_grad()
    loss = nn.functional.mse_loss(model(batch["x"]), batch["y"])
    if term is not None:
        loss = loss + term()
    loss.backward()
    if term is not None:
        term.before_step()
    optimizer.step()
    return [p.detach().clone() for p in model.parameters()]


def _global_model(model: nn.Linear, weights: list[torch.Tensor]) -> nn.Linear:
    """A copy of ``model`` holding ``weights`` (the reference of the term)."""
    copy = nn.Linear(3, 2)
    with torch.no_grad():
        for p, w in zip(copy.parameters(), weights, strict=True):
            p.copy_(w)
    return copy


def _term(model, global_weights, form, optimizer, mu=0.7) -> ProximalTerm:
    term = ProximalTerm(model, mu, form=form, optimizer=optimizer)
    term.pairs = [  # reference = the global weights, not the moved ones
        (p, w) for (p, _), w in zip(term.pairs, global_weights, strict=True)
    ]
    return term


def test_with_plain_sgd_both_forms_take_the_same_step():
    lr = 0.05
    after = {}
    for form in ("coupled", "decoupled"):
        model, global_weights, batch = _moved_model()
        sgd = torch.optim.SGD(model.parameters(), lr=lr)
        after[form] = _step(model, sgd, batch, _term(model, global_weights, form, sgd))
    for coupled, decoupled in zip(after["coupled"], after["decoupled"], strict=True):
        torch.testing.assert_close(coupled, decoupled, rtol=0, atol=1e-6)


def test_with_adam_the_decoupled_pull_adds_exactly_lr_mu_offset():
    lr, mu = 0.01, 0.7
    model, global_weights, batch = _moved_model()
    before = [p.detach().clone() for p in model.parameters()]
    plain = _step(model, torch.optim.Adam(model.parameters(), lr=lr), batch)
    model, global_weights, batch = _moved_model()
    adam = torch.optim.Adam(model.parameters(), lr=lr)
    term = _term(model, global_weights, "decoupled", adam, mu)
    pulled = _step(model, adam, batch, term)
    for w, w_global, a, b in zip(before, global_weights, plain, pulled, strict=True):
        torch.testing.assert_close(b - a, -lr * mu * (w - w_global), rtol=0, atol=1e-6)
    assert not term().requires_grad  # reported only, not in the gradient


def _flat(tensors) -> torch.Tensor:
    return torch.cat([t.flatten() for t in tensors])


def test_under_adam_the_coupled_term_is_rescaled_and_the_decoupled_is_not():
    """Adam's per-weight rescaling turns a tiny proximal gradient into a full step.

    With no data gradient, the coupled term's gradient mu * (w - w_g) is the only
    one, and Adam's first step moves every weight by about lr whatever mu is. The
    decoupled pull moves it by lr * mu * |w - w_g|.
    """
    lr, mu = 0.01, 1e-4
    for form in ("coupled", "decoupled"):
        model, global_weights, _ = _moved_model()
        before = [p.detach().clone() for p in model.parameters()]
        adam = torch.optim.Adam(model.parameters(), lr=lr)
        term = _term(model, global_weights, form, adam, mu)
        adam.zero_grad()
        if form == "coupled":
            term().backward()
        term.before_step()
        adam.step()
        moved = (_flat(model.parameters()) - _flat(before)).abs().detach()
        offsets = (_flat(before) - _flat(global_weights)).abs()
        if form == "coupled":  # about lr, although mu * offset is ~1e-4
            expected, rtol, atol = torch.full_like(moved, lr), 1e-3, 0.0
        else:  # lr * mu * offset ~ 1e-6, to the float32 rounding of weights ~ 1
            expected, rtol, atol = lr * mu * offsets, 0.0, 1e-7
        torch.testing.assert_close(moved, expected, rtol=rtol, atol=atol)
