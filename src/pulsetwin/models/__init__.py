"""Forecasters: the contract, naive baselines and area count models (GLM, gradient boosting)."""
