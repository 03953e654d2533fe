"""Disparity audit: known answers, and equality with Fairlearn's MetricFrame on random inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, false_negative_rate, false_positive_rate, selection_rate
from hypothesis import given, settings
from hypothesis import strategies as st

from pulsetwin.audit.disparity import area_outcomes, audit_disparity, flag, group_rates
from pulsetwin.exceptions import ParameterError


def test_flag_top_k_breaks_ties_by_code() -> None:
    scores = np.array([5.0, 5.0, 1.0, 9.0])
    codes = np.array(["B", "A", "C", "D"])
    assert flag(scores, codes, top_k=0.5, threshold=None).tolist() == [False, True, False, True]
    assert flag(scores, codes, top_k=None, threshold=4.0).tolist() == [True, True, False, True]
    with pytest.raises(ParameterError):
        flag(scores, codes, top_k=0.1, threshold=1.0)


def test_known_answer_two_groups() -> None:
    codes = [f"BU{i:08d}" for i in range(8)]
    forecast = pd.Series([8, 7, 6, 5, 4, 3, 2, 1], index=codes, dtype=float)
    observed = pd.Series([8, 1, 6, 1, 7, 1, 1, 1], index=codes, dtype=float)
    residents = pd.Series([100, 100, 100, 100, 300, 100, 100, 100], index=codes, dtype=float)
    out = area_outcomes(forecast, observed, residents, top_k=0.25)
    assert out["flagged"].tolist() == [True, True] + [False] * 6
    assert out["positive"].tolist() == [True, False, False, False, True, False, False, False]
    values = pd.Series([0.9, 0.8, 0.7, 0.6, 0.1, 0.2, 0.3, 0.4], index=codes)
    result = audit_disparity(out, values, grouping="protected", attribute="share", bins=2)
    table = result.table
    high = table.index[1]
    assert table.loc[high, "flag_rate"] == pytest.approx(0.5)
    assert table.loc[high, "fdr"] == pytest.approx(0.5)
    assert table.loc[high, "exposure"] == pytest.approx(0.5)
    assert table.loc[table.index[0], "exposure"] == 0.0
    assert table.loc[high, "exposure_ratio"] == np.inf
    assert table.loc[table.index[0], "fnr"] == pytest.approx(1.0)
    assert "exposure" in result.out_of_band


def _fdr(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    flagged = y_pred.astype(bool)
    return float((flagged & ~y_true.astype(bool)).sum() / flagged.sum()) if flagged.any() else float("nan")


@settings(max_examples=30, deadline=None)
@given(
    st.integers(min_value=6, max_value=60).flatmap(
        lambda n: st.tuples(
            st.lists(st.integers(0, 20), min_size=n, max_size=n),
            st.lists(st.integers(0, 20), min_size=n, max_size=n),
            st.lists(st.integers(5, 5000), min_size=n, max_size=n),
            st.lists(st.floats(0, 1, allow_nan=False), min_size=n, max_size=n),
            st.sampled_from([0.1, 0.2, 0.33, 0.5]),
        )
    )
)
def test_equals_fairlearn_metricframe(
    data: tuple[list[int], list[int], list[int], list[float], float],
) -> None:
    fc, obs, res, attr, top_k = data
    codes = [f"BU{i:08d}" for i in range(len(fc))]
    outcomes = area_outcomes(
        pd.Series(fc, index=codes, dtype=float), pd.Series(obs, index=codes, dtype=float),
        pd.Series(res, index=codes, dtype=float), top_k=top_k,
    )  # fmt: skip
    values = pd.Series(attr, index=codes)
    result = audit_disparity(outcomes, values, grouping="protected", attribute="a", bins=3)
    from pulsetwin.audit.disparity import quantile_groups

    groups = quantile_groups(values, 3).to_numpy()
    y_true = outcomes["positive"].to_numpy().astype(int)
    y_pred = outcomes["flagged"].to_numpy().astype(int)
    frame = MetricFrame(
        metrics={
            "flag_rate": lambda t, p: selection_rate(t, p, pos_label=1),
            "fpr": lambda t, p: false_positive_rate(t, p, pos_label=1),
            "fnr": lambda t, p: false_negative_rate(t, p, pos_label=1),
            "fdr": _fdr,
            "exposure": selection_rate,
        },
        y_true=y_true, y_pred=y_pred, sensitive_features=pd.Series(groups, name="group"),
        sample_params={"exposure": {"sample_weight": outcomes["residents"].to_numpy()}},
    )  # fmt: skip
    calib = MetricFrame(
        metrics=lambda t, p: float(np.sum(p) / np.sum(t)) if np.sum(t) > 0 else float("nan"),
        y_true=outcomes["observed"].to_numpy(), y_pred=outcomes["forecast"].to_numpy(),
        sensitive_features=pd.Series(groups, name="group"),
    )  # fmt: skip
    ours = result.table
    theirs = frame.by_group
    for metric in ("flag_rate", "fdr", "exposure"):
        np.testing.assert_allclose(ours[metric].to_numpy(), theirs[metric].to_numpy(), rtol=1e-12)
    negatives = group_rates(outcomes, pd.Series(groups, index=codes))
    for metric, denominator in (("fpr", negatives["n_areas"] - negatives["positives"]),
                                ("fnr", negatives["positives"])):  # fmt: skip
        defined = denominator.to_numpy() > 0
        np.testing.assert_allclose(ours[metric].to_numpy()[defined], theirs[metric].to_numpy()[defined])
        assert np.isnan(ours[metric].to_numpy()[~defined]).all()
    np.testing.assert_allclose(
        ours["calibration"].to_numpy(), calib.by_group.to_numpy(dtype=float), rtol=1e-12
    )
    ref = ours.loc[result.reference]
    for metric in ("flag_rate", "exposure"):
        expected = theirs[metric] / ref[metric]
        got = ours[f"{metric}_ratio"]
        finite = np.isfinite(expected.to_numpy()) & (ref[metric] > 0)
        np.testing.assert_allclose(got.to_numpy()[finite], expected.to_numpy()[finite], rtol=1e-12)


def test_realised_positives_include_boundary_ties() -> None:
    from pulsetwin.audit.disparity import realised_positive

    observed = np.array([5.0, 3.0, 3.0, 3.0, 0.0, 0.0])
    assert realised_positive(observed, top_k=0.3, threshold=None).tolist() == [
        True,
        True,
        True,
        True,
        False,
        False,
    ]
    assert not realised_positive(np.zeros(5), top_k=0.2, threshold=None).any()
