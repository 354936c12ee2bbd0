"""The index batches of one epoch of minibatch SGD, as torch's shuffling batch sampler cuts them."""

from __future__ import annotations

import functools

import torch
from torch import Tensor

from reference.known_bug import KnownBug, branch

__all__ = ["BUGS", "minibatches"]


def minibatches(n: int, batch_size: int, *, generator: torch.Generator) -> list[Tensor]:
    """The index batches of one epoch: a random permutation of 0..n−1 cut in order.

    Algorithm:

        π ← torch.randperm(n, generator=generator)
        batches ← π[0:B], π[B:2B], ..., π[kB:n]      (B = batch_size; the last may be shorter)

    Arguments: n ≥ 0 examples, batch_size ≥ 1, generator (a seeded torch.Generator; the
    permutation is drawn on its device). Returns ⌈n / B⌉ int64 tensors ([] when n = 0).

    Conventions: one permutation per call, drawn without replacement; the last partial batch is
    kept (drop_last=False). The batches equal those of the DataLoader's index sampler,
    `BatchSampler(RandomSampler(data, generator=g), B, drop_last=False)`, for the same
    generator state. Iterating a `DataLoader(shuffle=True, generator=g)` itself first draws one
    int64 from g (its workers' base seed), and the RandomSampler draws a second, unused
    permutation when exhausted, so a DataLoader's epochs are this function's only when the
    generator is advanced the same way.
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise ValueError(f"n should be a non-negative integer value, but got n={n}")
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
        raise ValueError(
            f"batch_size should be a positive integer value, but got batch_size={batch_size}"
        )
    return _minibatches(n, batch_size, generator=generator)


def _minibatches(
    n: int, batch_size: int, *, generator: torch.Generator, bug: str | None = None
) -> list[Tensor]:
    """The epoch's batches; `bug` selects a known student mistake."""
    if n == 0:
        return []
    if bug == "with_replacement":
        order = torch.randint(n, (n,), generator=generator, device=generator.device)
    elif bug == "no_shuffle":
        order = torch.arange(n, device=generator.device)
    else:
        order = torch.randperm(n, generator=generator, device=generator.device)
    batches = list(torch.split(order, batch_size))
    if bug == "drop_last" and n % batch_size:
        return batches[:-1]
    return batches


_bug = functools.partial(branch, "minibatches", _minibatches)

BUGS: tuple[KnownBug, ...] = (
    _bug(
        "with_replacement",
        "Draws n random indices with replacement, so some examples repeat and others are missed.",
        "Re-read `perm = randperm(n)`: is every example seen once per epoch?",
    ),
    _bug(
        "no_shuffle",
        "Cuts the examples in their stored order instead of a random permutation.",
        "Re-read `torch.randperm(n, generator=generator)`: where does the order come from?",
    ),
    _bug(
        "drop_last",
        "Drops the last batch when it is shorter than batch_size.",
        "Re-read `batches = [perm[0 : b], perm[b : 2b], ..., perm[kb : n]]`: what happens to the "
        "last, shorter batch?",
    ),
)
