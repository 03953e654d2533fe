"""Branch the twin's self-exciting process at a date: a known multiplicative intervention from then on.

A field trial on the twin needs the trial period simulated again, with the intervention, by the twin's own
generating process: the history before the trial (every offence, recorded or not) stays as replayed, the
period is simulated afresh. The intervention multiplies the rate at which new chains of offences start in a
cell (category, buurt, trial period) by ``multiplier``: background offences and offspring of the pre-trial
history alike. Offspring of offences inside the period follow the twin's branching unchanged, so an
intervention that prevents a share of the chains prevents their near-repeats too.

In the cluster representation of the Hawkes process each chain is an immigrant plus its descendants, and the
chains are independent given the history; keeping each immigrant with probability ``m`` (or adding immigrants
at ``m - 1`` times the rate) scales the expected count of every later time by ``m`` exactly. So, given the
pre-trial history, the expected offence (and recorded) count of a cell whose multiplier holds over the whole
period is ``m`` times its count without the intervention: the true rate ratio of a trial is known exactly.
Descendants of a chain started under one multiplier that fall in a later period with another (a crossover's
carry-over) keep the first multiplier; with decay times of days, that spill-over is small at months.

Notes
-----
Cluster (immigrant-birth) representation of the Hawkes process (Hawkes & Oakes 1974), as simulated in
:mod:`pulsetwin.twin.process`.
"""

from __future__ import annotations

import numpy as np

from pulsetwin.exceptions import ParameterError
from pulsetwin.twin.replay import HOURS_PER_DAY, TwinProcess

KERNEL_SPAN = 40.0
"""Pre-trial offences older than this many decay times start no offspring in the period worth drawing."""


def branch_counts(process: TwinProcess, edges: np.ndarray, multiplier: np.ndarray,
                  rng: np.random.Generator) -> np.ndarray:  # fmt: skip
    """Recorded counts per trial period, category and buurt, shape ``multiplier.shape`` = (periods, C, A).

    Parameters
    ----------
    process
        The replayed twin (:func:`pulsetwin.twin.replay.replay_twin`); its offences before ``edges[0]`` are the
        history.
    edges
        Whole days from ``process.timeline.origin``: period ``k`` is ``[edges[k], edges[k + 1])``.
    multiplier
        Non-negative factor on the chain-starting rate per period, category (``process.cats`` order) and buurt
        (``process.codes`` order); all ones reproduces the twin's own law of the period.
    rng
        The random stream of this branch.
    """
    edges = np.asarray(edges, dtype=np.int64)
    multiplier = np.asarray(multiplier, dtype=float)
    n_c, n_a = process.rates.shape
    hours = process.profiles[0].size
    if (edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0) or edges[0] < process.timeline.start_day
            or edges[-1] * HOURS_PER_DAY > hours or multiplier.shape != (edges.size - 1, n_c, n_a)
            or np.any(multiplier < 0)):  # fmt: skip
        raise ParameterError(
            f"branch_counts needs increasing whole-day edges inside the recorded days [{process.timeline.start_day}, "
            f"{hours // HOURS_PER_DAY}] and a non-negative multiplier of shape ({edges.size - 1}, {n_c}, {n_a}); "
            f"got edges {edges.tolist()[:3]}... and shape {multiplier.shape}. Fix: pass period edges of the twin's "
            "recorded calendar (TwinProcess.day) and one factor per period, category and buurt"
        )
    end = float(edges[-1])
    area, category, t = _background(process, edges, multiplier, rng)
    kids = _history_offspring(process, edges, multiplier, rng)
    area, category, t = (np.concatenate([a, b]) for a, b in zip((area, category, t), kids, strict=True))
    parts = [(area, category, t)]
    branching = np.array([c.branching for c in process.cats])
    decay = np.array([c.decay_days for c in process.cats])
    while area.size:
        index = np.repeat(np.arange(area.size), rng.poisson(branching[category]))
        area, category = area[index], category[index]
        t = t[index] + rng.exponential(decay[category])
        keep = t < end
        area, category, t = area[keep], category[keep], t[keep]
        parts.append((area, category, t))
    area, category, t = (np.concatenate([p[i] for p in parts]) for i in range(3))
    recorded = rng.uniform(size=t.size) < process.probabilities[category, area]
    period = np.searchsorted(edges, t[recorded], side="right") - 1
    flat = (period * n_c + category[recorded]) * n_a + area[recorded]
    return np.bincount(flat, minlength=multiplier.size).reshape(multiplier.shape)


def _background(process: TwinProcess, edges: np.ndarray, multiplier: np.ndarray,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Background offences of the period: Poisson per cell with mean ``rate * profile mass * multiplier``."""
    areas, categories, times = [], [], []
    hour_edges = edges * HOURS_PER_DAY
    for c, profile in enumerate(process.profiles):
        cumulative = np.concatenate([[0.0], np.cumsum(profile)])
        for k in range(edges.size - 1):
            low, high = cumulative[hour_edges[k]], cumulative[hour_edges[k + 1]]
            counts = rng.poisson(process.rates[c] * multiplier[k, c] * (high - low) / HOURS_PER_DAY)
            n = int(counts.sum())
            hour = np.searchsorted(cumulative, rng.uniform(low, high, n), side="right") - 1
            areas.append(np.repeat(np.arange(counts.size), counts))
            categories.append(np.full(n, c, dtype=np.int64))
            times.append(
                (np.clip(hour, hour_edges[k], hour_edges[k + 1] - 1) + rng.uniform(size=n)) / HOURS_PER_DAY
            )
    return np.concatenate(areas), np.concatenate(categories), np.concatenate(times)


def _history_offspring(process: TwinProcess, edges: np.ndarray, multiplier: np.ndarray,
                       rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Offspring of pre-trial offences born in the period, kept with probability ``multiplier / top``.

    Candidates are drawn at ``top = max(1, multiplier)`` times the kernel's mass in the period (times from the
    exponential kernel truncated to the period), then thinned to the multiplier of the cell they fall in.
    """
    start, end = float(edges[0]), float(edges[-1])
    branching = np.array([c.branching for c in process.cats])
    decay = np.array([c.decay_days for c in process.cats])
    past = process.offences_before(start)
    recent = past.t > start - KERNEL_SPAN * decay[past.category]
    area, category, born = past.area[recent], past.category[recent], past.t[recent]
    tau = decay[category]
    near, far = np.exp(-(start - born) / tau), np.exp(-(end - born) / tau)
    top = max(1.0, float(multiplier.max(initial=1.0)))
    index = np.repeat(np.arange(born.size), rng.poisson(top * branching[category] * (near - far)))
    area, category, born, tau = area[index], category[index], born[index], tau[index]
    u = rng.uniform(size=index.size)
    t = born - tau * np.log(near[index] - u * (near[index] - far[index]))
    t = np.clip(t, start, np.nextafter(end, start))
    period = np.searchsorted(edges, t, side="right") - 1
    keep = rng.uniform(size=t.size) * top < multiplier[period, category, area]
    return area[keep], category[keep], t[keep]
