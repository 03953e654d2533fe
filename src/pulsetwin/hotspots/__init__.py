"""Grid hotspot maps from anonymous point events: count baselines, KDE, prospective, ETAS and a learned model."""

from pulsetwin.hotspots.backtest import run_grid_backtest
from pulsetwin.hotspots.etas import EtasFit, fit_etas
from pulsetwin.hotspots.forecast import OUTPUT_COLUMNS, hotspot_map
from pulsetwin.hotspots.registry import BASELINES, MODELS, make_model, model_names

__all__ = [
    "BASELINES",
    "MODELS",
    "OUTPUT_COLUMNS",
    "EtasFit",
    "fit_etas",
    "hotspot_map",
    "make_model",
    "model_names",
    "run_grid_backtest",
]
