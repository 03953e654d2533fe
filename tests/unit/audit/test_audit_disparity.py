"""Disparity audit: known answers, and equality with Fairlearn's MetricFrame on random inputs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, false_negative_rate, false_positive_rate, selection_rate
from hypothesis import given, settings
from hypothesis import strategies as st

from pulsetwin.audit.disparity import (
    METRICS,
    area_outcomes,
    audit_disparity,
    corrected_ratios,
    disparity_ratios,
    flag,
    group_rates,
    insufficient_ratios,
    rate_differences,
)
from pulsetwin.exceptions import ParameterError


def test_flag_top_k_breaks_ties_by_code() -> None:
    scores = np.array([5.0, 5.0, 1.0, 9.0])
    codes = np.array(["B", "A", "C", "D"])
    assert flag(scores, codes, top_k=0.5, threshold=None).tolist() == [False, True, False, True]
    assert flag(scores, codes, top_k=None, threshold=4.0).tolist() == [True, True, False, True]
    with pytest.raises(ParameterError):
        flag(scores, codes, top_k=0.1, threshold=1.0)


def _two_groups() -> tuple[pd.DataFrame, pd.Series]:
    codes = [f"BU{i:08d}" for i in range(8)]
    forecast = pd.Series([8, 7, 6, 5, 4, 3, 2, 1], index=codes, dtype=float)
    observed = pd.Series([8, 1, 6, 1, 7, 1, 1, 1], index=codes, dtype=float)
    residents = pd.Series([100, 100, 100, 100, 300, 100, 100, 100], index=codes, dtype=float)
    out = area_outcomes(forecast, observed, residents, top_k=0.25)
    values = pd.Series([0.9, 0.8, 0.7, 0.6, 0.1, 0.2, 0.3, 0.4], index=codes)
    return out, values


def test_known_answer_two_groups() -> None:
    out, values = _two_groups()
    assert out["flagged"].tolist() == [True, True] + [False] * 6
    assert out["positive"].tolist() == [True, False, False, False, True, False, False, False]
    result = audit_disparity(out, values, grouping="protected", attribute="share", bins=2, min_areas=1)
    table = result.table
    low, high = table.index
    assert table.loc[high, "flag_rate"] == pytest.approx(0.5)
    assert table.loc[high, "fdr"] == pytest.approx(0.5)
    assert table.loc[high, "exposure"] == pytest.approx(0.5)
    assert table.loc[low, "exposure"] == 0.0
    assert table.loc[low, "fnr"] == pytest.approx(1.0)
    # fnr: 1 / 0.5 -> 2 (defined); exposure: 0.5 / 0 has a zero denominator: no plain ratio, never inf ...
    assert table.loc[high, "fnr_ratio"] == pytest.approx(0.0) and table.loc[low, "fnr_ratio"] == 1.0
    assert np.isnan(table.loc[high, "exposure_ratio"]) and not np.isinf(table.to_numpy(float)).any()
    # ... but the largest disparity does not vanish: difference 0.5 and corrected ratio
    # (0.5 * 4 + 0.5) / (4 + 1) over (0 + 0.5) / (4 + 1) = 5, outside the band
    assert table.loc[high, "exposure_diff"] == pytest.approx(0.5)
    assert table.loc[high, "exposure_ratio_corrected"] == pytest.approx(5.0)
    assert table.loc[low, "exposure_ratio_corrected"] == 1.0
    assert result.judged_ratio("exposure", high) == pytest.approx(5.0)
    assert high in result.out_of_band["exposure"] and "fnr" in result.out_of_band
    assert result.corrected["exposure"] == [low, high] and "exposure" not in result.insufficient
    row = result.to_dict()["groups"][1]
    assert row["exposure_ratio"] is None and row["exposure_ratio_corrected"] == pytest.approx(5.0)


def test_zero_rates_on_both_sides_are_no_disparity() -> None:
    rates = pd.DataFrame(
        {"n_areas": [5, 10], "flagged": [0, 0], "fp": [0, 0], "fn": [1, 2], "negatives": [5, 10],
         "positives": [1, 2], "flag_rate": [0.0, 0.0], "fpr": [0.0, 0.0], "fdr": [np.nan, np.nan],
         "fnr": [1.0, 1.0], "calibration": [1.0, 1.0], "exposure": [0.0, 0.0], "exposed_areas": [0.0, 0.0]},
        index=["Q1 a", "Q2 b"],
    )  # fmt: skip
    fixed = corrected_ratios(rates, "Q2 b", min_areas=5)
    assert fixed.loc["Q1 a", "exposure_ratio_corrected"] == 1.0
    assert fixed.loc["Q1 a", "flag_rate_ratio_corrected"] == 1.0
    assert np.isnan(fixed.loc["Q1 a", "fdr_ratio_corrected"])
    assert rate_differences(rates, "Q2 b", min_areas=5).loc["Q1 a", "exposure_diff"] == 0.0


def test_groups_below_min_areas_are_insufficient_with_the_count() -> None:
    out, values = _two_groups()
    result = audit_disparity(out, values, grouping="protected", attribute="share", bins=2)
    assert result.min_areas == 5 and result.out_of_band == {}
    ratios = result.table[[c for c in result.table.columns if c.endswith("_ratio")]]
    assert ratios.isna().all().all()
    assert set(result.insufficient) == set(METRICS)
    for reasons in result.insufficient.values():
        assert all("holds 4 areas, fewer than the 5" in r for r in reasons.values())
    payload = result.to_dict()
    text = json.dumps(payload, allow_nan=False)
    assert "inf" not in text.replace("insufficient", "") and payload["min_areas"] == 5
    assert all(g[f"{m}_ratio"] == "insufficient" for g in payload["groups"] for m in METRICS)
    # the group rates themselves stay reported: they are facts, only the comparison is withheld
    assert payload["groups"][1]["exposure"] == pytest.approx(0.5)


def test_small_reference_group_and_undefined_rates_have_their_own_reason() -> None:
    rates = pd.DataFrame(
        {"n_areas": [3, 5, 5], "flag_rate": [0.3, 0.2, 0.4], "fpr": [0.1, 0.2, np.nan], "fdr": [0.1, 0.0, 0.2],
         "fnr": [0.5, 0.5, 0.5], "calibration": [1.0, 1.1, 0.9], "exposure": [0.2, 0.2, 0.1]},
        index=["Q1 a", "Q2 b", "Q3 c"],
    )  # fmt: skip
    small_ref = insufficient_ratios(rates, "Q1 a", min_areas=5)
    assert small_ref["exposure"]["Q2 b"].startswith("the reference group Q1 a holds 3 areas")
    assert small_ref["exposure"]["Q1 a"].startswith("Q1 a holds 3 areas")
    big_ref = insufficient_ratios(rates, "Q2 b", min_areas=5)
    assert "undefined: it has no realised negatives" in big_ref["fpr"]["Q3 c"]
    # the reference FDR is 0: no plain ratio, but a count-based metric is judged by its corrected ratio,
    # so only the group below min_areas stays insufficient; calibration (a ratio of sums) has no correction
    assert set(big_ref["fdr"]) == {"Q1 a"}
    zero_calibration = rates.assign(calibration=[1.0, 0.0, 0.9])
    reasons = insufficient_ratios(zero_calibration, "Q2 b", min_areas=5)["calibration"]
    assert "calibration of the reference group Q2 b (5 areas) is 0" in reasons["Q3 c"]
    ratios = disparity_ratios(rates, "Q2 b", min_areas=5)
    assert ratios.loc["Q3 c", "exposure_ratio"] == pytest.approx(0.5)
    assert ratios.loc["Q3 c", "flag_rate_ratio"] == pytest.approx(2.0)
    assert np.isnan(ratios.loc["Q1 a"]).all() and np.isnan(ratios["fdr_ratio"]).all()
    with pytest.raises(ParameterError, match="min_areas"):
        disparity_ratios(rates, "Q2 b", min_areas=0)


@settings(max_examples=25, deadline=None)
@given(
    st.integers(min_value=10, max_value=80).flatmap(
        lambda n: st.tuples(
            st.lists(st.integers(0, 20), min_size=n, max_size=n),
            st.lists(st.integers(0, 20), min_size=n, max_size=n),
            st.lists(st.floats(0, 1, allow_nan=False), min_size=n, max_size=n),
            st.integers(1, 8),
        )
    )
)
def test_sufficient_ratios_are_the_plain_quotient_and_every_other_is_explained(
    data: tuple[list[int], list[int], list[float], int],
) -> None:
    fc, obs, attr, min_areas = data
    codes = [f"BU{i:08d}" for i in range(len(fc))]
    outcomes = area_outcomes(
        pd.Series(fc, index=codes, dtype=float), pd.Series(obs, index=codes, dtype=float),
        pd.Series(100.0, index=codes), top_k=0.2,
    )  # fmt: skip
    result = audit_disparity(
        outcomes, pd.Series(attr, index=codes), grouping="g", attribute="a", bins=3, min_areas=min_areas
    )
    table = result.table
    ref = table.loc[result.reference]
    for metric in METRICS:
        ratio = table[f"{metric}_ratio"].to_numpy()
        missing = result.insufficient.get(metric, {})
        fixed = result.corrected.get(metric, [])
        defined = ~table.index.isin([*missing, *fixed])
        assert np.isnan(ratio[~defined]).all() and np.isfinite(ratio[defined]).all()
        # where a ratio is reported it is exactly the old quotient of the rates
        np.testing.assert_array_equal(ratio[defined], table[metric].to_numpy()[defined] / ref[metric])
        sufficient = (table["n_areas"] >= min_areas) & (ref["n_areas"] >= min_areas)
        expected_defined = sufficient & table[metric].notna() & (ref[metric] > 0)
        np.testing.assert_array_equal(defined, expected_defined.to_numpy())
        # a zero reference rate never hides a group: it is judged by a finite corrected ratio
        zero = sufficient & table[metric].notna() & (ref[metric] == 0) & (metric != "calibration")
        assert sorted(fixed) == sorted(table.index[zero.to_numpy()])
        assert all(np.isfinite(result.judged_ratio(metric, g)) for g in fixed)


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
    for metric in ("flag_rate", "fpr", "fdr", "fnr", "exposure"):
        expected = theirs[metric] / ref[metric]
        got = ours[f"{metric}_ratio"]
        judged = [*result.insufficient.get(metric, {}), *result.corrected.get(metric, [])]
        reported = ~ours.index.isin(judged)
        np.testing.assert_allclose(got.to_numpy()[reported], expected.to_numpy()[reported], rtol=1e-12)
        assert np.isfinite(got.to_numpy()[reported]).all() and np.isnan(got.to_numpy()[~reported]).all()


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
