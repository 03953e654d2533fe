"""Which period length (week or month) a backtest or forecast runs at, and its default horizon and folds.

A store built from a city's own files often holds one frequency only (police counts per month); the twin holds
both. Rule: an explicit frequency is used as given; without one, the only frequency the incidents hold is used
and said so; with both present the choice is refused, listing them, because either reading is plausible and
they answer different questions. Horizon and folds default per frequency: a month ahead in weeks (4 periods,
3 folds) or a quarter ahead in months (3 periods, 4 folds, so the origins span a year of seasons).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from pulsetwin.exceptions import ParameterError, StoreError, bad_parameter
from pulsetwin.models.base import Freq

if TYPE_CHECKING:
    from pulsetwin.store.database import Store

DEFAULT_HORIZON: Final[dict[str, int]] = {"W": 4, "M": 3}
"""Periods ahead when ``--horizon`` is not given: about a month in weeks, a quarter in months."""
DEFAULT_FOLDS: Final[dict[str, int]] = {"W": 3, "M": 4}
"""Rolling origins when ``--folds`` is not given (with step = horizon: 12 weeks, or 12 months of origins)."""
FREQ_WORDS: Final[dict[str, str]] = {"W": "weeks", "M": "months"}


@dataclass(frozen=True)
class PeriodSettings:
    """The frequency, horizon and folds a command runs with, and a note when any was read from the store."""

    freq: Freq
    horizon: int
    folds: int
    note: str | None = None


def stored_freqs(store: Store) -> tuple[str, ...]:
    """The frequencies the store's incidents hold, sorted (``()`` when there are none)."""
    return tuple(str(value) for value in store.distinct("incidents", "freq"))


def as_freq(value: str, owner: str = "pulsetwin") -> Freq:
    """``value`` as a :data:`Freq`; anything but ``W`` or ``M`` is refused."""
    if value == "W":
        return "W"
    if value == "M":
        return "M"
    raise bad_parameter("freq", owner, "'W' or 'M'", value)


def choose_freq(
    freq: str | None, present: tuple[str, ...], *, command: str = "pulsetwin", option: str = "--freq"
) -> Freq:
    """``freq`` when given, else the single frequency in ``present``; refuses none or both with the choices,
    and a given one the store does not hold (when it holds another). ``option`` is how the caller's user
    passes a frequency (``--freq`` on the command line, ``?freq=`` in the API), named in the fix."""
    if freq is not None:
        chosen = as_freq(freq, command)
        if present and chosen not in present:
            raise ParameterError(
                f"the store holds no incidents at freq {chosen} ({FREQ_WORDS[chosen]}); it holds "
                f"{_listed(present)}. Fix: pass {option}{_sep(option)}{present[0]} (or leave {option} out) "
                f"to `{command}`"
            )
        return chosen
    if not present:
        raise StoreError(f"the store holds no incidents. Fix: import incidents first, then run `{command}`")
    if len(present) > 1:
        raise ParameterError(
            f"the store holds incidents at more than one frequency: {_listed(present)}. "
            f"Fix: pass {option} with one of {', '.join(present)} to `{command}`"
        )
    return as_freq(present[0], command)


def _sep(option: str) -> str:
    """A space after a command-line option (``--freq M``), nothing after a query key (``?freq=M``)."""
    return "" if option.endswith("=") else " "


def _listed(present: tuple[str, ...]) -> str:
    """``M (months), W (weeks)``."""
    return ", ".join(f"{f} ({FREQ_WORDS.get(f, f)})" for f in present)


def resolve_periods(
    store: Store,
    *,
    freq: str | None,
    horizon: int | None = None,
    folds: int | None = None,
    command: str = "pulsetwin",
) -> PeriodSettings:
    """The frequency (given, or the store's only one), and the horizon and folds (given, or its defaults)."""
    chosen = choose_freq(freq, stored_freqs(store), command=command)
    notes = []
    if freq is None:
        notes.append(f"freq {chosen} ({FREQ_WORDS[chosen]}): the only frequency the store's incidents hold")
    if horizon is None:
        horizon = DEFAULT_HORIZON[chosen]
        notes.append(f"horizon {horizon} (default for freq {chosen})")
    if folds is None:
        folds = DEFAULT_FOLDS[chosen]
        notes.append(f"folds {folds} (default for freq {chosen})")
    return PeriodSettings(chosen, horizon, folds, "; ".join(notes) if notes else None)
