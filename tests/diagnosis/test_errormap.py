"""Where a gradient is off: the pooled grid and its words."""
from __future__ import annotations

import torch

from grader.diagnosis.errormap import MAX_CELLS, describe, error_map


def test_words_for_one_column_one_row_targets_and_everywhere():
    off = torch.zeros(32, 27, dtype=torch.bool)
    off[:, 5] = True
    assert describe(off) == "32 of 864 elements off, in column 5 only (every row)"
    off = torch.zeros(32, 27, dtype=torch.bool)
    off[3, :4] = True
    assert "in row 3 only" in describe(off)
    Yb = torch.randint(0, 27, (32,), generator=torch.Generator().manual_seed(0))
    off = torch.zeros(32, 27, dtype=torch.bool)
    off[range(32), Yb] = True
    assert "only at the target column of each row" in describe(off, Yb=Yb) and "every row" in describe(off, Yb=Yb)
    assert describe(torch.ones(4, 5, dtype=torch.bool)) == "off in every element (20 of 20)"
    assert describe(torch.zeros(4, 5, dtype=torch.bool)) == "within tolerance everywhere"


def test_rows_of_C_are_named_by_character():
    off = torch.zeros(27, 10, dtype=torch.bool)
    off[[0, 1]] = True
    text = describe(off, "C", itos={0: ".", 1: "a"})
    assert "rows 0 and 1 of C" in text and "'.'" in text and "'a'" in text


def test_the_grid_is_pooled_and_in_tolerances():
    truth = torch.zeros(64, 27, dtype=torch.float64)
    answer = truth.clone()
    answer[10, 3] = 5e-6
    grid, alt = error_map(answer.float(), truth, 1e-6)
    assert len(grid) <= MAX_CELLS and all(len(row) <= MAX_CELLS for row in grid)
    assert max(max(r) for r in grid) == 5.0 and alt.endswith("only at [10, 3] (row, column)")
    assert error_map(answer[0], truth[0], 1e-6) == ([], "")  # 1-D: no picture
    assert error_map(answer.T, truth, 1e-6) == ([], "")  # another shape: no picture
