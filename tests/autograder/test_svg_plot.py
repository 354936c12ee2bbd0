"""The report's SVG plots: well-formed documents whose ticks tell the truth, with every path,
the minimum and the mark where the data puts them, paths that leave the view cut at its
border, losses on a log scale, and every problem of the suite drawable."""

from __future__ import annotations

import math
import re
from xml.etree import ElementTree

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import Tensor

from autograder.plot_geometry import Mark
from autograder.problems import PROBLEMS, problem
from autograder.reports.svg import ticks
from autograder.reports.svg_plot import COLORS, iterate_svg, paths_svg
from autograder.trajectory import run_optimizer

NS = {"svg": "http://www.w3.org/2000/svg"}
REFERENCE, STUDENT = COLORS[:2]
NAN = math.nan


def gd(x: Tensor, grad: Tensor, state: dict, *, lr: float) -> Tensor:
    return x - lr * grad


def parse(svg: str) -> ElementTree.Element:
    root = ElementTree.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return root


def texts(root: ElementTree.Element) -> list[str]:
    return [text.text or "" for text in root.iterfind(".//svg:text", NS)]


def dots(root: ElementTree.Element, color: str) -> np.ndarray:
    """The pixel centres of the dots of the path drawn in `color`."""
    (group,) = root.iterfind(f".//svg:g[@fill='{color}']", NS)
    return np.array([(float(c.get("cx")), float(c.get("cy"))) for c in group])


def polylines(root: ElementTree.Element, color: str) -> list[np.ndarray]:
    found = root.iterfind(f".//svg:polyline[@stroke='{color}']", NS)
    return [np.array([p.split(",") for p in line.get("points").split()], float) for line in found]


def cross_centre(root: ElementTree.Element) -> tuple[float, float]:
    """The centre of the red X (its path starts 5 px up and left of it)."""
    cross = next(root.iterfind(".//svg:path[@stroke='red']", NS))  # the plot's, then the legend's
    x, y = map(float, re.match(r"M([-\d.]+),([-\d.]+)", cross.get("d")).groups())
    return x + 5, y + 5


def tick_labels(root: ElementTree.Element, anchor: str) -> list[tuple[float, float]]:
    """(label's value, its pixel position) of the x axis ('middle', below the frame) or the y
    axis ('end')."""
    found = []
    for text in root.iterfind(f".//svg:text[@text-anchor='{anchor}']", NS):
        if re.fullmatch(r"-?[\d.]+(e[-+]?\d+)?", text.text or ""):
            coordinate = text.get("x") if anchor == "middle" else text.get("y")
            found.append((float(text.text), float(coordinate)))
    return found


def pixel_map(data: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """The affine map (slope, offset) per axis that takes the data to the pixels."""
    return np.array([np.polyfit(data[:, axis], pixels[:, axis], 1) for axis in (0, 1)])


def test_paths_show_the_contours_both_paths_the_minimum_and_the_mark_where_the_data_puts_them():
    quadratic = problem("quadratic_2d")  # f = x1² + 2 x2², minimum (0, 0), from (-5, -2)
    reference = run_optimizer(gd, quadratic, {"lr": 0.1}, steps=8)
    student = run_optimizer(gd, quadratic, {"lr": 0.3}, steps=8)
    paths = {"reference": reference.points, "your code": student.points}
    arrays = {label: np.stack([p.numpy() for p in points]) for label, points in paths.items()}
    root = parse(paths_svg(quadratic, arrays, title="quadratic_2d", mark=Mark("your code", 2, "X")))
    labels = texts(root)
    assert labels.index("minimum") < labels.index("reference") < labels.index("your code")
    assert "X" in labels and "quadratic_2d" in labels
    contours = root.iterfind(".//svg:polyline[@stroke-opacity='0.7']", NS)
    assert len(list(contours)) >= 10
    student_dots = dots(root, STUDENT)
    assert len(student_dots) == len(arrays["your code"]) == 9
    slope = pixel_map(arrays["your code"], student_dots)
    to_pixels = lambda point: slope[:, 0] * np.asarray(point) + slope[:, 1]  # noqa: E731
    assert dots(root, REFERENCE) == pytest.approx(
        np.stack([to_pixels(p) for p in arrays["reference"]]), abs=0.1
    )
    assert cross_centre(root) == pytest.approx(tuple(to_pixels(arrays["your code"][2])), abs=0.1)
    star = next(root.iterfind(".//svg:polygon", NS))  # the plot's, then the legend's
    corners = np.array([p.split(",") for p in star.get("points").split()], float)
    assert corners.mean(axis=0) == pytest.approx(to_pixels((0.0, 0.0)), abs=0.5)
    for value, x in tick_labels(root, "middle"):  # each tick label sits where its value is
        assert x == pytest.approx(to_pixels((value, 0.0))[0], abs=0.15)
    for value, y in tick_labels(root, "end"):
        assert y - 3.5 == pytest.approx(to_pixels((0.0, value))[1], abs=0.15)


@pytest.mark.parametrize(
    ("last", "note"),
    [((1e30, 1e30), "leaves the plot at step 2"), ((NAN, NAN), "inf/nan at step 2")],
    ids=["far away", "nan"],
)
def test_a_path_that_leaves_the_view_stops_at_its_border_and_its_label_says_when(last, note):
    points = np.array([(-5.0, -2.0), (-4.0, -1.0), last])
    svg = paths_svg(problem("quadratic_2d"), {"your code": points}, title="t", mark=None)
    root = parse(svg)
    assert f"your code ({note})" in texts(root)
    drawn = [line.get("points") for line in root.iterfind(".//svg:polyline", NS)]
    drawn += [c.get(k) for c in root.iterfind(".//svg:circle[@cx]", NS) for k in ("cx", "cy")]
    numbers = [float(n) for text in drawn for n in re.split("[ ,]", text)]
    assert all(-20 <= n <= 470 for n in numbers), "a coordinate far outside the image"
    (line,) = polylines(root, COLORS[0])
    (frame,) = [r for r in root.iterfind("svg:rect", NS) if r.get("stroke") == "black"]
    right, top = float(frame.get("x")) + float(frame.get("width")), float(frame.get("y"))
    if math.isfinite(last[0]):  # it runs on to the border, up and right
        assert line[-1, 0] == pytest.approx(right, abs=0.1) or line[-1, 1] == pytest.approx(
            top, abs=0.1
        )
    else:
        assert len(line) == 2


def test_losses_of_a_problem_with_more_coordinates_span_decades_on_a_log_scale():
    case = problem("random_quadratic")  # 50 coordinates, f = 0 at the minimum
    start = case.start(torch.float64, "cpu").reshape(-1).numpy()
    minimum = np.asarray(case.minimum, dtype=np.float64).reshape(-1)
    paths = {"reference": np.stack([minimum + (start - minimum) * 0.5**k for k in range(30)])}
    root = parse(paths_svg(case, paths, title="random_quadratic", mark=None))
    decades = tick_labels(root, "end")
    assert len(decades) >= 3
    assert all(math.log10(value) == round(math.log10(value)) for value, _ in decades)
    heights = [y for _, y in sorted(decades)]
    assert heights == sorted(heights, reverse=True)  # larger losses higher up
    assert "step" in texts(root) and "loss" in texts(root)


def test_an_iterate_that_turns_nan_breaks_its_line_and_the_mark_sits_on_it():
    paths = {"reference": [3.0, 2.4, 1.9, 1.5], "your code": [3.0, NAN, 1.0, 0.5]}
    root = parse(iterate_svg(paths, title="quadratic_1d", mark=Mark("your code", 3, "X")))
    (line,) = polylines(root, STUDENT)  # steps 2 and 3; step 0 stands alone, as a dot
    assert len(line) == 2
    assert len(dots(root, STUDENT)) == 3
    assert cross_centre(root) == pytest.approx(tuple(line[-1]), abs=0.1)


def test_a_mark_on_a_nan_value_is_named_in_the_legend_and_not_drawn():
    points = np.array([(-5.0, -2.0), (NAN, NAN)])
    mark = Mark("your code", 1, "first divergence (step 1)")
    root = parse(paths_svg(problem("quadratic_2d"), {"your code": points}, title="t", mark=mark))
    assert "first divergence (step 1)" in texts(root)
    assert all("nan" not in (p.get("d") or "") for p in root.iterfind(".//svg:path", NS))


def test_more_paths_than_colours_are_all_drawn():
    paths = {f"run {k}": [3.0 - k, 2.0 - k, 1.0 - k] for k in range(len(COLORS) + 2)}
    root = parse(iterate_svg(paths, title="t", mark=None))
    assert all(f"run {k}" in texts(root) for k in range(len(paths)))
    assert len(list(root.iterfind(".//svg:polyline", NS))) == len(paths)


def test_text_from_the_grading_run_is_escaped():
    root = parse(iterate_svg({"a <b> & c": [1.0, 2.0]}, title="<script>", mark=None))
    assert "<script>" in texts(root) and "a <b> & c" in texts(root)


def test_a_mark_on_no_path_and_points_of_the_wrong_size_are_refused():
    quadratic = problem("quadratic_2d")
    with pytest.raises(KeyError, match="reference"):
        paths_svg(quadratic, {"s": np.zeros((2, 2))}, title="t", mark=Mark("reference", 0, "x"))
    with pytest.raises(ValueError, match="3 coordinates"):
        paths_svg(quadratic, {"s": np.zeros((2, 3))}, title="t", mark=None)


@given(low=st.floats(-1e12, 1e12), relative_span=st.floats(2e-9, 1e6))
def test_tick_labels_are_round_distinct_and_within_the_limits(
    low: float, relative_span: float
) -> None:
    span = relative_span * max(abs(low), 1.0)  # what the plot leaves between its limits
    high = low + span
    found = ticks(low, high)
    assert 2 <= len(found) <= 7
    values = [value for value, _ in found]
    assert (
        values == sorted(values)
        and low - 1e-9 * span <= values[0]
        and values[-1] <= high + 1e-9 * span
    )
    step = (values[-1] - values[0]) / (len(values) - 1)
    assert len({label for _, label in found}) == len(found)
    assert all(float(label) == pytest.approx(value, abs=step / 4) for value, label in found)


@pytest.mark.parametrize("case", PROBLEMS, ids=lambda case: case.name)
def test_every_problem_of_the_suite_can_be_drawn(case):
    run = run_optimizer(gd, case, {"lr": 0.05}, steps=min(case.steps, 10))
    points = np.stack([p.reshape(-1).numpy() for p in run.points])
    if points.shape[1] == 1:
        svg = iterate_svg({"gd": list(points[:, 0])}, title=case.name, mark=Mark("gd", 1, "1"))
    else:
        svg = paths_svg(case, {"gd": points}, title=case.name, mark=Mark("gd", 1, "step 1"))
    assert case.name in texts(parse(svg))
