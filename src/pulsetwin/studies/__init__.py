"""Studies on the twin, above evaluation: the closed patrol loop, its policies, scenarios and feedback studies.

The twin (:mod:`pulsetwin.twin`) is a data source, level with :mod:`pulsetwin.sources`; what runs forecasts,
policies and audits against it lives here, so the twin imports nothing of the layers above it.
"""
