"""Proxy detection: known answers for R² and permutation importance; features see only the past."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pulsetwin.audit.bias_scenario import lum_isaac_scenario
from pulsetwin.audit.proxies import model_features, permutation_drops, proxy_strength
from pulsetwin.exceptions import ParameterError


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        rng.normal(size=(n, 4)), columns=["a", "b", "c", "d"], index=[f"BU{i:08d}" for i in range(n)]
    )


def test_permutation_drops_point_at_the_informative_column() -> None:
    from sklearn.linear_model import LinearRegression

    x = _frame(200, 0).to_numpy()
    y = 3 * x[:, 1] + 0.1 * np.random.default_rng(1).normal(size=200)
    model = LinearRegression().fit(x, y)
    drops = permutation_drops(model, x, y, repeats=5, rng=np.random.default_rng(2))
    assert np.argmax(drops) == 1 and drops[1] > 1.5
    assert np.abs(np.delete(drops, 1)).max() < 0.01


def test_proxy_strength_known_answers() -> None:
    features = _frame(150, 3)
    rng = np.random.default_rng(4)
    carried = pd.Series(features["c"] * 0.5 + 0.05 * rng.normal(size=150), index=features.index)
    independent = pd.Series(rng.normal(size=150), index=features.index)
    strong = proxy_strength(features, carried, attribute="carried", folds=3, repeats=2, seed=0)
    weak = proxy_strength(features, independent, attribute="independent", folds=3, repeats=2, seed=0)
    assert strong.r2 > 0.9 and strong.importance.index[0] == "c"
    assert weak.r2 < 0.1
    assert strong.to_dict(2)["top_features"][0]["feature"] == "c"
    with pytest.raises(ParameterError, match="at least"):
        proxy_strength(features.head(5), carried, attribute="x", folds=3)


def test_model_features_ignore_the_future() -> None:
    incidents = lum_isaac_scenario(n_areas=30, n_periods=12, seed=0).tables["incidents"]
    origin = pd.Timestamp("2022-10-01")
    base = model_features(incidents, None, None, origin=origin, freq="M")
    changed = incidents.copy()
    changed.loc[changed["period_start"] >= origin, "count"] = 999
    pd.testing.assert_frame_equal(base, model_features(changed, None, None, origin=origin, freq="M"))
    assert {"lag4_drugs", "lag13_burglary_residential"} <= set(base.columns)
    assert not any("migration" in c for c in base.columns)


def _square(x: int, y: int, size: int = 100) -> str:
    return f"POLYGON (({x} {y}, {x + size} {y}, {x + size} {y + size}, {x} {y + size}, {x} {y}))"


def test_neighbour_lags_are_built_beside_gemeente_and_wijk_rows() -> None:
    """A store lists the gemeente and its wijken beside the buurten; the buurten's neighbour lags are still
    built, among the buurten only: the centre of a 3x3 grid reads the sum of its eight neighbours."""
    codes = [f"BU0917000{i}" for i in range(9)]
    buurten = pd.DataFrame(
        {"area_code": codes, "name": codes, "level": "buurt", "parent_code": "WK091700",
         "geometry": [_square(100 * (i % 3), 100 * (i // 3)) for i in range(9)]}
    )  # fmt: skip
    upper = pd.DataFrame(
        {"area_code": ["GM0917", "WK091700"], "name": ["Heerlen", "Centrum"], "level": ["gemeente", "wijk"],
         "parent_code": ["", "GM0917"], "geometry": [_square(0, 0, 300), _square(0, 0, 300)]}
    )  # fmt: skip
    months = pd.date_range("2023-01-01", periods=6, freq="MS")
    incidents = pd.DataFrame(
        {"area_code": np.repeat(codes, len(months)), "period_start": np.tile(months, len(codes)), "freq": "M",
         "category": "drugs", "count": np.arange(9 * len(months)) % 7, "source": "politie"}
    )  # fmt: skip
    features = model_features(
        incidents, None, pd.concat([upper, buurten]), origin=pd.Timestamp("2023-07-01"), freq="M"
    )
    assert list(features.index) == codes
    lags = [c for c in features.columns if c.startswith("lag")]
    assert lags and {f"nb_{c}" for c in lags} <= set(features.columns)
    for lag in lags:
        others = features[lag].drop(codes[4]).sum()
        assert features.loc[codes[4], f"nb_{lag}"] == pytest.approx(others)
        corner = features.loc[[codes[1], codes[3], codes[4]], lag].sum()
        assert features.loc[codes[0], f"nb_{lag}"] == pytest.approx(corner)
    same = model_features(incidents, None, buurten, origin=pd.Timestamp("2023-07-01"), freq="M")
    pd.testing.assert_frame_equal(features, same)
    without = model_features(incidents, None, buurten.iloc[1:], origin=pd.Timestamp("2023-07-01"), freq="M")
    assert not any(c.startswith("nb_") for c in without.columns)  # an unlisted forecast area: none built
