"""Public test support: helpers for testing PulseTwin and models written against its contract.

The top layer of the package (beside :mod:`pulsetwin.cli`): it may import every other layer, and no library
module imports it. Submodules:

* :mod:`pulsetwin.testing.panels` — small simulated panels with known parameters (not the twin city);
* :mod:`pulsetwin.testing.fixture_store` — a small populated store for API tests, browser tests and benchmarks.
"""
