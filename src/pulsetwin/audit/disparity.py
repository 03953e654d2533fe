"""Disparity audit of a flagging rule: per group of areas, flag and error rates, calibration and exposure.

An area is *flagged* when its forecast is in the top ``k`` share of areas (ties broken by area code) or above a
threshold; it is a realised *positive* when its realised count is in the top ``k`` share too, ties at the
boundary included (or above the threshold). Groups are quantile bins of an area attribute; each group's rates
are divided by those of a reference group and compared with a band (default the four-fifths rule and its
inverse, [0.8, 1.25]).

A ratio is only reported when it rests on enough data: the group and the reference group each hold at least
``min_areas`` areas, the group's rate is defined and the reference rate is above zero. Any other ratio is
*insufficient*: NaN in the table, the word ``"insufficient"`` in the JSON form, and a plain-words reason with the
area counts in :attr:`DisparityResult.insufficient`. It is never infinity and never a number resting on 1-3 areas.

A reference group with a rate of exactly 0 (the richest quarter with no resident in a flagged buurt) is the most
extreme disparity there is, so it must not vanish as "insufficient". Beside every ratio the table reports the
*difference* of the rates (``<metric>_diff``) and, for the count-based metrics, a *corrected ratio*
(``<metric>_ratio_corrected``) that adds half an area to each numerator and one area to each denominator
(a Haldane-Anscombe style small-count correction). Where the reference rate is 0 the corrected ratio is compared
with the band instead of the undefined plain ratio; :attr:`DisparityResult.corrected` lists those groups.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pulsetwin.exceptions import ParameterError, bad_parameter
from pulsetwin.schema.params import Integer, check_param

BAND = (0.8, 1.25)
METRICS = ("flag_rate", "fpr", "fdr", "fnr", "calibration", "exposure")
MIN_AREAS = 5
"""Fewest areas a group and its reference group need before their ratios are reported (policy ``min_areas``)."""
INSUFFICIENT = "insufficient"
_UNDEFINED = {
    "flag_rate": "it holds no areas",
    "fpr": "it has no realised negatives (every area is a realised hotspot)",
    "fdr": "none of its areas is flagged",
    "fnr": "it has no realised positives (no area is a realised hotspot)",
    "calibration": "no incidents were observed in it",
    "exposure": "it has no residents",
}
OUTCOME_COLUMNS = ("area_code", "forecast", "observed", "residents", "flagged", "positive")
CORRECTION = 0.5
"""Areas added to a rate's numerator (and twice as many to its denominator) in the corrected ratio."""
COUNTED = {
    "flag_rate": ("flagged", "n_areas"),
    "fpr": ("fp", "negatives"),
    "fdr": ("fp", "flagged"),
    "fnr": ("fn", "positives"),
    "exposure": ("exposed_areas", "n_areas"),
}
"""Metrics that are a count over a count (numerator, denominator columns of :func:`group_rates`); exposure is
counted in areas' worth of residents, so its correction is half an average area of the group."""


def flag(
    scores: np.ndarray, codes: np.ndarray, *, top_k: float | None, threshold: float | None
) -> np.ndarray:
    """Boolean flags: the ``ceil(top_k * n)`` highest scores (ties by code) or the scores above ``threshold``.

    Exactly one of ``top_k`` and ``threshold`` must be given.
    """
    if (top_k is None) == (threshold is None):
        raise ParameterError("Give exactly one flagging rule: top_k (a share of areas) or threshold.")
    values = np.asarray(scores, dtype=np.float64)
    if threshold is not None:
        return values > threshold
    if top_k is None or not 0.0 < top_k <= 1.0:
        raise bad_parameter("top_k", "flag", "a share in (0, 1]", top_k)
    n_flag = int(np.ceil(top_k * values.size - 1e-9))
    order = np.lexsort((np.asarray(codes, dtype=str), -values))
    out = np.zeros(values.size, dtype=bool)
    out[order[:n_flag]] = True
    return out


def realised_positive(observed: np.ndarray, *, top_k: float | None, threshold: float | None) -> np.ndarray:
    """Realised positives: counts above ``threshold``, or (top-k rule) counts at least the ``ceil(top_k * n)``-th
    largest and above zero. Ties at the boundary are all positive, so no arbitrary order (such as area codes,
    which follow geography) decides who counts as a realised hotspot."""
    values = np.asarray(observed, dtype=np.float64)
    if threshold is not None:
        return values > threshold
    if top_k is None or not 0.0 < top_k <= 1.0:
        raise bad_parameter("top_k", "realised_positive", "a share in (0, 1]", top_k)
    n_top = max(int(np.ceil(top_k * values.size - 1e-9)), 1)
    kth = np.sort(values)[::-1][n_top - 1]
    return (values >= kth) & (values > 0)


def area_outcomes(
    forecast: pd.Series,
    observed: pd.Series,
    residents: pd.Series,
    *,
    top_k: float | None = 0.1,
    threshold: float | None = None,
) -> pd.DataFrame:
    """One row per area: forecast and realised sums, residents, flagged (forecast) and positive (realised).

    Areas present in ``forecast`` are kept; a missing realised count or resident number refuses the audit.
    """
    codes = forecast.index.astype(str)
    obs = observed.reindex(forecast.index)
    res = residents.reindex(forecast.index)
    for name, series in (("observed", obs), ("residents", res)):
        if series.isna().any():
            missing = list(series.index[series.isna()][:5])
            raise ParameterError(
                f"{int(series.isna().sum())} forecast areas have no {name} value, e.g. {missing}. "
                f"Fix: supply {name} for every forecast area (residents: the policy's residents variable, "
                "by default AantalInwoners, in the covariates)."
            )
    frame = pd.DataFrame(
        {
            "area_code": np.asarray(codes),
            "forecast": forecast.to_numpy(dtype=np.float64),
            "observed": obs.to_numpy(dtype=np.float64),
            "residents": res.to_numpy(dtype=np.float64),
        }
    )
    code_array = frame["area_code"].to_numpy()
    frame["flagged"] = flag(frame["forecast"].to_numpy(), code_array, top_k=top_k, threshold=threshold)
    frame["positive"] = realised_positive(frame["observed"].to_numpy(), top_k=top_k, threshold=threshold)
    return frame


def quantile_groups(values: pd.Series, bins: int) -> pd.Series:
    """Quantile bins ``Q1 [lo, hi]`` ... of ``values`` (fewer bins when values tie); index as ``values``."""
    check_param("bins", "quantile_groups", Integer(low=2), bins)
    raw = values.to_numpy(dtype=np.float64)
    if np.unique(raw).size < 2:
        return pd.Series(f"Q1 [{raw.min():.3g}, {raw.max():.3g}]", index=values.index, name="group")
    codes, edges = pd.qcut(raw, q=bins, labels=False, retbins=True, duplicates="drop")
    labels = np.array([f"Q{i + 1} [{edges[i]:.3g}, {edges[i + 1]:.3g}]" for i in range(len(edges) - 1)])
    return pd.Series(labels[np.asarray(codes, dtype=np.int64)], index=values.index, name="group")


def _safe_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den with NaN when den is 0 (an undefined rate)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def group_rates(outcomes: pd.DataFrame, groups: pd.Series) -> pd.DataFrame:
    """Per group: counts, flag rate, FPR, FDR, FNR, calibration (forecast / observed sum) and exposure.

    Exposure is the share of the group's residents living in flagged areas. Undefined rates are NaN.
    ``groups`` is indexed by area code; areas without a group are left out.
    """
    labels = groups.reindex(outcomes["area_code"].to_numpy()).to_numpy()
    keep = pd.notna(labels)
    o = outcomes.loc[keep]
    flagged = o["flagged"].to_numpy(dtype=bool)
    positive = o["positive"].to_numpy(dtype=bool)
    residents = o["residents"].to_numpy(dtype=np.float64)
    parts = pd.DataFrame(
        {
            "group": labels[keep],
            "n_areas": 1,
            "residents": residents,
            "flagged": flagged.astype(np.int64),
            "positives": positive.astype(np.int64),
            "tp": (flagged & positive).astype(np.int64),
            "fp": (flagged & ~positive).astype(np.int64),
            "fn": (~flagged & positive).astype(np.int64),
            "negatives": (~positive).astype(np.int64),
            "forecast_sum": o["forecast"].to_numpy(dtype=np.float64),
            "observed_sum": o["observed"].to_numpy(dtype=np.float64),
            "exposed": residents * flagged,
        }
    )
    sums = parts.groupby("group", sort=True).sum()
    keep_cols = ["n_areas", "residents", "flagged", "positives", "negatives", "fp", "fn", "forecast_sum",
                 "observed_sum"]  # fmt: skip
    rates = sums[keep_cols].copy()
    rates["flag_rate"] = sums["flagged"] / sums["n_areas"]
    rates["fpr"] = _safe_ratio(sums["fp"].to_numpy(), sums["negatives"].to_numpy())
    rates["fdr"] = _safe_ratio(sums["fp"].to_numpy(), sums["flagged"].to_numpy())
    rates["fnr"] = _safe_ratio(sums["fn"].to_numpy(), sums["positives"].to_numpy())
    rates["calibration"] = _safe_ratio(sums["forecast_sum"].to_numpy(), sums["observed_sum"].to_numpy())
    rates["exposure"] = _safe_ratio(sums["exposed"].to_numpy(), sums["residents"].to_numpy())
    rates["exposed_areas"] = rates["exposure"].fillna(0.0) * rates["n_areas"]
    return rates


def reference_group(labels: pd.Index, reference: str) -> str:
    """Resolve ``"lowest"``/``"highest"`` (first/last quantile bin) or an explicit label."""
    ordered = sorted(labels, key=lambda s: int(str(s).split(" ")[0][1:]) if str(s).startswith("Q") else 0)
    if reference == "lowest":
        return str(ordered[0])
    if reference == "highest":
        return str(ordered[-1])
    if reference not in labels:
        raise bad_parameter(
            "reference", "disparity", f"'lowest', 'highest' or one of {list(labels)}", reference
        )
    return reference


def _check_min_areas(min_areas: int, owner: str) -> None:
    """Refuse a minimum group size that is not a whole number >= 1."""
    check_param("min_areas", owner, Integer(low=1), min_areas)


def disparity_ratios(rates: pd.DataFrame, reference: str, *, min_areas: int = MIN_AREAS) -> pd.DataFrame:
    """Each metric divided by the reference group's; NaN wherever :func:`insufficient_ratios` names a reason
    (too few areas, an undefined rate, a reference rate of 0), so no ratio is ever infinite."""
    _check_min_areas(min_areas, "disparity_ratios")
    values = rates[list(METRICS)].to_numpy(dtype=np.float64)
    ref = values[_position(rates, reference)]
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = values / ref
    ratio = np.where(_assessable(rates, reference, min_areas), ratio, np.nan)
    return pd.DataFrame(ratio, index=rates.index, columns=[f"{m}_ratio" for m in METRICS])


def rate_differences(rates: pd.DataFrame, reference: str, *, min_areas: int = MIN_AREAS) -> pd.DataFrame:
    """Each metric minus the reference group's (``<metric>_diff``), defined whenever both rates are defined and
    both groups hold ``min_areas`` areas: a zero reference rate gives a difference, never a gap in the table."""
    _check_min_areas(min_areas, "rate_differences")
    values = rates[list(METRICS)].to_numpy(dtype=np.float64)
    diff = values - values[_position(rates, reference)]
    return pd.DataFrame(
        np.where(_big_enough(rates, reference, min_areas)[:, None], diff, np.nan),
        index=rates.index,
        columns=[f"{m}_diff" for m in METRICS],
    )


def corrected_ratios(rates: pd.DataFrame, reference: str, *, min_areas: int = MIN_AREAS) -> pd.DataFrame:
    """Ratios of corrected rates ``(k + 0.5) / (n + 1)`` for the count-based metrics (``<metric>_ratio_corrected``).

    ``k`` and ``n`` are the numerator and denominator counts (:data:`COUNTED`); the correction keeps a ratio
    finite when the reference rate is 0, so the largest disparity is reported as a number. Defined when the
    group's plain rate is defined and both groups hold ``min_areas`` areas.

    Notes
    -----
    The half-count correction of Haldane (1956) and Anscombe (1956) for ratios of proportions with zero cells.
    """
    _check_min_areas(min_areas, "corrected_ratios")
    at = _position(rates, reference)
    big = _big_enough(rates, reference, min_areas)
    out = {}
    for metric, (num, den) in COUNTED.items():
        k = rates[num].to_numpy(dtype=np.float64)
        n = rates[den].to_numpy(dtype=np.float64)
        corrected = (k + CORRECTION) / (n + 2 * CORRECTION)
        defined = big & (n > 0) & (n[at] > 0)
        # equal plain rates are no disparity, whatever the group sizes (both 0 would otherwise differ)
        equal = k * n[at] == k[at] * n
        out[f"{metric}_ratio_corrected"] = np.where(
            defined, np.where(equal, 1.0, corrected / corrected[at]), np.nan
        )
    return pd.DataFrame(out, index=rates.index)


def _zero_reference(rates: pd.DataFrame, reference: str, min_areas: int) -> np.ndarray:
    """(groups, metrics) mask of the ratios undefined only because the reference rate is exactly 0 (the
    corrected ratio takes their place), for the count-based metrics."""
    values = rates[list(METRICS)].to_numpy(dtype=np.float64)
    at = _position(rates, reference)
    counted = np.array([m in COUNTED for m in METRICS])
    big = _big_enough(rates, reference, min_areas)
    return big[:, None] & ~np.isnan(values) & (values[at] == 0)[None, :] & counted[None, :]


def _big_enough(rates: pd.DataFrame, reference: str, min_areas: int) -> np.ndarray:
    """Per group: it and the reference group each hold at least ``min_areas`` areas."""
    n_areas = rates["n_areas"].to_numpy(dtype=np.int64)
    return (n_areas >= min_areas) & (n_areas[_position(rates, reference)] >= min_areas)


def _position(rates: pd.DataFrame, reference: str) -> int:
    """Row number of the reference group."""
    return [str(g) for g in rates.index].index(str(reference))


def _assessable(rates: pd.DataFrame, reference: str, min_areas: int) -> np.ndarray:
    """(groups, metrics) mask of the ratios that rest on enough data."""
    values = rates[list(METRICS)].to_numpy(dtype=np.float64)
    at = _position(rates, reference)
    big_enough = _big_enough(rates, reference, min_areas)
    return big_enough[:, None] & ~np.isnan(values) & (values[at] > 0)[None, :]


def insufficient_ratios(
    rates: pd.DataFrame, reference: str, *, min_areas: int = MIN_AREAS
) -> dict[str, dict[str, str]]:
    """Per metric, the groups whose ratio cannot be assessed, each with a plain-words reason and area counts.

    Reasons, first that applies: the group holds fewer than ``min_areas`` areas; the reference group does; the
    group's rate is undefined (its denominator is 0); the reference rate is undefined, or 0 for a metric without
    a corrected ratio (a count-based metric with a zero reference rate is judged by its corrected ratio).
    """
    _check_min_areas(min_areas, "insufficient_ratios")
    ok = _assessable(rates, reference, min_areas) | _zero_reference(rates, reference, min_areas)
    labels = [str(g) for g in rates.index]
    n_areas = rates["n_areas"].to_numpy(dtype=np.int64)
    at = _position(rates, reference)
    out: dict[str, dict[str, str]] = {}
    for j, metric in enumerate(METRICS):
        values = rates[metric].to_numpy(dtype=np.float64)
        reasons = {
            labels[i]: _reason(metric, labels[i], labels[at], n_areas[[i, at]], values[[i, at]], min_areas)
            for i in np.flatnonzero(~ok[:, j]).tolist()
        }
        if reasons:
            out[metric] = reasons
    return out


def _reason(
    metric: str, group: str, reference: str, n_areas: np.ndarray, rates: np.ndarray, min_areas: int
) -> str:
    """Why the ``metric`` ratio of ``group`` against ``reference`` cannot be assessed (``n_areas`` and
    ``rates`` hold the group's value, then the reference's)."""
    n, n_ref = int(n_areas[0]), int(n_areas[1])
    if n < min_areas:
        return f"{group} holds {n} areas, fewer than the {min_areas} a comparison needs (policy min_areas)"
    if n_ref < min_areas:
        return (
            f"the reference group {reference} holds {n_ref} areas, fewer than the {min_areas} a comparison "
            f"needs (policy min_areas); {group} holds {n}"
        )
    if np.isnan(rates[0]):
        return f"the {metric} of {group} ({n} areas) is undefined: {_UNDEFINED[metric]}"
    state = "undefined" if np.isnan(rates[1]) else "0"
    return (
        f"the {metric} of the reference group {reference} ({n_ref} areas) is {state}, so no ratio is defined; "
        f"{group} ({n} areas) has {metric} {rates[0]:.3g}"
    )


@dataclass(frozen=True)
class DisparityResult:
    """Group rates and ratios for one grouping, with what it was grouped by.

    ``out_of_band`` and ``insufficient`` map a metric to its groups: outside the band, or not assessable (with
    the reason). A group's ratio is in at most one of them. ``corrected`` maps a metric to the groups judged by
    their corrected ratio because the reference rate is 0.
    """

    grouping: str
    attribute: str
    detail: dict[str, Any]
    reference: str
    band: tuple[float, float]
    table: pd.DataFrame
    out_of_band: dict[str, list[str]] = field(default_factory=dict)
    insufficient: dict[str, dict[str, str]] = field(default_factory=dict)
    min_areas: int = MIN_AREAS
    corrected: dict[str, list[str]] = field(default_factory=dict)

    def judged_ratio(self, metric: str, group: str) -> float:
        """The ratio compared with the band: the plain ratio, or the corrected one where the reference rate is 0."""
        column = f"{metric}_ratio_corrected" if group in self.corrected.get(metric, []) else f"{metric}_ratio"
        return float(self.table.at[group, column])  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: NaN as None, an insufficient ratio as the word ``"insufficient"`` with its reason."""
        rows = []
        for label, row in self.table.iterrows():
            group = str(label)
            reasons = {m: r[group] for m, r in self.insufficient.items() if group in r}
            values = {k: _plain(v) for k, v in row.items()}
            values.update({f"{m}_ratio": INSUFFICIENT for m in reasons})
            rows.append({"group": group, **values, "insufficient": reasons})
        return {
            "grouping": self.grouping, "attribute": self.attribute, **self.detail, "reference": self.reference,
            "band": list(self.band), "min_areas": self.min_areas, "groups": rows, "out_of_band": self.out_of_band,
            "insufficient": self.insufficient, "corrected": self.corrected,
            "correction": f"corrected ratio: (k + {CORRECTION}) / (n + {2 * CORRECTION}) per group, k and n "
            "counted in areas (exposure: areas' worth of residents)",
        }  # fmt: skip


def _plain(value: object) -> object:
    """A JSON-safe number."""
    number = float(value)  # type: ignore[arg-type]
    if np.isnan(number):
        return None
    if np.isinf(number):
        return "inf" if number > 0 else "-inf"
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def audit_disparity(
    outcomes: pd.DataFrame,
    values: pd.Series,
    *,
    grouping: str,
    attribute: str,
    bins: int = 4,
    reference: str = "lowest",
    band: tuple[float, float] = BAND,
    detail: dict[str, Any] | None = None,
    min_areas: int = MIN_AREAS,
) -> DisparityResult:
    """Group areas by quantile bins of ``values`` and compare every group's rates with the reference group.

    Ratios resting on fewer than ``min_areas`` areas per group, or on a zero or undefined denominator, are not
    compared with the band: they are listed in ``insufficient`` with their reason.

    Notes
    -----
    Group metrics as in Aequitas (Saleiro et al. 2018) and Fairlearn's MetricFrame (Weerts et al. 2023); the
    band is the four-fifths rule (29 CFR 1607.4(D)) applied in both directions.
    """
    low, high = band
    if not 0 < low <= 1 <= high:
        raise bad_parameter("band", "audit_disparity", "(low, high) with 0 < low <= 1 <= high", band)
    groups = quantile_groups(values.dropna(), bins)
    rates = group_rates(outcomes, groups)
    ref = reference_group(rates.index, reference)
    ratios = disparity_ratios(rates, ref, min_areas=min_areas)
    fixed = corrected_ratios(rates, ref, min_areas=min_areas)
    table = rates.join(ratios).join(rate_differences(rates, ref, min_areas=min_areas)).join(fixed)
    zero_ref = _zero_reference(rates, ref, min_areas)
    out: dict[str, list[str]] = {}
    corrected: dict[str, list[str]] = {}
    for j, metric in enumerate(METRICS):
        r = ratios[f"{metric}_ratio"].to_numpy()
        if zero_ref[:, j].any():
            r = np.where(zero_ref[:, j], fixed[f"{metric}_ratio_corrected"].to_numpy(), r)
            corrected[metric] = [str(g) for g in ratios.index[zero_ref[:, j]]]
        bad = ~np.isnan(r) & ((r < low) | (r > high))
        if bad.any():
            out[metric] = [str(g) for g in ratios.index[bad]]
    missing = insufficient_ratios(rates, ref, min_areas=min_areas)
    return DisparityResult(
        grouping, attribute, dict(detail or {}), ref, (low, high), table, out, missing, min_areas, corrected
    )
