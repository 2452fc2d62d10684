"""A client's round of local training, which every task uses.

:func:`local_round` composes the round: the strategy's client-side term, the
task's :class:`~fedvideo.fl.task.LocalTraining` and :func:`train_steps`, the
loop itself (steps, learning rate, AMP, progress lines).
"""

from __future__ import annotations

import contextlib
import itertools
import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from logging import INFO
from typing import Any, Protocol

import torch
from flwr.app import RecordDict
from flwr.common.logger import log
from torch import nn
from torch.utils.data import DataLoader, Dataset

from fedvideo.fl.client_info import ClientInfo
from fedvideo.fl.task import LossFn, RoundInfo, Task, TrainResult
from fedvideo.fl.threads import AdaptiveThreads, adaptive_threads

__all__ = [
    "ClientTerm",
    "ClientTermHook",
    "LocalTrainResult",
    "autocast_for",
    "epoch_batches",
    "local_round",
    "shuffled_loader",
    "train_steps",
    "update_norm",
]


@dataclass
class LocalTrainResult:
    """Summary of one client's local training in one round."""

    mean_loss: float
    steps: int
    num_examples: int
    seconds: float
    mean_parts: dict[str, float] = field(default_factory=dict)
    term_report: dict[str, float] = field(default_factory=dict)
    mean_threads: float | None = None

    def metrics(self) -> dict[str, float]:
        """Metrics a client reports: ``loss_<part>`` per part, seconds, steps.

        A strategy's client term adds its own (e.g. ``proximal_decoupled``);
        adaptive threads add the mean thread count over the steps (``threads``).
        """
        parts = {f"loss_{name}": value for name, value in self.mean_parts.items()}
        steps = {"train_seconds": self.seconds, "steps": float(self.steps)}
        threads = {} if self.mean_threads is None else {"threads": self.mean_threads}
        return {**parts, **steps, **self.term_report, **threads}


class ClientTerm(Protocol):
    """A strategy's term in its clients' objective (FedProx's proximal term).

    Built by the strategy's ``client_term`` hook
    (:meth:`fedvideo.strategies.base.FedVideoStrategy.client_term`) once the
    global weights are loaded. Every step, :func:`train_steps` adds its value to
    the loss (it acts through the gradient when that value has one), reports its
    mean as ``loss_<name>``, and calls :meth:`before_step` just before the
    optimiser's step (for a term that acts on the weights directly).
    """

    name: str
    #: Constant metrics the client reports with the term (e.g. its form).
    report: Mapping[str, float]

    def __call__(self) -> torch.Tensor:
        """Return the term for the current weights."""
        ...

    def before_step(self) -> None:
        """Act on the weights just before the optimiser's step, if at all."""
        ...


#: ``hook(model, federated_names, round_config, optimizer) -> ClientTerm | None``:
#: a strategy's client side, given the model with the global weights, the names
#: of its federated tensors, the strategy's configuration of the round and the
#: optimiser of local training.
ClientTermHook = Callable[
    [nn.Module, Iterable[str], Mapping[str, Any], torch.optim.Optimizer],
    "ClientTerm | None",
]


def autocast_for(
    device: torch.device, enabled: bool
) -> contextlib.AbstractContextManager:
    """Mixed-precision context: bfloat16 (or float16) autocast on CUDA, else no-op."""
    if not enabled or device.type != "cuda":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.autocast(device_type="cuda", dtype=dtype)


def shuffled_loader(
    dataset: Dataset, batch_size: int, seed: int, device: torch.device
) -> DataLoader:
    """Seeded, shuffled loader of full batches (batch capped at the dataset size)."""
    return DataLoader(
        dataset,
        batch_size=min(batch_size, len(dataset)),
        shuffle=True,
        drop_last=True,
        generator=torch.Generator().manual_seed(seed),
        pin_memory=device.type == "cuda",
    )


def epoch_batches(loader: DataLoader) -> Iterator[Mapping[str, torch.Tensor]]:
    """Batches of endless epochs; datasets with ``set_epoch`` draw new samples."""
    for epoch in itertools.count():
        set_epoch = getattr(loader.dataset, "set_epoch", None)
        if set_epoch is not None:
            set_epoch(epoch)
        yield from loader


def _to_device(value: object, device: torch.device) -> object:
    """Move tensors, also inside dicts, lists and tuples, to ``device``."""
    if isinstance(value, torch.Tensor):
        return value.to(device, non_blocking=True)
    if isinstance(value, Mapping):
        return {k: _to_device(v, device) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_to_device(v, device) for v in value)
    return value


def _batch_size(value: object) -> int:
    """Length of the first tensor of a (nested) batch."""
    if isinstance(value, torch.Tensor):
        return len(value)
    items = value.values() if isinstance(value, Mapping) else value
    return _batch_size(next(iter(items)))


def train_steps(
    model: nn.Module,
    batches: Iterator[Mapping[str, torch.Tensor]],
    num_steps: int,
    loss_fn: LossFn,
    optimizer: torch.optim.Optimizer,
    lr_at: Callable[[int], float],
    device: torch.device,
    amp: bool = True,
    log_every: int = 10,
    description: str = "train",
    grad_clip: float | None = None,
    client_term: ClientTerm | None = None,
    threads: AdaptiveThreads | None = None,
) -> LocalTrainResult:
    """Run ``num_steps`` optimisation steps and return the mean loss.

    Parameters
    ----------
    model : nn.Module
        Model on ``device``, put in train mode here.
    batches : Iterator[Mapping[str, Tensor]]
        Yields at least ``num_steps`` batches: dicts of tensors (first dim =
        batch) or of lists of such tensors (e.g. one per input resolution).
    num_steps : int
        Optimisation steps to run.
    loss_fn : callable
        ``loss_fn(model, batch) -> (loss, parts)``; ``parts`` maps names of loss
        components to floats, averaged over steps in the result.
    optimizer : torch.optim.Optimizer
        Optimiser over the model's trainable parameters.
    lr_at : callable
        Learning rate for a local step (0-based); set before each step, times
        a parameter group's ``"lr_scale"`` if it has one (layer-wise decay).
    device : torch.device
        Where to train.
    amp : bool
        Use mixed precision on CUDA (ignored on CPU).
    log_every : int
        Log a progress line every this many steps (and at the last step).
    description : str
        Prefix of the progress lines (e.g. the client name).
    grad_clip : float, optional
        Clip the gradient norm to this value.
    client_term : ClientTerm, optional
        A strategy's term, added to every step's loss; its mean value is
        reported as the part named ``client_term.name`` (the reported loss
        excludes it).
    threads : AdaptiveThreads, optional
        Updated before every step so that the thread count follows the cores
        other processes leave free (``thread-policy = "adaptive"``); its mean
        over the steps is reported.

    Returns
    -------
    LocalTrainResult
        Mean loss over all steps, number of steps and examples, wall seconds.

    Raises
    ------
    FloatingPointError
        If the loss becomes NaN or infinite.
    """
    if num_steps < 1:
        raise ValueError(f"num_steps must be >= 1, got {num_steps}")
    model.train()
    use_scaler = amp and device.type == "cuda" and not torch.cuda.is_bf16_supported()
    scaler = torch.amp.GradScaler("cuda", enabled=use_scaler)
    total_loss, num_examples = 0.0, 0
    part_sums: dict[str, float] = {}
    thread_sum = 0
    start = time.perf_counter()
    for step in range(num_steps):
        if threads is not None:
            thread_sum += threads.update()
        batch = _to_device(next(batches), device)
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step) * group.get("lr_scale", 1.0)
        optimizer.zero_grad(set_to_none=True)
        with autocast_for(device, amp):
            loss, parts = loss_fn(model, batch)
        loss_value = float(loss.detach())
        if not math.isfinite(loss_value):
            raise FloatingPointError(
                f"{description}: loss is {loss_value} at local step {step + 1}"
            )
        if client_term is not None:
            term = client_term()
            parts = {**parts, client_term.name: float(term.detach())}
            loss = loss + term
        scaler.scale(loss).backward()
        if grad_clip is not None:
            scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        if client_term is not None:
            client_term.before_step()
        scaler.step(optimizer)
        scaler.update()

        total_loss += loss_value
        num_examples += _batch_size(batch)
        for name, value in parts.items():
            part_sums[name] = part_sums.get(name, 0.0) + float(value)
        if (step + 1) % log_every == 0 or step + 1 == num_steps:
            elapsed = time.perf_counter() - start
            log(
                INFO,
                "%s: step %d/%d  loss %.5f (mean %.5f)  lr %.2e  %.2f s/step",
                description,
                step + 1,
                num_steps,
                loss_value,
                total_loss / (step + 1),
                lr_at(step),
                elapsed / (step + 1),
            )
    return LocalTrainResult(
        mean_loss=total_loss / num_steps,
        steps=num_steps,
        num_examples=num_examples,
        seconds=time.perf_counter() - start,
        mean_parts={k: v / num_steps for k, v in part_sums.items()},
        term_report=dict(client_term.report) if client_term is not None else {},
        mean_threads=thread_sum / num_steps if threads is not None else None,
    )


def local_round(
    task: Task,
    model: nn.Module,
    client: ClientInfo,
    round_info: RoundInfo,
    device: torch.device,
    local_state: RecordDict,
    client_term: ClientTermHook | None = None,
) -> TrainResult:
    """Run one client's round of local training and return its report.

    Parameters
    ----------
    task : Task
        The learning task; it sets up the round (:meth:`Task.local_training`).
    model : nn.Module
        The model on ``device``, holding the global weights.
    client : ClientInfo
        Which data the client holds.
    round_info : RoundInfo
        The round, and the strategy's configuration of it.
    device : torch.device
        Where to train.
    local_state : RecordDict
        The client's persistent Flower context state.
    client_term : ClientTermHook, optional
        The strategy's client-side hook
        (:meth:`~fedvideo.strategies.base.FedVideoStrategy.client_term`);
        None: no term.

    Returns
    -------
    TrainResult
        Examples, mean loss and the metrics of the loop and of the task.
    """
    start = _float_tensors(task.global_state(model))
    seed = task.seed_round(client, round_info)
    plan = task.local_training(model, client, round_info, seed, device, local_state)
    term = None
    if client_term is not None:
        term = client_term(model, start, round_info.config, plan.optimizer)
    federation = task.federation
    with adaptive_threads(federation.thread_policy, device) as threads:
        result = train_steps(
            model,
            plan.batches,
            plan.num_steps,
            plan.loss_fn,
            plan.optimizer,
            plan.lr_at,
            device,
            amp=federation.amp,
            log_every=federation.log_every,
            description=task.progress_label(client, round_info),
            grad_clip=plan.grad_clip,
            client_term=term,
            threads=threads,
        )
    if plan.finish is not None:
        plan.finish()
    drift = {"update_norm": update_norm(start, task.global_state(model))}
    return TrainResult(
        num_examples=plan.num_examples,
        train_loss=result.mean_loss,
        metrics={**result.metrics(), **drift, **plan.metrics},
    )


def _float_tensors(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Copy the floating-point tensors of ``state`` (the trainable weights)."""
    return {k: v.detach().clone() for k, v in state.items() if v.is_floating_point()}


def update_norm(
    start: Mapping[str, torch.Tensor], end: Mapping[str, torch.Tensor]
) -> float:
    """Return the L2 norm of a client's update, ``||w_end - w_start||``.

    The norm runs over ``start``'s keys.

    Parameters
    ----------
    start : Mapping[str, Tensor]
        The federated floating-point tensors before local training (the global
        model).
    end : Mapping[str, Tensor]
        The same tensors after local training.

    Returns
    -------
    float
        ``sqrt(sum over tensors of ||end - start||^2)``, in float64.
    """
    squared = sum(
        float((end[k].detach().double() - v.double()).pow(2).sum())
        for k, v in start.items()
    )
    return math.sqrt(squared)
