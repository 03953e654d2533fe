"""Declared parameter rules: what a parameter or a key of a YAML spec may hold, stated once as data.

An estimator lists its rules in a ``parameter_rules`` table (the scikit-learn ``_parameter_constraints`` habit)
and checks them in ``fit``; functions with a few checked arguments call :func:`check_param`; YAML loaders read
every key through :func:`read_key`. One rule gives both messages: the house sentence for a parameter ("The 'k'
parameter of MovingMean must be an integer >= 1. Got 0 instead.") and, for a spec file, the file, the key, the
value, what was expected and how to fix it.

Why our own and not a library: scikit-learn's validator is private API, and pydantic coerces by default and
words its errors its own way; the rules here are a handful of frozen dataclasses whose one job is to say what
must hold in the house template.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Final, Literal

import numpy as np

from pulsetwin.exceptions import Location, ParameterError, RuleTypeError, SchemaError


class Rule(ABC):
    """What one parameter may hold."""

    @abstractmethod
    def accepts(self, value: object) -> bool:
        """Whether ``value`` satisfies the rule."""

    def kind_ok(self, value: object) -> bool:
        """Whether ``value`` is of a type the rule can accept (a refused value of the right type is a wrong
        value, else a wrong type)."""
        return True

    @abstractmethod
    def describe(self, *, plural: bool = False) -> str:
        """What must hold, as the end of "must be ..." (``plural`` for "a tuple of ...")."""


@dataclass(frozen=True)
class Integer(Rule):
    """A whole number (a Python or NumPy integer, never a ``bool``) in ``[low, high]`` (either bound may be left
    open-ended)."""

    low: int | None = None
    high: int | None = None
    say: str | None = None
    """Words replacing the generated description (e.g. "a whole number of metres >= 1")."""

    def accepts(self, value: object) -> bool:
        """An int, not a bool, within the bounds."""
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            return False
        return bool((self.low is None or value >= self.low) and (self.high is None or value <= self.high))

    def kind_ok(self, value: object) -> bool:
        """A Python or NumPy integer, not a bool."""
        return not isinstance(value, bool) and isinstance(value, int | np.integer)

    def describe(self, *, plural: bool = False) -> str:
        """E.g. "an integer >= 1", "integers in [1, 12]"."""
        if self.say is not None:
            return self.say
        noun = "integers" if plural else "an integer"
        if self.low is not None and self.high is not None:
            return f"{noun} in [{self.low}, {self.high}]"
        if self.low is not None:
            return f"{noun} >= {self.low}"
        if self.high is not None:
            return f"{noun} <= {self.high}"
        return noun


@dataclass(frozen=True)
class Number(Rule):
    """A real number (Python or NumPy; never a ``bool``, never NaN) between ``low`` and ``high``.

    ``closed`` says which bounds are included, as in scikit-learn's ``Interval``; ``finite`` refuses infinities.
    """

    low: float | None = None
    high: float | None = None
    closed: Literal["both", "left", "right", "neither"] = "both"
    finite: bool = False
    say: str | None = None
    """Words replacing the generated description (e.g. "a positive number of days")."""

    def accepts(self, value: object) -> bool:
        """A real number, not a bool nor NaN, within the bounds."""
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
            return False
        if math.isnan(value):
            return False
        if self.finite and not math.isfinite(value):
            return False
        left = self.closed in ("both", "left")
        right = self.closed in ("both", "right")
        low_ok = self.low is None or value > self.low or (left and value == self.low)
        high_ok = self.high is None or value < self.high or (right and value == self.high)
        return bool(low_ok and high_ok)

    def kind_ok(self, value: object) -> bool:
        """A Python or NumPy real number, not a bool."""
        return not isinstance(value, bool) and isinstance(value, int | float | np.integer | np.floating)

    def describe(self, *, plural: bool = False) -> str:
        """E.g. "a number > 0", "a number in [0, 1)", "a finite number"."""
        if self.say is not None:
            return self.say
        noun = (
            ("finite numbers" if plural else "a finite number")
            if self.finite
            else ("numbers" if plural else "a number")
        )
        left = self.closed in ("both", "left")
        right = self.closed in ("both", "right")
        if self.low is not None and self.high is not None:
            return f"{noun} in {'[' if left else '('}{self.low:g}, {self.high:g}{']' if right else ')'}"
        if self.low is not None:
            return f"{noun} {'>=' if left else '>'} {self.low:g}"
        if self.high is not None:
            return f"{noun} {'<=' if right else '<'} {self.high:g}"
        return noun


@dataclass(frozen=True)
class Boolean(Rule):
    """``True`` or ``False`` (not 0 or 1)."""

    def accepts(self, value: object) -> bool:
        """Only a bool."""
        return isinstance(value, bool)

    def kind_ok(self, value: object) -> bool:
        """Only a bool."""
        return isinstance(value, bool)

    def describe(self, *, plural: bool = False) -> str:
        """The words "True or False"."""
        return "True or False"


@dataclass(frozen=True)
class Text(Rule):
    """A string with at least one non-blank character."""

    say: str | None = None
    """Words replacing "a non-empty text"."""

    def accepts(self, value: object) -> bool:
        """A non-blank str."""
        return isinstance(value, str) and bool(value.strip())

    def kind_ok(self, value: object) -> bool:
        """A str."""
        return isinstance(value, str)

    def describe(self, *, plural: bool = False) -> str:
        """The words "a non-empty text" (or :attr:`say`)."""
        if self.say is not None:
            return self.say
        return "non-empty texts" if plural else "a non-empty text"


@dataclass(frozen=True)
class Options(Rule):
    """One of a fixed set of values (compared with ``==``; bools are never taken for 0 or 1)."""

    values: tuple[object, ...]

    def accepts(self, value: object) -> bool:
        """``value`` is one of :attr:`values` (and of the same kind for bools)."""
        return any(value == v and isinstance(value, bool) == isinstance(v, bool) for v in self.values)

    def describe(self, *, plural: bool = False) -> str:
        """E.g. "one of 'W', 'M'"."""
        return f"{'values out' if plural else 'one'} of {', '.join(repr(v) for v in self.values)}"


@dataclass(frozen=True)
class NoneOr(Rule):
    """``None`` or whatever ``rule`` accepts."""

    rule: Rule

    def accepts(self, value: object) -> bool:
        """None, or accepted by the inner rule."""
        return value is None or self.rule.accepts(value)

    def kind_ok(self, value: object) -> bool:
        """None, or of the inner rule's type."""
        return value is None or self.rule.kind_ok(value)

    def describe(self, *, plural: bool = False) -> str:
        """E.g. "None or an integer >= 1"."""
        return f"None or {self.rule.describe(plural=plural)}"


@dataclass(frozen=True)
class TupleOf(Rule):
    """A ``tuple`` (a ``list`` too when ``lists``, as YAML gives) whose items all satisfy ``item``."""

    item: Rule
    lists: bool = False
    non_empty: bool = False

    def accepts(self, value: object) -> bool:
        """A tuple (or list) of accepted items, non-empty when required."""
        if not isinstance(value, tuple | list) or (isinstance(value, list) and not self.lists):
            return False
        return bool(value or not self.non_empty) and all(self.item.accepts(v) for v in value)

    def kind_ok(self, value: object) -> bool:
        """A tuple (or a list when lists are taken)."""
        return isinstance(value, tuple) or (self.lists and isinstance(value, list))

    def describe(self, *, plural: bool = False) -> str:
        """E.g. "a tuple of integers >= 1", "a non-empty list of non-empty texts"."""
        kind = "list" if self.lists else "tuple"
        head = f"a non-empty {kind}" if self.non_empty else f"a {kind}"
        return f"{head} of {self.item.describe(plural=True)}"


Rules = Mapping[str, Rule]
"""A parameter table: parameter name to rule."""


def check_param(name: str, owner: str | None, rule: Rule, value: object) -> Any:
    """Return ``value`` when ``rule`` accepts it, else raise the house :class:`ParameterError`.

    Raises
    ------
    pulsetwin.exceptions.ParameterError
        "The '<name>' parameter of <owner> must be <rule>. Got <value> instead." (``owner`` None: a setting,
        "The '<name>' setting must be ..."); a :class:`~pulsetwin.exceptions.RuleTypeError` (a TypeError as
        well) when the value is of the wrong type.
    """
    if rule.accepts(value):
        return value
    subject = f"The '{name}' setting" if owner is None else f"The '{name}' parameter of {owner}"
    message = f"{subject} must be {rule.describe()}. Got {value!r} instead."
    raise ParameterError(message) if rule.kind_ok(value) else RuleTypeError(message)


def check_params(owner: str, rules: Rules, values: Mapping[str, object]) -> None:
    """Check every parameter of ``rules`` in ``values`` (in the table's order); the first bad one raises."""
    for name, rule in rules.items():
        check_param(name, owner, rule, values[name])


class DeclaredParameters:
    """Mixin of estimators: a ``parameter_rules`` table checked by :meth:`_check_params` at the start of ``fit``.

    Every constructor parameter is stored under its own name (the scikit-learn habit), so the table is checked
    against ``vars(self)``; a subclass adds cross-parameter checks by extending :meth:`_check_params`.
    """

    parameter_rules: ClassVar[Rules] = {}
    """What each constructor parameter may hold."""

    def _check_params(self) -> None:
        """Refuse constructor parameters that break :attr:`parameter_rules`."""
        check_params(type(self).__name__, self.parameter_rules, vars(self))


class _Required:
    """Marks a spec key without a default."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Final = _Required()
"""Default of :func:`read_key` for a key that must be present."""


def read_mapping(
    data: object, *, file: str | None, path: str, fix: str, word: str = "keys"
) -> dict[str, Any]:
    """``data`` (a parsed YAML block at ``path``) as a mapping with text keys; anything else is refused.

    Raises
    ------
    pulsetwin.exceptions.SchemaError
        Naming the file, the block's path (``(top level)`` for the document) and ``fix``.
    """
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise SchemaError(
            f"must be a mapping of named {word}",
            where=Location(file=file, column=path or "(top level)", value=data),
            fix=fix,
        )
    return data


def refuse_unknown_keys(
    data: Mapping[str, Any],
    allowed: set[str],
    *,
    file: str | None,
    fix: str,
    path: str = "",
    word: str = "keys",
) -> None:
    """Refuse a key of a parsed YAML mapping that the format does not know (a typo must never be ignored).

    Raises
    ------
    pulsetwin.exceptions.SchemaError
        Naming the file, the first unknown key's path (``path.key``), the keys allowed there and ``fix``.
    """
    unknown = sorted(str(k) for k in set(data) - allowed)
    if unknown:
        raise SchemaError(
            f"must be one of the {word} {', '.join(sorted(allowed))}",
            where=Location(
                file=file, column=f"{path}.{unknown[0]}" if path else unknown[0], value=unknown[0]
            ),
            fix=fix,
        )


def read_key(
    data: Mapping[str, Any],
    key: str,
    rule: Rule,
    *,
    file: str | None,
    fix: str,
    prefix: str = "",
    default: object = REQUIRED,
) -> Any:
    """The value of ``key`` of a parsed YAML mapping when ``rule`` accepts it (``default`` when absent).

    Raises
    ------
    pulsetwin.exceptions.SchemaError
        Naming the file, the key path (``prefix + key``), the value, what it must be and ``fix``.
    """
    if key not in data:
        if default is REQUIRED:
            raise SchemaError(
                f"must be {rule.describe()} (the key is missing)",
                where=Location(file=file, column=prefix + key),
                fix=fix,
            )
        return default
    value = data[key]
    if not rule.accepts(value):
        raise SchemaError(
            f"must be {rule.describe()}", where=Location(file=file, column=prefix + key, value=value), fix=fix
        )
    return value
