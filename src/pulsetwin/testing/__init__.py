"""Public test support: helpers for testing PulseTwin and models written against its contract.

The top layer of the package (beside :mod:`pulsetwin.cli`): it may import every other layer, and no library
module imports it. Submodules:

* :func:`check_model` — the whole model contract, for area and hotspot models;
* :func:`assert_table_equal` — canonical tables compared by content, whatever their row order and dtypes;
* :mod:`pulsetwin.testing.panels` — small simulated panels with known parameters (not the twin city);
* :mod:`pulsetwin.testing.fixture_store` — a small populated store for API tests, browser tests and benchmarks.
"""

from pulsetwin.testing.contract import check_model
from pulsetwin.testing.frames import assert_table_equal

__all__ = ["assert_table_equal", "check_model"]
