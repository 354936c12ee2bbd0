"""The plotting helpers: each returns its own Figure with the expected artists, survives paths
that diverge to inf or nan, and leaves pyplot's global figures alone."""

import io
import math

import matplotlib
import numpy as np

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # only to check that no global figure is opened
import pytest
import torch
from matplotlib.animation import FuncAnimation
from matplotlib.figure import Figure
from torch import Tensor

from autograder.plotting import (
    Mark,
    animate_path,
    loss_curves,
    plot_paths,
    schedule_curves,
    side_by_side,
)
from autograder.problems import PROBLEMS, problem
from autograder.trajectory import run_optimizer

INF, NAN = math.inf, math.nan


def gd(x: Tensor, grad: Tensor, state: dict, *, lr: float) -> Tensor:
    return x - lr * grad


def path(*points: tuple[float, ...]) -> list[Tensor]:
    return [torch.tensor(point, dtype=torch.float64) for point in points]


def labels(figure: Figure, axes: int = 0) -> list[str]:
    return [line.get_label() for line in figure.axes[axes].get_lines()]


def line(figure: Figure, label: str):
    (found,) = [line for line in figure.axes[0].get_lines() if line.get_label() == label]
    return found


def render(figure: Figure) -> None:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=40)
    assert buffer.getvalue().startswith(b"\x89PNG")


@pytest.fixture(autouse=True)
def no_global_figures():
    before = plt.get_fignums()
    yield
    assert plt.get_fignums() == before


def test_contour_shows_the_problem_each_labelled_path_and_the_mark():
    quadratic = problem("quadratic_2d")  # f = x1² + 2 x2², gradient (2 x1, 4 x2), from (-5, -2)
    paths = {
        "gd": run_optimizer(gd, quadratic, {"lr": 0.1}),
        "fast": run_optimizer(gd, quadratic, {"lr": 0.4}),
    }
    figure = plot_paths(quadratic, paths, mark=Mark("fast", 2, "first divergence, step 2"))
    assert isinstance(figure, Figure)
    assert labels(figure) == ["minimum", "gd", "fast", "first divergence, step 2"]
    ax = figure.axes[0]
    assert ax.collections, "no contour lines drawn"
    # lr 0.4: x1 -5 -> -5 + 0.4 * 10 = -1 -> -1 + 0.4 * 2 = -0.2;
    #         x2 -2 -> -2 + 0.4 * 8 = 1.2 -> 1.2 - 0.4 * 4.8 = -0.72
    marked = line(figure, "first divergence, step 2")
    assert marked.get_xdata() == pytest.approx([-0.2])
    assert marked.get_ydata() == pytest.approx([-0.72])
    (x_low, x_high), (y_low, y_high) = ax.get_xlim(), ax.get_ylim()
    assert x_low < -5 < 0 < x_high and y_low < -2 < 0 < y_high
    assert ax.get_legend() is not None
    render(figure)


@pytest.mark.parametrize(
    ("points", "note"),
    [
        (path((-5, -2), (10, 10), (1e200, -1e200), (INF, NAN)), "leaves the plot at step 1"),
        (path((-5, -2), (-4, -1), (NAN, NAN), (NAN, NAN)), "inf/nan at step 2"),
        (path((-5, -2), (INF, -1)), "inf/nan at step 1"),
    ],
    ids=["far-then-inf", "nan", "inf"],
)
def test_a_diverging_path_is_cut_where_it_leaves_a_view_that_stays_on_the_problem(points, note):
    figure = plot_paths(problem("quadratic_2d"), {"student": points})
    assert labels(figure) == ["minimum", f"student ({note})"]
    drawn = line(figure, f"student ({note})")
    step = int(note.rsplit(" ", 1)[1])
    assert len(drawn.get_xdata()) == step + 1
    (x_low, x_high), (y_low, y_high) = figure.axes[0].get_xlim(), figure.axes[0].get_ylim()
    assert -20 < x_low < -5 and 0 < x_high < 20 and -20 < y_low < -2 and 0 < y_high < 20
    render(figure)


def test_a_mark_on_a_nan_point_is_still_in_the_legend():
    points = path((-5, -2), (NAN, NAN))
    figure = plot_paths(problem("quadratic_2d"), {"s": points}, mark=Mark("s", 1, "step 1"))
    assert "step 1" in [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    render(figure)


def test_a_mark_naming_an_unknown_path_is_refused():
    with pytest.raises(KeyError, match="reference"):
        plot_paths(problem("quadratic_2d"), {"s": path((-5, -2))}, mark=Mark("reference", 0, "x"))


def test_a_path_may_be_numpy_arrays_or_one_tensor():
    quadratic = problem("quadratic_2d")
    as_numpy = plot_paths(quadratic, {"s": [np.array([-5.0, -2.0]), np.array([-4.0, -1.2])]})
    as_tensor = plot_paths(
        quadratic, {"s": torch.tensor([[-5.0, -2.0], [-4.0, -1.2]], dtype=torch.float64)}
    )
    for figure in (as_numpy, as_tensor):
        assert list(line(figure, "s").get_xdata()) == [-5.0, -4.0]
        assert list(line(figure, "s").get_ydata()) == [-2.0, -1.2]


@pytest.mark.parametrize(
    ("points", "sizes"),
    [(path((-5, -2, 0), (-4, -1, 0)), "3"), (path((-5, -2), (-4,)), "1, 2")],
    ids=["three-coordinates", "mixed"],
)
def test_a_path_of_the_wrong_shape_is_refused_with_its_name(points, sizes):
    with pytest.raises(ValueError, match=f"'student' has points of {sizes} coordinates"):
        plot_paths(problem("quadratic_2d"), {"student": points})


def test_a_one_dimensional_path_sits_on_the_graph_of_f():
    figure = plot_paths(problem("quadratic_1d"), {"gd": path((3,), (-1.5,), (0.75,))})
    assert labels(figure) == ["f", "minimum", "gd"]
    drawn = line(figure, "gd")
    assert list(drawn.get_xdata()) == pytest.approx([3, -1.5, 0.75])
    assert list(drawn.get_ydata()) == pytest.approx([9, 2.25, 0.5625])  # f = x²
    x_low, x_high = figure.axes[0].get_xlim()
    assert x_low < -1.5 and x_high > 3
    render(figure)


def test_a_one_dimensional_divergence_keeps_the_view_near_the_start():
    # The view spans the start (3) and the minimum (0), grown by at most their span either way.
    figure = plot_paths(problem("quadratic_1d"), {"gd": path((3,), (-2,), (27,), (1e300,))})
    assert labels(figure)[-1] == "gd (leaves the plot at step 2)"
    x_low, x_high = figure.axes[0].get_xlim()
    assert -5 < x_low < -2 and 3 < x_high < 10
    render(figure)


def test_without_a_known_minimum_the_view_keeps_the_origin_in_sight():
    # The monkey saddle's flat point is the origin; the path starts at (0.5, 0.2), away from it.
    figure = plot_paths(problem("monkey_saddle"), {"s": path((0.5, 0.2), (0.6, 0.3))})
    (x_low, x_high), (y_low, y_high) = figure.axes[0].get_xlim(), figure.axes[0].get_ylim()
    assert x_low < 0 < 0.6 < x_high and y_low < 0 < 0.3 < y_high


class ItemSquare:
    """f = x² through .item(), which torch.vmap cannot batch: plotting must loop instead."""

    name = "item_square"
    minimum = (0.0,)

    def start(self, dtype=torch.float64, device="cpu"):
        return torch.tensor([2.0], dtype=dtype, device=device)

    def f(self, x):
        return torch.tensor(x.reshape(-1)[0].item() ** 2, dtype=torch.float64)


def test_a_function_that_vmap_cannot_batch_is_evaluated_point_by_point():
    figure = plot_paths(ItemSquare(), {"gd": path((2,), (-1,))})
    assert list(line(figure, "gd").get_ydata()) == [4.0, 1.0]
    assert max(line(figure, "f").get_ydata()) > 4.0


def test_paths_in_more_than_two_dimensions_are_shown_as_losses():
    quadratic = problem("random_quadratic")
    run = run_optimizer(gd, quadratic, {"lr": 0.01}, steps=5)
    figure = plot_paths(quadratic, {"gd": run})
    assert figure.axes[0].get_ylabel() == "loss"
    assert list(line(figure, "gd").get_ydata()) == pytest.approx(run.losses)


def test_loss_curves_pick_a_log_scale_for_positive_losses_spanning_decades():
    figure = loss_curves({"a": [1.0, 0.1, 0.01, 1e-3], "b": [1.0, 0.5, 0.25, 0.125]})
    assert figure.axes[0].get_yscale() == "log"
    assert labels(figure) == ["a", "b"]
    assert list(line(figure, "a").get_ydata()) == [1.0, 0.1, 0.01, 1e-3]


def test_a_loss_that_reaches_exactly_zero_keeps_the_log_scale():
    figure = loss_curves({"lr 0.5": [9.0, 0.0, 0.0], "lr 0.4": [9.0, 0.36, 0.0144, 5.76e-4]})
    assert figure.axes[0].get_yscale() == "log"
    assert figure.axes[0].get_ylim()[0] > 0
    render(figure)


@pytest.mark.parametrize(
    ("runs", "log"),
    [
        ({"saddle": [0.0, -1.0, -4.0, -9.0]}, None),
        ({"flat": [1.0, 0.9, 0.8]}, None),
        ({"asked": [1.0, 1e-3, 1e-6]}, False),
    ],
    ids=["negative", "within-two-decades", "log-refused"],
)
def test_loss_curves_stay_linear_when_a_log_scale_would_not_help(runs, log):
    assert loss_curves(runs, log=log).axes[0].get_yscale() == "linear"


def test_a_run_that_blows_up_is_cut_and_its_label_says_when():
    figure = loss_curves({"ok": [1.0, 0.5, 0.25], "lr too large": [1.0, 10.0, 1e6, INF, NAN]})
    assert labels(figure) == ["ok", "lr too large (diverges at step 2)"]
    assert len(line(figure, "lr too large (diverges at step 2)").get_ydata()) == 3
    assert figure.axes[0].get_ylim()[1] < 1e5
    render(figure)


def test_loss_curves_read_trajectories_and_mark_a_step():
    run = run_optimizer(gd, problem("quadratic_2d"), {"lr": 0.1}, steps=4)
    figure = loss_curves({"gd": run}, mark=Mark("gd", 3, "here"), ylabel="f")
    assert list(line(figure, "gd").get_ydata()) == pytest.approx(run.losses)
    assert list(line(figure, "here").get_ydata()) == pytest.approx([run.losses[3]])
    assert figure.axes[0].get_ylabel() == "f"
    with pytest.raises(KeyError, match="student"):
        loss_curves({"gd": run}, mark=Mark("student", 3, "here"))


def test_side_by_side_gives_each_optimizer_a_panel_on_the_same_view():
    quadratic = problem("elongated_quadratic")
    runs = {f"lr {lr}": run_optimizer(gd, quadratic, {"lr": lr}) for lr in (0.1, 0.4, 0.6)}
    figure = side_by_side(quadratic, runs, columns=2)
    visible = [ax for ax in figure.axes if ax.get_visible()]
    assert len(figure.axes) == 4 and len(visible) == 3
    assert [ax.get_title() for ax in visible] == ["lr 0.1", "lr 0.4", "lr 0.6"]
    assert len({ax.get_xlim() for ax in visible}) == 1
    # lr 0.6 multiplies x2 by 1 - 0.6 * 4 = -1.4: -2, 2.8, -3.92, 5.49, -7.68, 10.76; the view
    # reaches the start's and minimum's span (5) past them: x2 in [-7, 5] plus a margin.
    assert labels(figure, 2)[-1] == "lr 0.6 (leaves the plot at step 5)"
    render(figure)


def test_side_by_side_refuses_problems_it_cannot_draw():
    with pytest.raises(ValueError, match="loss_curves"):
        side_by_side(problem("random_quadratic"), {"start": [problem("random_quadratic").start()]})


def test_schedule_curves_draw_each_schedule_over_the_steps():
    schedules = {"step": [0.1, 0.1, 0.05, 0.05], "exponential": [0.1, 0.09, 0.081, 0.0729]}
    figure = schedule_curves(schedules, log=True)
    assert labels(figure) == ["step", "exponential"]
    assert list(line(figure, "exponential").get_xdata()) == [0, 1, 2, 3]
    assert list(line(figure, "exponential").get_ydata()) == [0.1, 0.09, 0.081, 0.0729]
    assert figure.axes[0].get_yscale() == "log"


@pytest.mark.parametrize(("steps", "frames"), [(30, 20), (4, 5)], ids=["long", "short"])
def test_an_animation_draws_the_path_in_at_most_the_asked_frames(steps, frames):
    quadratic = problem("quadratic_2d")
    run = run_optimizer(gd, quadratic, {"lr": 0.1}, steps=steps)
    animation = animate_path(quadratic, run, label="gd", frames=20)
    assert isinstance(animation, FuncAnimation)
    html = animation.to_jshtml()
    assert html.count("data:image/png;base64") == frames
    (drawn,) = [line for line in animation._fig.axes[0].get_lines() if line.get_label() == "gd"]
    assert list(drawn.get_xdata()) == pytest.approx([float(p[0]) for p in run.points])


@pytest.mark.parametrize("case", PROBLEMS, ids=lambda case: case.name)
def test_every_problem_of_the_suite_can_be_plotted(case):
    run = run_optimizer(gd, case, {"lr": 0.05}, steps=min(case.steps, 10))
    render(plot_paths(case, {"gd": run}, mark=Mark("gd", 1, "step 1")))
