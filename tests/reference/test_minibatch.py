"""minibatches against torch's own shuffling: the DataLoader's index sampler and the DataLoader."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import Tensor
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, TensorDataset

from reference.minibatch import BUGS, minibatches
from tests.reference.helpers import assert_same_error
from tests.reference.torch_oracle import proves

SIZES = [
    pytest.param(n, batch_size, seed, id=f"n={n}-batch_size={batch_size}-seed{seed}")
    for seed, (n, batch_size) in enumerate(
        itertools.product([1, 7, 10, 12, 100], [1, 3, 4, 7, 10, 128])
    )
]


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def as_lists(batches: list[Tensor]) -> list[list[int]]:
    return [batch.tolist() for batch in batches]


@pytest.mark.parametrize(("n", "batch_size", "seed"), SIZES)
@proves("minibatches", "torch.utils.data.BatchSampler")
def test_matches_the_dataloaders_index_sampler(n: int, batch_size: int, seed: int) -> None:
    """DataLoader(shuffle=True, drop_last=False) batches indices with exactly this sampler."""
    sampler = BatchSampler(RandomSampler(range(n), generator=seeded(seed)), batch_size, False)
    assert as_lists(minibatches(n, batch_size, generator=seeded(seed))) == list(sampler)


@pytest.mark.parametrize(("n", "batch_size", "seed"), SIZES[::4])
def test_matches_dataloader_epochs_once_its_extra_draws_are_made(
    n: int, batch_size: int, seed: int
) -> None:
    """Each DataLoader epoch draws a worker base seed (one int64) before the permutation and a
    second, unused permutation after it; with the same draws made around it, every epoch agrees."""
    data = TensorDataset(torch.arange(n))
    loader = DataLoader(data, batch_size=batch_size, shuffle=True, generator=seeded(seed))
    generator = seeded(seed)
    for _epoch in range(3):
        expected = [batch.tolist() for (batch,) in loader]
        torch.empty((), dtype=torch.int64).random_(generator=generator)
        assert as_lists(minibatches(n, batch_size, generator=generator)) == expected
        torch.randperm(n, generator=generator)


def test_a_dataloader_epoch_is_not_the_first_permutation_of_its_generator() -> None:
    """Why the test above makes the base-seed draw: without it the two disagree."""
    loader = DataLoader(
        TensorDataset(torch.arange(10)), batch_size=3, shuffle=True, generator=seeded(0)
    )
    assert [batch.tolist() for (batch,) in loader] != as_lists(
        minibatches(10, 3, generator=seeded(0))
    )


def test_one_epoch_of_ten_in_threes_by_hand() -> None:
    """Batches of 3, 3, 3 and 1 that together hold 0..9 once each, in randperm's order."""
    batches = minibatches(10, 3, generator=seeded(7))
    assert [len(batch) for batch in batches] == [3, 3, 3, 1]
    assert torch.cat(batches).tolist() == torch.randperm(10, generator=seeded(7)).tolist()
    assert sorted(torch.cat(batches).tolist()) == list(range(10))
    assert all(batch.dtype == torch.int64 for batch in batches)


@given(n=st.integers(0, 300), batch_size=st.integers(1, 64), seed=st.integers(0, 2**31))
def test_every_example_once_in_batches_of_the_right_size(
    n: int, batch_size: int, seed: int
) -> None:
    batches = minibatches(n, batch_size, generator=seeded(seed))
    sizes = [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])
    assert [len(batch) for batch in batches] == sizes
    assert sorted(itertools.chain.from_iterable(as_lists(batches))) == list(range(n))


def test_draws_from_the_generator_it_is_given() -> None:
    generator = seeded(3)
    first, second = minibatches(50, 8, generator=generator), minibatches(50, 8, generator=generator)
    assert as_lists(first) == as_lists(minibatches(50, 8, generator=seeded(3)))
    assert as_lists(first) != as_lists(second), "the second epoch must be a new permutation"


def test_no_examples_no_batches() -> None:
    assert minibatches(0, 4, generator=seeded(0)) == []


@pytest.mark.parametrize("batch_size", [0, -1, 2.0, True], ids=repr)
def test_rejects_a_bad_batch_size_with_the_batch_samplers_message(batch_size: Any) -> None:
    assert_same_error(
        lambda: minibatches(4, batch_size, generator=seeded(0)),
        lambda: BatchSampler(range(4), batch_size, False),
    )


@pytest.mark.parametrize("n", [-1, 2.5, True], ids=repr)
def test_rejects_a_bad_number_of_examples(n: Any) -> None:
    message = f"n should be a non-negative integer value, but got n={n}"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        minibatches(n, 2, generator=seeded(0))


# ---------------------------------------------------------------- known bugs


def test_bugs_are_of_the_right_kind() -> None:
    """Hand-checkable signatures: repeats, identity order, a missing tail."""
    by_name = {bug.name: bug.run for bug in BUGS}
    drawn = torch.cat(by_name["with_replacement"](100, 10, generator=seeded(0)))
    assert len(drawn) == 100 and len(set(drawn.tolist())) < 100
    assert torch.cat(by_name["no_shuffle"](10, 3, generator=seeded(0))).tolist() == list(range(10))
    assert [len(b) for b in by_name["drop_last"](10, 3, generator=seeded(0))] == [3, 3, 3]
