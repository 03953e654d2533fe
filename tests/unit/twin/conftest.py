"""One small twin shared by the twin tests (heerlen, two years, fixed seed)."""

from __future__ import annotations

import pytest

from pulsetwin.twin import TwinCity, generate_twin


@pytest.fixture(scope="session")
def city() -> TwinCity:
    """The heerlen preset, 2021-2022, seed 11."""
    return generate_twin("heerlen", seed=11, years=2)
