"""Metrics against hand-computed confusion matrices."""

import numpy as np
import pytest

from frd_q.metrics import METRIC_KEYS, Confusion, format_table


def test_hand_computed_case():
    pred = np.array([[1, 1, 0, 0], [1, 0, 0, 0]])
    target = np.array([[1, 0, 1, 0], [1, 0, 0, 0]])
    c = Confusion().update(pred, target)
    assert (c.tp, c.fp, c.fn, c.tn) == (2, 1, 1, 4)
    m = c.metrics()
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["recall"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 / 3)
    assert m["iou"] == pytest.approx(0.5)
    assert m["oa"] == pytest.approx(6 / 8)
    pe = (3 * 3 + 5 * 5) / 64
    assert m["kappa"] == pytest.approx((0.75 - pe) / (1 - pe))


def test_micro_accumulation_is_not_a_mean_of_ratios():
    a = Confusion().update([1, 0], [1, 0])  # perfect on a tiny pair
    b = Confusion().update([0, 0, 0, 0], [1, 1, 1, 0])  # misses everything on a larger one
    total = Confusion()
    total += a
    total += b
    assert total.metrics()["recall"] == pytest.approx(1 / 4)
    assert total.metrics()["f1"] == pytest.approx(2 / (2 + 3))


def test_valid_mask_excludes_pixels():
    c = Confusion().update([1, 1, 0], [0, 1, 1], valid=[False, True, True])
    assert (c.tp, c.fp, c.fn, c.tn) == (1, 0, 1, 0)


def test_degenerate_cases():
    none = Confusion().update(np.zeros(4), np.zeros(4)).metrics()
    assert none["f1"] == 0.0 and none["oa"] == 1.0 and none["kappa"] == 1.0
    assert Confusion().metrics() == {k: 0.0 for k in METRIC_KEYS}
    with pytest.raises(ValueError):
        Confusion().update(np.zeros(3), np.zeros(4))


def test_table_lists_rows_in_percent():
    text = format_table({"all": Confusion().update([1, 0], [1, 1]).metrics()})
    assert "all" in text and "50.00" in text and "100.00" in text
