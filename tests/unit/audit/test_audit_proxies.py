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
