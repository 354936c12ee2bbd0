"""The oracle harness itself must catch a wrong optimizer, or every exactness test is void."""

import pytest
import torch

from tests.reference.torch_oracle import assert_matches_torch


def plain_sgd(x, grad, state, *, lr=1e-3):
    return x - lr * grad


def sgd_off_by_a_little(x, grad, state, *, lr=1e-3):
    return x - lr * (1 + 1e-8) * grad


def sgd_that_writes_in_place(x, grad, state, *, lr=1e-3):
    return x.sub_(lr * grad)


def test_accepts_an_exact_optimizer():
    assert_matches_torch(plain_sgd, torch.optim.SGD, {"lr": 0.1}, shape=(3,), seed=0)


@pytest.mark.parametrize("wrong", [sgd_off_by_a_little, sgd_that_writes_in_place])
def test_rejects_a_wrong_optimizer(wrong):
    with pytest.raises(AssertionError):
        assert_matches_torch(wrong, torch.optim.SGD, {"lr": 0.1}, shape=(3,), seed=0)


def test_rejects_missing_state():
    """SGD with momentum equals plain SGD on step 1, so only the state check can catch it."""
    with pytest.raises(AssertionError, match="momentum_buffer"):
        assert_matches_torch(
            plain_sgd,
            torch.optim.SGD,
            {"lr": 0.1},
            shape=(3,),
            seed=0,
            torch_hyperparameters={"lr": 0.1, "momentum": 0.5},
        )
