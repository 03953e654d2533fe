"""Leakage-safe features: panels, lags and rolling windows, calendar terms, spatial lags, covariates."""
