"""Pure metrics, a leaf every layer may use: scores of count forecasts (deviance, interval scores, coverage),
hotspot-map metrics (hit rate, PAI, PEI) and allocation metrics of a patrol loop (Gini, lock-in, exposure).

Functions of numpy arrays only: this package imports nothing of pulsetwin but :mod:`pulsetwin.exceptions`.
"""
