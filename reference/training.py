"""The training loop of minibatch SGD with a learning-rate schedule, as torch's loops write it."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor
from torch.nn.functional import binary_cross_entropy_with_logits

from reference.known_bug import KnownBug, branch

__all__ = ["BUGS", "train"]


def train(
    model: torch.nn.Module,
    data: tuple[Tensor, Tensor],
    optimizer: torch.optim.Optimizer,
    *,
    epochs: int,
    batch_size: int,
    schedule: Callable[..., float] | None = None,
    schedule_kwargs: Mapping[str, Any] | None = None,
    generator: torch.Generator,
) -> list[float]:
    """Train `model` on `data` = (features, labels) for `epochs` epochs of minibatches.

    Algorithm (t counts minibatches over the whole run, from 0):

        t ← 0
        for epoch = 0, ..., epochs − 1:
            π ← torch.randperm(n, generator=generator)
            for each batch B of π cut in order into pieces of batch_size (the last shorter):
                if schedule: lr of every param group ← schedule(t, **schedule_kwargs)
                zero the gradients
                ℓ ← mean over i ∈ B of BCE-with-logits(model(features[B])_i, labels[B]_i)
                backpropagate ℓ;  optimizer.step()
                record ℓ as a Python float;  t ← t + 1

    Returns the recorded losses, epochs · ⌈n / batch_size⌉ of them, in order.

    Conventions: a fresh permutation per epoch, from `generator` only; the learning rate of
    step t is set before that step, as a torch scheduler stepped after every minibatch gives;
    the loss is the batch mean (reduction="mean"), recorded before the step.
    """
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 0:
        raise ValueError(f"epochs should be a non-negative integer value, but got {epochs}")
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
        raise ValueError(
            f"batch_size should be a positive integer value, but got batch_size={batch_size}"
        )
    return _train(
        model, data, optimizer, epochs=epochs, batch_size=batch_size, schedule=schedule,
        schedule_kwargs=schedule_kwargs, generator=generator,
    )  # fmt: skip


def _set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def _train(
    model: torch.nn.Module,
    data: tuple[Tensor, Tensor],
    optimizer: torch.optim.Optimizer,
    *,
    epochs: int,
    batch_size: int,
    schedule: Callable[..., float] | None = None,
    schedule_kwargs: Mapping[str, Any] | None = None,
    generator: torch.Generator,
    bug: str | None = None,
) -> list[float]:
    """The training loop; `bug` selects a known student mistake."""
    features, labels = data
    n = len(labels)
    kwargs = dict(schedule_kwargs or {})
    once = torch.randperm(n, generator=generator) if bug == "no_reshuffle" else None
    losses: list[float] = []
    t = 0
    for epoch in range(epochs):
        if once is not None:
            order = once
        elif bug == "global_rng":
            order = torch.randperm(n)
        else:
            order = torch.randperm(n, generator=generator)
        for start in range(0, n, batch_size):
            batch = order[start : start + batch_size]
            if schedule is not None and bug != "schedule_after_step":
                if bug == "schedule_per_epoch":
                    _set_lr(optimizer, schedule(epoch, **kwargs))
                elif bug == "schedule_counts_from_one":
                    _set_lr(optimizer, schedule(t + 1, **kwargs))
                else:
                    _set_lr(optimizer, schedule(t, **kwargs))
            if bug != "no_zero_grad":
                optimizer.zero_grad()
            reduction = "sum" if bug == "summed_loss" else "mean"
            loss = binary_cross_entropy_with_logits(
                model(features[batch]), labels[batch], reduction=reduction
            )
            torch.autograd.backward(loss)
            optimizer.step()
            if schedule is not None and bug == "schedule_after_step":
                _set_lr(optimizer, schedule(t, **kwargs))
            losses.append(loss.item())
            t += 1
    return losses


_bug = functools.partial(branch, "train", _train)

BUGS: tuple[KnownBug, ...] = (
    _bug(
        "no_zero_grad",
        "Never zeroes the gradients, so each step uses the sum of all gradients so far.",
        "Re-read `optimizer.zero_grad()`: what does backward() do to a .grad that holds the "
        "previous batch's gradient?",
    ),
    _bug(
        "schedule_after_step",
        "Sets the scheduled learning rate after optimizer.step(), so each step uses the "
        "previous step's value.",
        'Re-read the order of `group["lr"] ← schedule(t, **schedule_kwargs), for every group of` '
        "and `ℓ.backward();  optimizer.step()`: which learning rate does step t use?",
    ),
    _bug(
        "schedule_counts_from_one",
        "Counts the steps from 1 when asking the schedule, so step t uses schedule(t + 1).",
        "Re-read `t ← 0` and `record ℓ.item();  t ← t + 1`: where does t start, and when does it "
        "grow?",
    ),
    _bug(
        "schedule_per_epoch",
        "Asks the schedule with the epoch number instead of the minibatch count.",
        "Re-read `minibatches trained so far in the whole run (0 at the first one, not reset by an "
        "epoch)`: what does t count?",
    ),
    _bug(
        "summed_loss",
        "Sums the per-example losses of a batch instead of averaging them.",
        "Re-read `(the mean)` after `binary_cross_entropy_with_logits(model(features[B]), "
        "labels[B])`: which reduction does the loss use?",
    ),
    _bug(
        "no_reshuffle",
        "Draws one permutation before the first epoch and reuses it in every epoch.",
        "Re-read where `π ← torch.randperm(n, generator=generator)` sits: once per run, or once "
        "per epoch?",
    ),
    _bug(
        "global_rng",
        "Draws the permutation from torch's global generator instead of the one it is given.",
        "Re-read `π ← torch.randperm(n, generator=generator)`: which generator?",
    ),
)
