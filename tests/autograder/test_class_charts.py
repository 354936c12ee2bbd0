"""The class report's charts: each bar as long as its count of students, in the order given,
labelled; the histogram's bins hold the scores that fall in them."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest

from autograder.batch.class_charts import BAR_COLOR, HISTOGRAM_COLOR, bar_chart_svg, histogram_svg

NS = {"svg": "http://www.w3.org/2000/svg"}


def bars(svg: str, color: str) -> list[dict[str, float]]:
    root = ElementTree.fromstring(svg)
    found = root.iterfind(f".//svg:rect[@fill='{color}']", NS)
    return [{k: float(bar.get(k)) for k in ("x", "y", "width", "height")} for bar in found]


def texts(svg: str) -> list[str]:
    return [t.text or "" for t in ElementTree.fromstring(svg).iterfind(".//svg:text", NS)]


def test_each_bug_gets_a_bar_as_long_as_its_count_in_the_order_given() -> None:
    svg = bar_chart_svg("momentum: diagnosed bugs", [("a/most", 6), ("a/<fewer>", 3), ("a/one", 1)])
    drawn = bars(svg, BAR_COLOR)
    assert [bar["width"] / drawn[0]["width"] for bar in drawn] == pytest.approx(
        [1, 0.5, 1 / 6], abs=0.01
    )
    assert [bar["y"] for bar in drawn] == sorted(bar["y"] for bar in drawn)  # top down
    labels = texts(svg)
    assert labels.index("a/most") < labels.index("a/<fewer>") < labels.index("a/one")
    assert "momentum: diagnosed bugs" in labels and "students" in labels
    assert {"0", "2", "4", "6"} <= set(labels)  # whole numbers of students only
    assert not any("." in label for label in labels if label[0].isdigit())


def test_the_histogram_counts_the_scores_in_each_bin() -> None:
    scores = [40, 40, 40, 38, 21.5, 0, 12]  # bins of 4 points: [0, 4) 1, [12, 16) 1, ...
    drawn = bars(histogram_svg(scores, 40, 10, "score (out of 40)"), HISTOGRAM_COLOR)
    heights = {round(bar["x"]): bar["height"] for bar in drawn}
    assert len(drawn) == 4  # empty bins draw nothing
    tallest = max(heights.values())
    ordered = [heights[x] / tallest for x in sorted(heights)]
    assert ordered == pytest.approx([1 / 4, 1 / 4, 1 / 4, 1], abs=0.01)  # 0, 12, 21.5; 38 and 40s
    widths = {round(bar["width"], 1) for bar in drawn}
    assert len(widths) == 1
