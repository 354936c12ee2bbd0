"""first_divergence: silent on correct-but-reordered code, precise about the first real miss."""

from __future__ import annotations

import math

import torch

from autograder.compare import first_difference, first_divergence, relative_tolerance
from autograder.feedback import divergence_message
from autograder.results import Diagnosis
from autograder.trajectory import Trajectory


def path(points, states=None, losses=None) -> Trajectory:
    tensors = tuple(torch.tensor(p, dtype=torch.float64) for p in points)
    return Trajectory(
        points=tensors,
        losses=tuple(losses or [float((t**2).sum()) for t in tensors]),
        states=tuple(
            {k: torch.tensor(v, dtype=torch.float64) for k, v in s.items()}
            for s in (states or [{} for _ in tensors[1:]])
        ),
    )


def test_identical_paths_do_not_diverge():
    p = path([[1.0, 2.0], [0.5, 1.0], [0.25, 0.5]], [{"step": 1}, {"step": 2}])
    assert first_divergence(p, p) is None


def test_rounding_noise_passes_but_a_small_real_error_does_not():
    expected = path([[1.0, -3.0], [0.9, -2.7]])
    noisy = path([[1.0, -3.0], [0.9 * (1 + 1e-14), -2.7]])
    assert first_divergence(expected, noisy) is None
    wrong = path([[1.0, -3.0], [0.9 * (1 + 1e-6), -2.7]])
    found = first_divergence(expected, wrong)
    assert found is not None
    assert (found.step, found.quantity, found.index) == (1, "x", (0,))
    assert math.isclose(found.expected, 0.9) and math.isclose(found.got, 0.9 * (1 + 1e-6))


def test_float32_tolerance_is_looser_than_float64():
    assert relative_tolerance(torch.float32) > 1e4 * relative_tolerance(torch.float64)
    expected = path([[1.0], [0.5]])
    float32_rounding = path([[1.0], [0.5 + 1e-7]])
    assert first_divergence(expected, float32_rounding, torch.float32) is None
    assert first_divergence(expected, float32_rounding, torch.float64) is not None


def test_reports_the_first_step_and_coordinate_not_the_worst():
    expected = path([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])
    got = path([[0.0, 0.0], [1.0, 1.1], [5.0, 2.0]])
    found = first_divergence(expected, got)
    assert found is not None and (found.step, found.index) == (1, (1,))


def test_state_is_compared_and_a_missing_entry_is_named():
    expected = path([[1.0], [0.5]], [{"exp_avg": [0.1], "step": 1}])
    wrong_state = path([[1.0], [0.5]], [{"exp_avg": [0.2], "step": 1}])
    found = first_divergence(expected, wrong_state)
    assert found is not None and found.quantity == "state 'exp_avg'"
    missing = path([[1.0], [0.5]], [{"step": 1}])
    found = first_divergence(expected, missing)
    assert found is not None and found.quantity == "state 'exp_avg'"
    message = divergence_message("adam", "optimizer", found, Diagnosis(None))
    assert "after step 1, state 'exp_avg' is missing from state" in message


def test_a_state_entry_kept_on_some_steps_is_compared_at_those_steps():
    states = [{"a": [1.0]}, {"b": [2.0]}, {"b": [4.0], "a": [3.0]}]
    expected = path([[1.0], [0.5], [0.25], [0.125]], states)
    assert first_divergence(expected, path([[1.0], [0.5], [0.25], [0.125]], states)) is None
    late = [{"a": [1.0]}, {"b": [2.0]}, {"b": [4.0], "a": [3.5]}]
    found = first_divergence(expected, path([[1.0], [0.5], [0.25], [0.125]], late))
    assert found is not None and (found.step, found.quantity) == (3, "state 'a'")
    assert (found.expected, found.got) == (3.0, 3.5)


def test_nan_where_the_reference_is_finite_diverges_and_matching_nan_does_not():
    expected = path([[1.0], [2.0]], losses=[1.0, 4.0])
    assert first_divergence(expected, path([[1.0], [math.nan]], losses=[1.0, 4.0])) is not None
    blown = path([[1.0], [math.inf]], losses=[1.0, math.inf])
    assert first_divergence(blown, blown) is None


def test_a_shorter_or_reshaped_path_diverges():
    expected = path([[1.0, 1.0], [0.5, 0.5]])
    assert first_divergence(expected, path([[1.0, 1.0]])) is not None
    found = first_divergence(expected, path([[1.0, 1.0], [0.5]]))
    assert found is not None and "shape" in found.quantity


def test_a_wrong_scalar_is_found():
    """0-d values (a schedule's lr, a 0-d parameter) have no coordinates to point at."""
    assert first_divergence(path([1.0, 0.5]), path([1.0, 0.6])) is not None
    found = first_difference(torch.tensor([0.1, 0.1, 0.05]), torch.tensor([0.1, 0.1, 0.0]), "lr")
    assert found is not None and (found.step, found.index, found.got) == (2, (), 0.0)
    assert first_difference(torch.tensor([0.1, 0.2]), torch.tensor([0.1, 0.2]), "lr") is None
