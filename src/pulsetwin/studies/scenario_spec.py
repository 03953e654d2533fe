"""Scenario specs: the YAML format of a what-if scenario, parsed into typed, validated dataclasses.

Each key is read through the declared rules of :mod:`pulsetwin.schema.params`, so a bad value gets the file,
the key path, what was expected and how to fix it. Effects of interventions are never invented: the spec must
state a range for each.

YAML spec format (unknown keys are refused, so a typo cannot be ignored silently)::

    name: top-10 patrol against uniform patrol   # required, free text
    category: burglary_residential               # required: the incidents category that sets the base rates
    freq: W                                      # W (default) or M
    periods: 52                                  # required: horizon in periods
    runs: 200                                    # Monte-Carlo runs (default 200; --runs overrides)
    seed: 7                                      # default 0 (--seed overrides)
    base_rates: observed                         # observed (default): mean recorded count per period in the
                                                 # store; truth: the twin's truth table (offence_intensity)
    history_periods: 52                          # optional: only the last N periods set the base rates
    detection:                                   # optional
      report_rate: 1.0                           # recorded citizen reports per offence (default 1.0)
      discovery_rate: 0.0                        # recorded discoveries per offence at full patrol (default 0)
      deterrence: 0.0                            # relative drop of offences at full patrol (default 0: off)
    baseline:
      policy: {kind: uniform, k: 10}             # uniform | proportional | top_k | top_k_explore (+ epsilon)
      learner: naive                             # naive (default) | ipw | reported_only
    scenario:                                    # at least a policy, a learner or an intervention
      policy: {kind: top_k, k: 10}               # default: the baseline policy
      learner: naive                             # default: the baseline learner
      interventions:
        - kind: rate                             # change the offence rate of the category ...
          areas: [BU09170101, BU09170102]        # ... in these areas (or: all)
          effect: {low: -0.30, high: -0.05}      # relative change, REQUIRED, low <= high, low >= -1
        - kind: covariate                        # change a covariate ...
          variable: street_lighting              # ... that exists in the covariates table
          areas: all
          change: 0.1                            # by this much, in the covariate's own units
          effect_per_unit: {low: -0.5, high: 0}  # change of the log offence rate per unit, REQUIRED
    exposure:                                    # optional audit of resident exposure (audit-only data)
      attribute: migration_background_share     # a share in [0, 1] in the protected table
      population: population                     # covariate holding residents per area
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from pulsetwin.exceptions import Location, SchemaError
from pulsetwin.schema.params import (
    REQUIRED,
    Integer,
    Number,
    Options,
    Rule,
    Text,
    read_key,
    read_mapping,
    refuse_unknown_keys,
)
from pulsetwin.schema.periods import Freq
from pulsetwin.studies.loop import LEARNERS
from pulsetwin.studies.policies import POLICY_KINDS, Policy

_TOP_KEYS = {"name", "category", "freq", "periods", "runs", "seed", "base_rates", "history_periods"}
_TOP_KEYS |= {"detection", "baseline", "scenario", "exposure"}
FIX = "correct this key of the scenario spec (see examples/scenario_patrol_topk.yaml)"
RATE = Number(low=0.0, finite=True)
SHARE = Number(low=0.0, high=1.0, closed="left", finite=True)
FINITE = Number(finite=True)


@dataclass(frozen=True)
class Intervention:
    """One stated change: ``kind`` rate or covariate, in ``areas`` (None: all), with an effect range."""

    kind: str
    areas: tuple[str, ...] | None
    low: float
    high: float
    variable: str | None = None
    change: float = 1.0

    def multiplier(self, effect: np.ndarray) -> np.ndarray:
        """The offence-rate multiplier for drawn effects (relative change, or log-rate change per unit)."""
        return np.asarray(1.0 + effect if self.kind == "rate" else np.exp(effect * self.change))

    def describe(self) -> str:
        """Plain words, e.g. ``offence rate x (1 + [-0.3, -0.05]) in 2 areas``."""
        where = "all areas" if self.areas is None else f"{len(self.areas)} area(s)"
        if self.kind == "rate":
            return f"offence rate changed by {self.low:+.0%} to {self.high:+.0%} in {where}"
        return (
            f"covariate '{self.variable}' changed by {self.change:g}, stated to move the log offence rate by "
            f"{self.low:g} to {self.high:g} per unit, in {where}"
        )


@dataclass(frozen=True)
class Arm:
    """A policy and a learner; the scenario arm may add interventions."""

    policy: Policy
    learner: str = "naive"
    interventions: tuple[Intervention, ...] = ()


@dataclass(frozen=True)
class ScenarioSpec:
    """A parsed, validated scenario spec (see the module docstring for the YAML format)."""

    name: str
    category: str
    periods: int
    baseline: Arm
    scenario: Arm
    freq: Freq = Freq.W
    runs: int = 200
    seed: int = 0
    base_rates: str = "observed"
    history_periods: int | None = None
    report_rate: float = 1.0
    discovery_rate: float = 0.0
    deterrence: float = 0.0
    exposure: dict[str, str] | None = None
    file: str | None = None


def load_spec(path: str | Path) -> ScenarioSpec:
    """Read and validate a YAML scenario spec."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise SchemaError(f"cannot read the spec: {error.strerror}", where=Location(file=file)) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        row = mark.line + 1 if mark is not None else None
        raise SchemaError("valid YAML", where=Location(file=file, row=row), fix=str(error)) from None
    return parse_spec(data, file=file)


def parse_spec(data: object, *, file: str | None = None) -> ScenarioSpec:
    """Validate a spec mapping (as loaded from YAML) and return the typed spec."""
    top = _mapping(data, "", file)
    _refuse_unknown(top, _TOP_KEYS, "", file)
    name = _read(top, "name", Text(), file)
    category = _read(top, "category", Text(), file)
    freq = _read(top, "freq", Options(("W", "M")), file, default="W")
    base_rates = _read(top, "base_rates", Options(("observed", "truth")), file, default="observed")
    detection = _mapping(top.get("detection", {}), "detection", file)
    _refuse_unknown(detection, {"report_rate", "discovery_rate", "deterrence"}, "detection", file)
    baseline = _arm(top.get("baseline"), "baseline", None, file)
    scenario = _arm(top.get("scenario"), "scenario", baseline, file)
    if scenario == baseline:
        raise spec_error(
            "a scenario that differs from the baseline (policy, learner or interventions)",
            file,
            "scenario",
            None,
        )
    exposure = top.get("exposure")
    if exposure is not None:
        exposure = _mapping(exposure, "exposure", file)
        _refuse_unknown(exposure, {"attribute", "population"}, "exposure", file)
        exposure = {
            key: _read(exposure, key, Text(), file, "exposure.") for key in ("attribute", "population")
        }
    history = top.get("history_periods")
    return ScenarioSpec(
        name=name,
        category=category,
        periods=_read(top, "periods", Integer(low=1), file),
        baseline=baseline,
        scenario=scenario,
        freq=Freq(freq),
        runs=_read(top, "runs", Integer(low=1), file, default=200),
        seed=_read(top, "seed", Integer(low=0), file, default=0),
        base_rates=str(base_rates),
        history_periods=None if history is None else _read(top, "history_periods", Integer(low=1), file),
        report_rate=float(_read(detection, "report_rate", RATE, file, "detection.", default=1.0)),
        discovery_rate=float(_read(detection, "discovery_rate", RATE, file, "detection.", default=0.0)),
        deterrence=float(_read(detection, "deterrence", SHARE, file, "detection.", default=0.0)),
        exposure=exposure,
        file=file,
    )


def _arm(data: object, path: str, default: Arm | None, file: str | None) -> Arm:
    """Parse the baseline or scenario arm."""
    if data is None and default is None:
        raise spec_error("a mapping with a policy", file, path, None)
    arm = _mapping(data if data is not None else {}, path, file)
    allowed = {"policy", "learner"} | ({"interventions"} if default is not None else set())
    _refuse_unknown(arm, allowed, path, file)
    if "policy" in arm:
        policy = _policy(arm["policy"], f"{path}.policy", file)
    elif default is not None:
        policy = default.policy
    else:
        raise spec_error("a policy, e.g. {kind: uniform, k: 10}", file, f"{path}.policy", None)
    learner = arm.get("learner", default.learner if default is not None else "naive")
    if learner not in LEARNERS:
        raise spec_error(f"one of {', '.join(LEARNERS)}", file, f"{path}.learner", learner)
    raw = arm.get("interventions", [])
    if not isinstance(raw, list):
        raise spec_error("a list of interventions", file, f"{path}.interventions", raw)
    interventions = tuple(
        _intervention(item, f"{path}.interventions[{n}]", file) for n, item in enumerate(raw)
    )
    return Arm(policy=policy, learner=str(learner), interventions=interventions)


def _policy(data: object, path: str, file: str | None) -> Policy:
    """Parse ``{kind, k, epsilon}`` into a Policy, turning parameter errors into spec errors."""
    mapping = _mapping(data, path, file)
    _refuse_unknown(mapping, {"kind", "k", "epsilon"}, path, file)
    kind = mapping.get("kind")
    if kind not in POLICY_KINDS:
        raise spec_error(f"one of {', '.join(POLICY_KINDS)}", file, f"{path}.kind", kind)
    try:
        return Policy(kind, mapping.get("k"), mapping.get("epsilon", 0.0))  # type: ignore[arg-type]
    except (ValueError, TypeError) as error:
        raise spec_error(str(error), file, path, dict(mapping)) from None


def _intervention(data: object, path: str, file: str | None) -> Intervention:
    """Parse one intervention; refuse it without a user-supplied effect range."""
    item = _mapping(data, path, file)
    kind = item.get("kind")
    if kind not in ("rate", "covariate"):
        raise spec_error("'rate' or 'covariate'", file, f"{path}.kind", kind)
    range_key = "effect" if kind == "rate" else "effect_per_unit"
    allowed = {"kind", "areas", range_key} | ({"variable", "change"} if kind == "covariate" else set())
    _refuse_unknown(item, allowed, path, file)
    if range_key not in item:
        raise SchemaError(
            f"an effect range you supply: '{range_key}: {{low: ..., high: ...}}'. PulseTwin never invents "
            "effect sizes",
            where=Location(file=file, column=f"{path}.{range_key}"),
            fix=f"add '{range_key}: {{low: -0.2, high: -0.05}}' (your numbers) from a study or a stated "
            "assumption, and say where it comes from",
        )
    effect = _mapping(item[range_key], f"{path}.{range_key}", file)
    _refuse_unknown(effect, {"low", "high"}, f"{path}.{range_key}", file)
    low = float(_read(effect, "low", FINITE, file, f"{path}.{range_key}."))
    high = float(_read(effect, "high", FINITE, file, f"{path}.{range_key}."))
    if low > high:
        raise spec_error("low <= high", file, f"{path}.{range_key}", {"low": low, "high": high})
    if kind == "rate" and low < -1:
        raise spec_error("a relative change >= -1 (-1 removes all offences)", file, f"{path}.effect.low", low)
    areas = item.get("areas", "all")
    if areas != "all" and (
        not isinstance(areas, list) or not areas or not all(isinstance(a, str) for a in areas)
    ):
        raise spec_error("'all' or a non-empty list of area codes", file, f"{path}.areas", areas)
    if kind == "rate":
        return Intervention("rate", None if areas == "all" else tuple(areas), low, high)
    variable = _read(item, "variable", Text(), file, f"{path}.")
    change = float(_read(item, "change", FINITE, file, f"{path}."))
    return Intervention("covariate", None if areas == "all" else tuple(areas), low, high, variable, change)


def _mapping(data: object, path: str, file: str | None) -> Mapping[str, Any]:
    """Refuse anything but a mapping with string keys (:func:`pulsetwin.schema.params.read_mapping`)."""
    return read_mapping(data, file=file, path=path, fix=FIX, word="keys")


def _refuse_unknown(data: Mapping[str, Any], allowed: set[str], path: str, file: str | None) -> None:
    """Refuse keys the format does not know (:func:`pulsetwin.schema.params.refuse_unknown_keys`)."""
    refuse_unknown_keys(data, allowed, file=file, fix=FIX, path=path, word="keys")


def _read(
    data: Mapping[str, Any],
    key: str,
    rule: Rule,
    file: str | None,
    prefix: str = "",
    *,
    default: object = REQUIRED,
) -> Any:
    """One key of the spec, checked by ``rule`` (see :func:`pulsetwin.schema.params.read_key`)."""
    return read_key(data, key, rule, file=file, fix=FIX, prefix=prefix, default=default)


def spec_error(expected: str, file: str | None, column: str, value: object) -> SchemaError:
    """A spec error naming the file and the key path (also for checks of a spec against the store)."""
    return SchemaError(expected, where=Location(file=file, column=column, value=value))
