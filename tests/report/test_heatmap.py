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
