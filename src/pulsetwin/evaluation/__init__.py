"""Evidence for forecasts: rolling-origin splits, scores, backtests against naive baselines and the oracle,
skill with bootstrap intervals, leakage guards and forecast runs."""
