"""The error map as an embedded PNG."""
from __future__ import annotations

import base64
import io

from PIL import Image

from grader.report.heatmap import heatmap_uri
from grader.results import CheckResult


def test_a_map_becomes_a_png_data_uri():
    check = CheckResult("W2", "fail", shape=[64, 27], error_map=[[0.0, 5.0, 1e6], [0.5, 0.2, 3.0]])
    uri = heatmap_uri(check)
    assert uri.startswith("data:image/png;base64,")
    with Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))) as image:
        assert 150 < image.size[0] < 500 and 100 < image.size[1] < 400


def test_no_map_no_picture():
    assert heatmap_uri(CheckResult("W2", "fail")) == ""
    assert heatmap_uri(CheckResult("W2", "fail", error_map=[[1.0], [1.0, 2.0]])) == ""  # ragged
    assert heatmap_uri(CheckResult("W2", "fail", error_map=[["x"]])) == ""


def test_a_batch_draws_a_result_s_maps_as_it_arrives_and_its_scorecard_reuses_them():
    """grader/course/batch.py draws a result's maps while the jobs grade the others; the scorecard written
    at the end gets the same picture from the cache, not a second drawing."""
    from grader.course.classreport import draw_heatmaps
    from grader.report import heatmap
    from grader.results import ExerciseResult, SubmissionResult

    check = CheckResult("hpreact", "fail", shape=[32, 64], error_map=[[0.0, 7.0, 2.0], [1.5, 0.25, 9.0]])
    result = SubmissionResult("s.ipynb", [ExerciseResult(1, "one by one", [check, CheckResult("W2", "pass")])])
    before = heatmap._png.cache_info()
    draw_heatmaps(result.to_dict())
    drawn = heatmap._png.cache_info()
    assert drawn.misses == before.misses + 1  # one map drawn; the passing check has none
    back = SubmissionResult.from_dict(result.to_dict()).exercises[0].checks[0]
    assert heatmap_uri(back) == heatmap_uri(check) and heatmap._png.cache_info().misses == drawn.misses
    draw_heatmaps({"exercises": [{"checks": [{"error_map": [["x"]]}]}]})  # unusable: nothing drawn, nothing raised
