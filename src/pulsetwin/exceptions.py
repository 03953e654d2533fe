"""The exception hierarchy of PulseTwin.

::

    PulsetwinError
    ├── SchemaError (ValueError)           bad input: names file, row, column, value and what was expected
    │   └── PersonalDataError              person-level data refused by the PII guard
    ├── ConflictError (ValueError)         re-import with rows that contradict stored rows
    ├── CRSError (ValueError)              geometry without a declared CRS, or an unusable one
    ├── ParameterError (ValueError)        bad parameter of a function or model
    ├── ParameterTypeError (TypeError)     parameter of the wrong type
    │   └── RuleTypeError (+ParameterError)  wrong type found by a declared rule (schema/params.py)
    ├── NotFittedError (RuntimeError)      predict before fit
    ├── StoreError (RuntimeError)          the store is missing, locked or lacks a table
    │   └── StoreBusyError                 another program held the store longer than the wait allowed
    ├── LogIntegrityError (RuntimeError)   the hash-chained log was edited, reordered or truncated
    ├── SourceError (RuntimeError)         an online source failed after retries
    ├── LeakageError (RuntimeError)        a history or a model used information from at or after the origin
    ├── PrivacyBudgetError (RuntimeError)  a private release would spend more epsilon than the budget allows
    └── ServerConfigError (RuntimeError)   the API server cannot start as configured
"""

from __future__ import annotations

from dataclasses import dataclass


class PulsetwinError(Exception):
    """Root of every error PulseTwin raises on purpose."""


@dataclass(frozen=True)
class Location:
    """Where in an input a problem sits; every field optional, printed in a fixed order."""

    file: str | None = None
    row: int | None = None
    column: str | None = None
    value: object | None = None

    def describe(self) -> str:
        """Render as ``file 'x', row 3, column 'count', value '-1'`` (only the known parts)."""
        parts: list[str] = []
        if self.file is not None:
            parts.append(f"file '{self.file}'")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column is not None:
            parts.append(f"column '{self.column}'")
        if self.value is not None:
            shown = repr(self.value) if not isinstance(self.value, str) else f"'{self.value}'"
            if len(shown) > 60:
                shown = shown[:57] + "..."
            parts.append(f"value {shown}")
        return ", ".join(parts)


class SchemaError(PulsetwinError, ValueError):
    """Input that breaks the canonical schema.

    The message always reads: where (file, row, column, value), what must hold, and how to fix it.
    Rows are 1-based data rows (the header is row 0 in CSV terms).
    """

    def __init__(self, expected: str, *, where: Location | None = None, fix: str | None = None) -> None:
        self.where = where or Location()
        self.expected = expected
        self.fix = fix
        head = self.where.describe()
        message = f"{head}: {expected}" if head else expected
        if fix:
            message += f". Fix: {fix}"
        super().__init__(message)


class PersonalDataError(SchemaError):
    """Person-level data found on import: PulseTwin handles places, never persons."""


class ConflictError(PulsetwinError, ValueError):
    """Rows whose keys are already stored with different values."""


class CRSError(PulsetwinError, ValueError):
    """Geometry whose coordinate reference system is missing or unusable."""


class ParameterError(PulsetwinError, ValueError):
    """A parameter with a wrong value."""


class ParameterTypeError(PulsetwinError, TypeError):
    """A parameter with a wrong type."""


class RuleTypeError(ParameterError, ParameterTypeError):
    """A parameter of the wrong type, refused by a declared rule (:mod:`pulsetwin.schema.params`).

    A TypeError as the house style asks, and a ParameterError too, so a caller that catches every bad
    parameter with one clause sees it (scikit-learn's ``InvalidParameterError`` is both as well).
    """


class NotFittedError(PulsetwinError, RuntimeError):
    """A model was asked to predict before it was fitted."""


class StoreError(PulsetwinError, RuntimeError):
    """The store cannot do what was asked (missing file, missing table, locked)."""


class StoreBusyError(StoreError):
    """Another program holds the store file (DuckDB allows one writing process) beyond the wait allowed."""


class LogIntegrityError(PulsetwinError, RuntimeError):
    """The hash-chained log does not verify; the message names the first bad record."""


class SourceError(PulsetwinError, RuntimeError):
    """An online source failed after retries or returned something malformed."""


class LeakageError(PulsetwinError, RuntimeError):
    """A History or a model used information from at or after the forecast origin."""


class PrivacyBudgetError(PulsetwinError, RuntimeError):
    """A differentially private release would spend more ε than the dataset's budget allows."""


class ServerConfigError(PulsetwinError, RuntimeError):
    """The server cannot start as configured (for instance: no users outside demo mode)."""


def bad_parameter(name: str, owner: str, must: str, got: object) -> ParameterError:
    """Build the house message for a bad parameter value."""
    return ParameterError(f"The '{name}' parameter of {owner} must be {must}. Got {got!r} instead.")
