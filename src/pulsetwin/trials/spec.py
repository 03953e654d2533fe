"""The trial specification: one YAML file, parsed and validated with a precise message per bad field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pulsetwin.exceptions import Location, SchemaError
from pulsetwin.schema.params import (
    REQUIRED,
    Integer,
    NoneOr,
    Number,
    Options,
    Rule,
    Text,
    TupleOf,
    read_key,
    read_mapping,
    refuse_unknown_keys,
)

DESIGNS = ("cluster", "stepped_wedge", "crossover")
KINDS = ("benefit", "enforcement")
BLOCK_KEYS = ("wijk", "forecast_decile")
_TOP = {"name", "hypothesis", "intervention", "eligible", "design", "outcome", "alpha", "power", "seed"}
FIX = "correct this field of the trial spec (see examples/trial.yaml)"
SHARE = Number(low=0.0, high=1.0, closed="neither")


@dataclass(frozen=True)
class Intervention:
    """What is done in treated buurten; enforcement-only needs the ethics board's reference."""

    description: str
    kind: str = "benefit"
    ethics_reference: str | None = None


@dataclass(frozen=True)
class Design:
    """``cluster``: buurten randomised within blocks, ``treated_share`` of each block treated.
    ``crossover``: every eligible buurt is its own block; ``treated_share`` of its periods are treated (as
    Mohler et al. 2015 randomised days).
    ``stepped_wedge``: every eligible buurt starts in control and crosses to treatment for good at the start of
    one of ``steps`` randomised steps (sequences); no blocks, no share (Hussey & Hughes 2007)."""

    type: str = "cluster"
    blocks: tuple[str, ...] = BLOCK_KEYS
    treated_share: float = 0.5
    randomisations: int = 2000
    steps: int | None = None
    """Stepped wedge only: the number of sequences; ``None`` elsewhere."""


@dataclass(frozen=True)
class Outcome:
    """The primary outcome: counts of ``category`` summed over the ``periods`` trial periods."""

    category: str
    periods: int
    secondary: tuple[str, ...] = ()


@dataclass(frozen=True)
class PowerSpec:
    """Power is computed for ``effect`` (the true rate ratio hoped for) by ``simulations`` draws; a cluster
    design also states how often its displacement test finds a rise of ``displacement`` (0.5 = +50 %) in the
    buurten adjacent to treated ones."""

    effect: float = 0.8
    target: float = 0.8
    simulations: int = 400
    displacement: float = 0.5


@dataclass(frozen=True)
class TrialSpec:
    """A validated trial specification (see ``examples/trial.yaml``)."""

    name: str
    hypothesis: str
    intervention: Intervention
    top_share: float
    design: Design
    outcome: Outcome
    alpha: float = 0.05
    power: PowerSpec = field(default_factory=PowerSpec)
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form (as written into the pre-registration)."""
        return asdict(self)


def load_spec(path: str | Path) -> TrialSpec:
    """Read and validate a trial YAML file."""
    file = str(path)
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SchemaError(
            f"trial spec '{file}' does not exist", fix="pass the path of your trial YAML"
        ) from None
    except yaml.YAMLError as error:
        raise SchemaError(
            f"not valid YAML: {error}", where=Location(file=file), fix="fix the YAML syntax"
        ) from None
    return parse_spec(data, file=file)


def parse_spec(data: object, *, file: str | None = None) -> TrialSpec:
    """Validate a parsed trial spec; every refusal names the field, the value and how to fix it."""
    top = _mapping(data, "", file)
    _refuse_unknown(top, _TOP, "", file)
    name = _read(top, "name", Text(), file).strip()
    hypothesis = _read(top, "hypothesis", Text(), file).strip()
    intervention = _intervention(_mapping(top.get("intervention"), "intervention", file), file)
    eligible = _mapping(top.get("eligible"), "eligible", file)
    _refuse_unknown(eligible, {"top_share"}, "eligible", file)
    top_share = float(_read(eligible, "top_share", SHARE, file, "eligible."))
    design_map = _mapping(top.get("design", {}), "design", file)
    design = _design(design_map, file)
    outcome_map = _mapping(top.get("outcome"), "outcome", file)
    _refuse_unknown(outcome_map, {"category", "periods", "secondary"}, "outcome", file)
    secondary = _read(outcome_map, "secondary", TupleOf(Text(), lists=True), file, "outcome.", default=[])
    outcome = Outcome(
        _read(outcome_map, "category", Text(), file, "outcome.").strip(),
        _read(outcome_map, "periods", Integer(low=1), file, "outcome."),
        tuple(secondary),
    )
    if design.type == "stepped_wedge":
        design = _wedge_steps(design, design_map, outcome.periods, file)
    power_map = _mapping(top.get("power", {}), "power", file)
    _refuse_unknown(power_map, {"effect", "target", "simulations", "displacement"}, "power", file)
    power = PowerSpec(
        float(_read(power_map, "effect", Number(low=0.0, closed="neither"), file, "power.", default=0.8)),
        float(_read(power_map, "target", SHARE, file, "power.", default=0.8)),
        _read(power_map, "simulations", Integer(low=50), file, "power.", default=400),
        float(
            _read(power_map, "displacement", Number(low=0.0, closed="neither"), file, "power.", default=0.5)
        ),
    )
    if power.effect == 1.0:
        raise _error("a rate ratio other than 1 (the effect to detect)", file, "power.effect", power.effect)
    alpha = float(_read(top, "alpha", Number(low=0.0, high=0.5, closed="neither"), file, default=0.05))
    seed = _read(top, "seed", Integer(low=0), file, default=0)
    return TrialSpec(name, hypothesis, intervention, top_share, design, outcome, alpha, power, seed)


def _intervention(data: dict[str, Any], file: str | None) -> Intervention:
    """The intervention block; enforcement-only without an ``ethics_reference`` is refused."""
    _refuse_unknown(data, {"description", "kind", "ethics_reference"}, "intervention", file)
    kind = _read(data, "kind", Options(KINDS), file, "intervention.", default="benefit")
    decision = NoneOr(Text(say="a non-empty text (the ethics board's decision)"))
    reference = _read(data, "ethics_reference", decision, file, "intervention.", default=None)
    if kind == "enforcement" and reference is None:
        raise SchemaError(
            "an enforcement-only intervention needs an ethics_reference (the ethics board's decision that "
            "approved randomising enforcement over buurten)",
            where=Location(file=file, column="intervention.ethics_reference"),
            fix="add intervention.ethics_reference: '<decision number>', or design a benefit intervention",
        )
    return Intervention(
        _read(data, "description", Text(), file, "intervention.").strip(), str(kind), reference
    )


def _design(data: dict[str, Any], file: str | None) -> Design:
    """The design block: ``blocks`` only in a cluster design, ``treated_share`` not in a stepped wedge,
    ``steps`` only in a stepped wedge (checked against the periods by :func:`_wedge_steps`)."""
    _refuse_unknown(data, {"type", "blocks", "treated_share", "randomisations", "steps"}, "design", file)
    kind = _read(data, "type", Options(DESIGNS), file, "design.", default="cluster")
    if kind == "crossover" and "blocks" in data:
        raise _error("left out: a crossover randomises the periods of each buurt, every buurt its own block", file,
                     "design.blocks", data["blocks"])  # fmt: skip
    if kind == "stepped_wedge":
        for key, why in (("blocks", "the buurten are balanced over the steps by forecast rank"),
                         ("treated_share", "the share treated follows from the steps")):  # fmt: skip
            if key in data:
                raise _error(f"left out in a stepped wedge: {why}", file, f"design.{key}", data[key])
    elif "steps" in data:
        raise _error("left out: steps belong to a stepped_wedge design", file, "design.steps", data["steps"])
    blocks = data.get("blocks", list(BLOCK_KEYS) if kind == "cluster" else [])
    if not isinstance(blocks, list) or not set(blocks) <= set(BLOCK_KEYS) or len(set(blocks)) != len(blocks):
        raise _error(
            f"a list of distinct names out of {', '.join(BLOCK_KEYS)}", file, "design.blocks", blocks
        )
    share = float(_read(data, "treated_share", SHARE, file, "design.", default=0.5))
    draws = _read(data, "randomisations", Integer(low=99), file, "design.", default=2000)
    return Design(str(kind), tuple(blocks), share, draws)


def _wedge_steps(design: Design, data: dict[str, Any], periods: int, file: str | None) -> Design:
    """A stepped wedge's steps: 1 to ``periods - 1`` (default ``periods - 1``), so the first period is all
    control and every buurt is treated in at least the last."""
    if periods < 2:
        raise _error("at least 2 in a stepped wedge (a control period, then the steps)", file,
                     "outcome.periods", periods)  # fmt: skip
    steps = _read(data, "steps", Integer(low=1, high=periods - 1), file, "design.", default=periods - 1)
    return Design(design.type, design.blocks, design.treated_share, design.randomisations, steps)


def _mapping(data: object, path: str, file: str | None) -> dict[str, Any]:
    """Refuse anything but a mapping with string keys (:func:`pulsetwin.schema.params.read_mapping`)."""
    return read_mapping(data, file=file, path=path, fix=FIX, word="fields")


def _refuse_unknown(data: Mapping[str, Any], allowed: set[str], path: str, file: str | None) -> None:
    """Refuse fields the format does not know (:func:`pulsetwin.schema.params.refuse_unknown_keys`)."""
    refuse_unknown_keys(data, allowed, file=file, fix=FIX, path=path, word="fields")


def _read(
    data: dict[str, Any],
    key: str,
    rule: Rule,
    file: str | None,
    prefix: str = "",
    *,
    default: object = REQUIRED,
) -> Any:
    """The value of one field, checked by ``rule`` (see :func:`pulsetwin.schema.params.read_key`)."""
    return read_key(data, key, rule, file=file, fix=FIX, prefix=prefix, default=default)


def _error(expected: str, file: str | None, column: str, value: object) -> SchemaError:
    return SchemaError(
        f"must be {expected}",
        where=Location(file=file, column=column, value=value),
        fix=FIX,
    )
