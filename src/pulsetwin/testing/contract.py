"""``check_model``: the whole model contract as one public check (scikit-learn's ``check_estimator`` habit).

Every registered area model (:mod:`pulsetwin.models.registry`) and hotspot model
(:mod:`pulsetwin.hotspots.registry`) must pass it, and so must a model someone writes against the contract:

* ``__init__`` stores parameters only, each declared in ``parameter_rules``; nothing fitted yet;
* predict before fit raises :class:`~pulsetwin.exceptions.NotFittedError`;
* every bad parameter is refused by ``fit`` with the house :class:`~pulsetwin.exceptions.ParameterError` naming
  it, before anything is learned;
* ``fit`` returns ``self``, leaves its inputs alone and gives a well-formed forecast (a bad horizon refused);
* same parameters (seed included), same data, same output;
* no peeking: data at or after the origin changes nothing;
* pickling: the fitted model survives ``pickle`` (the process pool) and ``cloudpickle`` (Dask) and predicts the
  same afterwards.

Each failure raises ``AssertionError`` naming the model and the check.
"""

from __future__ import annotations

import copy
import inspect
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import cloudpickle
import numpy as np
import pandas as pd

from pulsetwin.evaluation.leakage import perturb_future
from pulsetwin.exceptions import NotFittedError, ParameterError
from pulsetwin.hotspots.base import GridHistory, HotspotModel
from pulsetwin.hotspots.prepare import prepare_history
from pulsetwin.hotspots.simulate import simulate_drifting_city
from pulsetwin.models.base import History, Model, future_periods
from pulsetwin.schema.params import Rule
from pulsetwin.schema.periods import Freq
from pulsetwin.schema.tables import FORECASTS
from pulsetwin.testing.panels import simulate_panel

HORIZON: Final = 3
"""Periods an area model forecasts in the checks."""
BAD_CANDIDATES: Final[tuple[object, ...]] = (object(), True, -1, 0, 0.5, "nope", None, (0,))
"""Values tried against every parameter rule; those the rule refuses must make ``fit`` raise."""
HOTSPOT_ORIGIN: Final = pd.Timestamp("2021-10-01")


@dataclass(frozen=True)
class Case:
    """One model's fixture: fit on ``history``; ``peeked`` is the same past with planted future data."""

    history: History | GridHistory
    peeked: History | GridHistory


def check_model(model: Model | HotspotModel, *, freq: Freq = Freq.W) -> None:
    """Run the whole contract on an unfitted ``model`` (left unfitted: every check works on copies).

    Parameters
    ----------
    model
        An area model (:class:`~pulsetwin.models.base.Model`) or a hotspot model
        (:class:`~pulsetwin.hotspots.base.HotspotModel`), as constructed, not yet fitted.
    freq
        Period length of the simulated panel an area model is checked on.

    Raises
    ------
    AssertionError
        Naming the model and the first check it fails.
    """
    case = _area_case(freq) if isinstance(model, Model) else _hotspot_case()
    fitted = copy.deepcopy(model)
    for check in (_parameters_only, _predict_before_fit, _bad_parameters_refused):
        _run(check, model, copy.deepcopy(model), case)
    expected = _run(_fit_output_and_determinism, model, fitted, case)
    for after in (_no_peeking, _pickling):
        _run(after, model, fitted, case, expected)


def _run(check: Callable[..., Any], model: Model | HotspotModel, *args: Any) -> Any:
    """Run one check; an AssertionError is re-raised naming the model and the check."""
    try:
        return check(*args)
    except AssertionError as error:
        name = check.__name__.lstrip("_")
        raise AssertionError(f"{type(model).__name__} fails the contract check '{name}': {error}") from error


def _area_case(freq: Freq) -> Case:
    """A 4 x 4 grid panel with self-excitation and withheld counts, its events, and the same past with another
    future (:func:`~pulsetwin.evaluation.leakage.perturb_future`: counts, events and covariates)."""
    periods = 70 if freq == "W" else 30
    sim = simulate_panel(seed=3, side=4, periods=periods, freq=freq, excitation=0.1, withheld=0.05)
    origin = pd.Timestamp(sim.periods[periods - 6])
    events = sim.events(seed=4)
    frames = {"incidents": sim.incidents, "areas": sim.areas, "covariates": sim.covariates, "events": events}
    planted = perturb_future(frames, origin, seed=5)
    return Case(
        History.from_frames(frames, origin=origin, freq=freq),
        History.from_frames(planted, origin=origin, freq=freq),
    )


def _hotspot_case() -> Case:
    """A drifting simulated city, and the same with events planted at and after the origin."""
    events = simulate_drifting_city(seed=3, days=300, events_per_year=3_000.0, size_m=4_000.0)
    category = str(events["category"].iloc[0])
    planted = pd.DataFrame(
        {
            "event_id": ["p1", "p2", "p3"],
            "category": [category, category, category],
            "occurred_at": pd.DatetimeIndex(
                [HOTSPOT_ORIGIN, HOTSPOT_ORIGIN + pd.Timedelta(days=3), HOTSPOT_ORIGIN]
            ).as_unit("ns"),
            "x": events["x"].iloc[:3].to_numpy(),
            "y": events["y"].iloc[:3].to_numpy(),
            "source": "planted",
        }
    )
    histories = [
        prepare_history(
            frame, categories=(category,), origin=HOTSPOT_ORIGIN, window_days=14, cell_m=200
        ).history
        for frame in (events, pd.concat([events, planted], ignore_index=True))
    ]
    return Case(histories[0], histories[1])


def _fit(model: Model | HotspotModel, history: History | GridHistory) -> Any:
    """Fit and predict; the output of either kind of model."""
    if isinstance(model, Model):
        assert isinstance(history, History)
        model.fit(history)
    else:
        assert isinstance(history, GridHistory)
        model.fit(history)
    return _predict(model)


def _predict(model: Model | HotspotModel) -> Any:
    """The forecast frame of a fitted area model, or the map of a fitted hotspot model."""
    return model.predict(HORIZON, run_id="check") if isinstance(model, Model) else model.predict()


def _same(first: Any, second: Any, what: str) -> None:
    """Identical forecast frames or maps."""
    if isinstance(first, pd.DataFrame):
        try:
            pd.testing.assert_frame_equal(first, second)
        except AssertionError as error:
            raise AssertionError(f"{what}: {error}") from None
    else:
        assert np.array_equal(first, second), f"{what}: the maps differ"


def _public_state(model: Model | HotspotModel) -> set[str]:
    """Names of the parameters a model stores (public attributes not ending in ``_``)."""
    return {k for k in vars(model) if not k.startswith("_") and not k.endswith("_")}


def _parameters_only(model: Model | HotspotModel, case: Case) -> None:
    """``__init__`` stores keyword-only parameters, each with a declared rule, and nothing fitted."""
    fitted = [k for k in vars(model) if k.endswith("_") and not k.startswith("_")]
    assert not fitted, f"__init__ set fitted attributes {fitted}"
    stored = _public_state(model)
    assert stored == set(model.parameter_rules), (
        f"parameter_rules must declare exactly the stored parameters: stored {sorted(stored)}, "
        f"declared {sorted(model.parameter_rules)}"
    )
    params = inspect.signature(type(model).__init__).parameters.values()
    positional = [
        p.name for p in params if p.name != "self" and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    assert not positional, f"parameters must be keyword-only: {positional}"
    if isinstance(model, Model):
        assert set(model.get_params()) == stored, "get_params() must return the stored parameters"


def _predict_before_fit(model: Model | HotspotModel, case: Case) -> None:
    """Predicting an unfitted model raises NotFittedError."""
    try:
        _predict(model)
    except NotFittedError:
        return
    raise AssertionError("predict() before fit() did not raise NotFittedError")


def _bad_parameters_refused(model: Model | HotspotModel, case: Case) -> None:
    """For every declared parameter, each candidate value its rule refuses makes ``fit`` raise ParameterError
    naming the parameter, before anything is learned."""
    rules: dict[str, Rule] = dict(model.parameter_rules)
    for name, rule in rules.items():
        for bad in (value for value in BAD_CANDIDATES if not rule.accepts(value)):
            trial = copy.deepcopy(model)
            setattr(trial, name, bad)
            try:
                _fit(trial, case.history)
            except ParameterError as error:
                assert f"'{name}'" in str(error), f"{name}={bad!r} refused without naming it: {error}"
                assert not [k for k in vars(trial) if k.endswith("_") and not k.startswith("_")], (
                    f"{name}={bad!r}: fit learned state before refusing the parameter"
                )
                continue
            except Exception as error:
                raise AssertionError(
                    f"fit failed with {type(error).__name__} on the bad parameter {name}={bad!r} instead of "
                    f"refusing it (rule: {rule.describe()})"
                ) from error
            raise AssertionError(f"fit accepted the bad parameter {name}={bad!r} (rule: {rule.describe()})")


def _fit_output_and_determinism(model: Model | HotspotModel, case: Case) -> Any:
    """``fit`` returns self and leaves its inputs alone; the output is well formed; a copy with the same
    parameters gives the same output on the same data. Returns the output (``model`` stays fitted)."""
    twin = copy.deepcopy(model)
    before = copy.deepcopy(case.history)
    assert model.fit(case.history) is model, "fit() must return self"  # type: ignore[arg-type]
    _same_history(before, case.history)
    first = _predict(model)
    _well_formed(model, case.history, first)
    if isinstance(model, Model):
        try:
            model.predict(0)
        except ParameterError as error:
            assert "'horizon'" in str(error), f"predict(0) refused without naming 'horizon': {error}"
        else:
            raise AssertionError("predict(0) was not refused")
    _same(first, _fit(twin, case.history), "same parameters and data, different output")
    return first


def _no_peeking(fitted: Model | HotspotModel, case: Case, expected: Any) -> None:
    """Another future (counts and events at or after the origin, covariates of the origin's year and later;
    events planted at the origin instant for hotspot models) changes nothing (``expected``: the output of
    ``fitted`` on the honest history)."""
    peeked = _fit(copy.deepcopy(fitted), case.peeked)
    _same(expected, peeked, "data at or after the origin moved the forecast")


def _pickling(fitted: Model | HotspotModel, _case: Case, expected: Any) -> None:
    """A fitted model survives pickle (the process pool) and cloudpickle (Dask) and predicts ``expected``."""
    for dumps, loads in ((pickle.dumps, pickle.loads), (cloudpickle.dumps, cloudpickle.loads)):
        again = loads(dumps(fitted))
        assert type(again) is type(fitted), f"a {dumps.__module__} round trip changed the class"
        _same(
            expected, _predict(again), f"the model predicts differently after a {dumps.__module__} round trip"
        )


def _same_history(before: History | GridHistory, after: History | GridHistory) -> None:
    """``fit`` did not modify the history it was given."""
    if isinstance(before, History):
        assert isinstance(after, History)
        for name in ("incidents", "covariates", "areas", "events"):
            old, new = getattr(before, name), getattr(after, name)
            if old is not None:
                _same(old, new, f"fit() modified history.{name}")
        return
    assert isinstance(after, GridHistory)
    for name in ("cells", "t", "x", "y", "cell", "other_t", "other_cell"):
        assert np.array_equal(getattr(before, name), getattr(after, name)), f"fit() modified history.{name}"


def _well_formed(model: Model | HotspotModel, history: History | GridHistory, output: Any) -> None:
    """Area models: the canonical forecasts frame, one row per seen pair and period, ordered quantiles.
    Hotspot models: one finite, non-negative expected count per masked cell."""
    if isinstance(history, GridHistory):
        values = np.asarray(output)
        assert values.shape == history.cells.shape, (
            f"map of shape {values.shape} for {history.cells.size} cells"
        )
        assert np.isfinite(values).all() and (values >= 0).all(), "map values must be finite and >= 0"
        return
    assert isinstance(output, pd.DataFrame) and tuple(output.columns) == FORECASTS.column_names
    pairs = history.incidents[["area_code", "category"]].drop_duplicates()
    assert len(output) == len(pairs) * HORIZON, "one row per seen (area, category) and period"
    got = set(output[["area_code", "category"]].itertuples(index=False, name=None))
    assert got == set(pairs.astype(object).itertuples(index=False, name=None)), "forecast pairs != seen pairs"
    periods = future_periods(pd.Timestamp(history.origin), history.freq, HORIZON)
    assert set(output["period_start"]) == set(periods) and output["period_start"].dtype == "datetime64[ns]"
    assert (output["model"] == model.name).all() and (output["run_id"] == "check").all()
    values = output[["mean", "q05", "q50", "q95"]].to_numpy(dtype=float)
    assert np.isfinite(values).all() and (output["mean"] >= 0).all(), "means must be finite and >= 0"
    assert (output["q05"] <= output["q50"]).all() and (output["q50"] <= output["q95"]).all(), (
        "quantiles out of order"
    )
