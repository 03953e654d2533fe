"""The audit policy: which findings block a forecast run, and the parameters of the audit.

A policy is a YAML file (default: the shipped ``default_policy.yaml``). Its keys are read through the declared
rules of :mod:`pulsetwin.schema.params`; unknown keys and unknown finding codes are refused, so a typo cannot
silently switch a check off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from pulsetwin.audit.disparity import MIN_AREAS
from pulsetwin.audit.findings import FINDING_CODES
from pulsetwin.exceptions import SchemaError
from pulsetwin.schema.params import Integer, NoneOr, Number, Options, Rule, read_key, refuse_unknown_keys
from pulsetwin.schema.variables import VariableNames

ON_INSUFFICIENT = ("cannot_assess", "block", "warn")
"""What a blocking check without enough data does: verdict ``insufficient``, a block, or only a warning."""
_POLICY_KEYS = {
    "top_k",
    "threshold",
    "bins",
    "reference",
    "band",
    "proxy",
    "block",
    "min_areas",
    "insufficient",
    "variables",
}
_PROXY_KEYS = {"r2_warn", "r2_block", "folds", "repeats", "trees"}
AFFLUENT = "affluent"
"""Income reference group: the most affluent bin, ``highest`` or ``lowest`` by ``variables.income_direction``."""


@dataclass(frozen=True)
class Policy:
    """Which findings block, and the parameters of the audit (see ``default_policy.yaml`` for every key)."""

    top_k: float | None
    threshold: float | None
    bins: int
    reference: dict[str, str]
    band: tuple[float, float]
    proxy: dict[str, float]
    block: tuple[str, ...]
    source: str
    min_areas: int = MIN_AREAS
    insufficient: str = "cannot_assess"
    variables: VariableNames = field(default_factory=VariableNames)

    def income_reference(self) -> str:
        """The income reference group as a bin rule or label (``affluent`` resolved by the income direction)."""
        reference = self.reference["income"]
        if reference != AFFLUENT:
            return reference
        return "highest" if self.variables.income_direction == "higher" else "lowest"

    def to_dict(self) -> dict[str, Any]:
        """Plain form for the audit record."""
        return {
            "top_k": self.top_k, "threshold": self.threshold, "bins": self.bins, "reference": self.reference,
            "band": list(self.band), "proxy": self.proxy, "block": list(self.block), "source": self.source,
            "min_areas": self.min_areas, "insufficient": self.insufficient, "variables": self.variables.to_dict(),
        }  # fmt: skip


def load_policy(path: str | Path | None = None) -> Policy:
    """Read a policy YAML (default: the shipped ``default_policy.yaml``); unknown keys and codes are refused."""
    if path is None:
        text = resources.files("pulsetwin.audit").joinpath("default_policy.yaml").read_text(encoding="utf-8")
        source = "default_policy.yaml"
    else:
        text, source = Path(path).read_text(encoding="utf-8"), str(path)
    raw = yaml.safe_load(text) or {}

    def fail(what: str, value: object) -> SchemaError:
        return SchemaError(
            what, where=_where(source, value), fix="see src/pulsetwin/audit/default_policy.yaml"
        )

    if not isinstance(raw, dict):
        raise fail("a policy must be a YAML mapping of settings", raw)
    refuse_unknown_keys(raw, set(_POLICY_KEYS), file=source, fix=_POLICY_FIX, word="policy keys")
    given = raw.get("proxy") or {}
    if not isinstance(given, dict):
        raise fail("proxy must be a mapping of settings", given)
    refuse_unknown_keys(
        given, set(_PROXY_KEYS), file=source, fix=_POLICY_FIX, path="proxy", word="proxy keys"
    )
    proxy = {
        key: read_key(given, key, rule, file=source, fix=_POLICY_FIX, prefix="proxy.", default=default)
        for key, (rule, default) in _PROXY_RULES.items()
    }
    block = tuple(raw.get("block") or ())
    unknown = [code for code in block if code not in FINDING_CODES]
    if unknown:
        raise fail(f"block must list finding codes among {list(FINDING_CODES)}", unknown)
    band = tuple(float(b) for b in raw.get("band", (0.8, 1.25)))
    if len(band) != 2 or not 0 < band[0] <= 1 <= band[1]:
        raise fail("band must be [low, high] with 0 < low <= 1 <= high", raw.get("band"))
    reference = {"protected": "lowest", "income": AFFLUENT, **(raw.get("reference") or {})}
    values = {
        key: read_key(raw, key, rule, file=source, fix=_POLICY_FIX, default=default)
        for key, (rule, default) in _POLICY_RULES.items()
    }
    top_k, threshold = values["top_k"], values["threshold"]
    if threshold is not None:
        top_k = None
    min_areas, on_insufficient = values["min_areas"], values["insufficient"]
    return Policy(
        top_k=None if top_k is None else float(top_k), threshold=None if threshold is None else float(threshold),
        bins=values["bins"], reference=reference, band=(band[0], band[1]), proxy=proxy, block=block,
        source=source, min_areas=min_areas, insufficient=str(on_insufficient),
        variables=VariableNames.from_mapping(raw.get("variables"), source=source),
    )  # fmt: skip


_POLICY_FIX = "see src/pulsetwin/audit/default_policy.yaml"
_SHARE = Number(low=0.0, high=1.0)
_POLICY_RULES: dict[str, tuple[Rule, object]] = {
    "top_k": (NoneOr(Number(low=0.0, high=1.0, closed="right")), 0.1),
    "threshold": (NoneOr(Number(finite=True)), None),
    "bins": (Integer(low=2), 4),
    "min_areas": (Integer(low=1, say="an integer >= 1 (fewest areas per group for a ratio)"), MIN_AREAS),
    "insufficient": (Options(ON_INSUFFICIENT), "cannot_assess"),
}
"""Scalar policy keys: rule and default."""
_PROXY_RULES: dict[str, tuple[Rule, object]] = {
    "r2_warn": (_SHARE, 0.3),
    "r2_block": (_SHARE, 0.6),
    "folds": (Integer(low=2), 5),
    "repeats": (Integer(low=1), 5),
    "trees": (Integer(low=1), 100),
}
"""Keys of the ``proxy`` block: rule and default."""


def _where(source: str, value: object) -> Any:
    """A Location naming the policy file."""
    from pulsetwin.exceptions import Location

    return Location(file=source, value=value)
