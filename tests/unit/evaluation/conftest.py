"""Fixtures of the evaluation tests; the toy city and models live in eval_toys (a uniquely named module,
so that it never collides with another directory's conftest on sys.path)."""

from __future__ import annotations

import pandas as pd
import pytest
from eval_toys import HistMean, LastValue, make_city

from pulsetwin.models.base import Model


@pytest.fixture(scope="module")
def city() -> dict[str, pd.DataFrame]:
    return make_city()


@pytest.fixture(scope="module")
def naive() -> list[Model]:
    return [HistMean(), LastValue()]
