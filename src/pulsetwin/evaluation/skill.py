"""Skill against the best naive baseline, and the share of the naive-to-oracle gap, with bootstrap intervals.

Skill = 1 - D_model / D_naive (relative improvement in mean Poisson deviance, > 0 is better than naive);
gap share = (D_naive - D_model) / (D_naive - D_oracle) (1 = as good as knowing the true intensity);
attainable share = (D_naive - D_model) / (D_naive - D_origin_oracle), the same share against the best forecast
knowable at the forecast origin (1 = as good as any forecaster can be).
Both are ratios of sums over periods; their intervals resample whole periods in moving blocks, the same blocks
for every model (paired), so the shared period-to-period noise cancels.

Notes
-----
Moving-block bootstrap: Künsch (1989), Ann. Statist. 17(3), in its circular form: Politis & Romano (1992),
"A circular block-resampling procedure for stationary data"; Lahiri (2003), Resampling Methods for Dependent
Data, ch. 2. Percentile intervals: Efron & Tibshirani (1993), ch. 13.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from pulsetwin.exceptions import bad_parameter
from pulsetwin.schema.params import Integer, Number, check_param

SKILL_COLUMNS = (
    "model", "baseline", "skill", "skill_lo", "skill_hi", "gap_share", "gap_share_lo", "gap_share_hi",
    "attainable_share", "attainable_share_lo", "attainable_share_hi", "n_periods",
)  # fmt: skip


def block_bootstrap_indices(
    n: int, *, block: int, n_boot: int, rng: np.random.Generator
) -> NDArray[np.int64]:
    """Row indices of ``n_boot`` moving-block resamples of a length-``n`` series, shape ``(n_boot, n)``.

    Blocks of ``block`` consecutive positions (wrapping around the end, so every period is drawn equally
    often) start uniformly in ``0 .. n - 1`` and are concatenated, then cut to length ``n``.
    """
    if n < 1:
        raise bad_parameter("n", "block_bootstrap_indices", "at least 1 period", n)
    length = min(max(int(block), 1), n)
    n_blocks = -(-n // length)
    starts = rng.integers(0, n, size=(n_boot, n_blocks))
    idx = (starts[:, :, None] + np.arange(length)[None, None, :]).reshape(n_boot, n_blocks * length) % n
    return idx[:, :n]


@dataclass(frozen=True)
class SkillSettings:
    """How a backtest's skill intervals are drawn: ``level`` coverage, ``n_boot`` replicates, ``seed``.

    Checked when built, so a bad setting is refused before any model is fitted.
    """

    level: float = 0.95
    n_boot: int = 1000
    seed: int = 0

    def __post_init__(self) -> None:
        check_interval(self.level, self.n_boot, "SkillSettings")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise bad_parameter("seed", "SkillSettings", "an integer", self.seed)


def check_interval(level: float, n_boot: int, owner: str) -> None:
    """Refuse a level outside (0, 1) and fewer than 10 bootstrap replicates."""
    check_param("level", owner, Number(low=0.0, high=1.0, closed="neither"), level)
    check_param("n_boot", owner, Integer(low=10), n_boot)


def skill_table(
    losses: pd.DataFrame,
    *,
    naive: Sequence[str],
    oracle: str | None = None,
    origin_oracle: str | None = None,
    level: float = 0.95,
    n_boot: int = 1000,
    block: int | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Skill of every model against the best naive baseline, with paired moving-block bootstrap intervals.

    Parameters
    ----------
    losses
        Long frame ``period, model, deviance_sum, n``: summed Poisson deviance and number of scored cells
        per target period and model. Every model must have the same periods (paired comparison).
    naive
        Names of the naive baselines; the one with the lowest mean deviance over all periods is the baseline.
    oracle
        Name of the oracle model, when present (twin data), for the gap share.
    origin_oracle
        Name of the origin oracle, when present (a twin whose process was replayed), for the attainable share.
    level
        Central coverage of the percentile intervals.
    n_boot, block, seed
        Bootstrap replicates, block length in periods (default ``ceil(n ** (1/3))``) and seed.

    Returns
    -------
    pandas.DataFrame
        One row per model with :data:`SKILL_COLUMNS`; gap (attainable) shares are NaN without an (origin)
        oracle.
    """
    owner = "skill_table"
    check_interval(level, n_boot, owner)
    wide = losses.groupby(["period", "model"], sort=True)[["deviance_sum", "n"]].sum().unstack("model")
    dev, cells = wide["deviance_sum"], wide["n"]
    counts = cells.to_numpy(dtype=np.float64)
    if dev.isna().any().any() or cells.isna().any().any() or (counts != counts[:, :1]).any():
        raise bad_parameter(
            "losses", owner, "the same scored periods and cells for every model (paired)", "unequal"
        )
    present = [m for m in naive if m in dev.columns]
    if not present:
        raise bad_parameter("naive", owner, f"names of models in losses ({sorted(dev.columns)})", list(naive))
    for name, ceiling in (("oracle", oracle), ("origin_oracle", origin_oracle)):
        if ceiling is not None and ceiling not in dev.columns:
            raise bad_parameter(name, owner, f"a model in losses ({sorted(dev.columns)}) or None", ceiling)
    models = list(dev.columns)
    sums = dev.to_numpy(dtype=np.float64)
    mean_dev = sums.sum(axis=0) / counts[:, 0].sum()
    best = present[int(np.argmin([mean_dev[models.index(m)] for m in present]))]
    b = models.index(best)

    n_periods = sums.shape[0]
    length = block if block is not None else int(np.ceil(n_periods ** (1.0 / 3.0)))
    idx = block_bootstrap_indices(n_periods, block=length, n_boot=n_boot, rng=np.random.default_rng(seed))
    boot = sums[idx].sum(
        axis=1
    )  # (n_boot, n_models): the cell count is the same for all models, so it cancels
    tails = (100 * (1 - level) / 2, 100 * (1 + level) / 2)

    skill = 1.0 - sums.sum(axis=0) / sums[:, b].sum()
    boot_skill = 1.0 - boot / boot[:, [b]]
    skill_lo, skill_hi = np.percentile(boot_skill, tails, axis=0)
    gap, gap_lo, gap_hi = _share_interval(sums, boot, b, models, oracle, tails)
    attainable, attainable_lo, attainable_hi = _share_interval(sums, boot, b, models, origin_oracle, tails)
    return pd.DataFrame(
        {
            "model": models,
            "baseline": best,
            "skill": skill,
            "skill_lo": skill_lo,
            "skill_hi": skill_hi,
            "gap_share": gap,
            "gap_share_lo": gap_lo,
            "gap_share_hi": gap_hi,
            "attainable_share": attainable,
            "attainable_share_lo": attainable_lo,
            "attainable_share_hi": attainable_hi,
            "n_periods": n_periods,
        }
    )[list(SKILL_COLUMNS)]


def _share_interval(
    sums: NDArray[np.float64],
    boot: NDArray[np.float64],
    naive: int,
    models: list[str],
    ceiling: str | None,
    tails: tuple[float, float],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Share of the naive-to-``ceiling`` gap per model with its percentile interval (all NaN without one)."""
    share, lo, hi = (np.full(len(models), np.nan) for _ in range(3))
    if ceiling is None:
        return share, lo, hi
    c = models.index(ceiling)
    share = _gap_share(sums.sum(axis=0)[None, :], naive, c)[0]
    boot_share = _gap_share(boot, naive, c)
    valid = np.isfinite(boot_share).any(axis=0)
    if valid.any():
        lo[valid], hi[valid] = np.nanpercentile(boot_share[:, valid], tails, axis=0)
    return share, lo, hi


def _gap_share(totals: NDArray[np.float64], naive: int, ceiling: int) -> NDArray[np.float64]:
    """(D_naive - D_model) / (D_naive - D_ceiling) per row; NaN where the ceiling does not beat the naive."""
    gap = totals[:, [naive]] - totals[:, [ceiling]]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(gap > 0, (totals[:, [naive]] - totals) / np.where(gap > 0, gap, 1.0), np.nan)
