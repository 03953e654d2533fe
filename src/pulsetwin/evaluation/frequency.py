"""Which period length (week or month) a backtest or forecast runs at, and its default horizon and folds.

A store built from a city's own files often holds one frequency only (police counts per month); the twin holds
both. Rule: an explicit frequency is used as given; without one, the only frequency the incidents hold is used
and said so; with both present the choice is refused, listing them, because either reading is plausible and
they answer different questions. Horizon and folds default per frequency (:attr:`Freq.default_horizon`,
:attr:`Freq.default_folds`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pulsetwin.exceptions import ParameterError, StoreError
from pulsetwin.schema.periods import Freq

if TYPE_CHECKING:
    from pulsetwin.store.database import Store


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


def choose_freq(
    freq: Freq | str | None, present: tuple[str, ...], *, command: str = "pulsetwin", option: str = "--freq"
) -> Freq:
    """``freq`` when given, else the single frequency in ``present``; refuses none or both with the choices,
    and a given one the store does not hold (when it holds another). ``option`` is how the caller's user
    passes a frequency (``--freq`` on the command line, ``?freq=`` in the API), named in the fix."""
    if freq is not None:
        chosen = Freq.parse(freq, command)
        if present and chosen not in present:
            raise ParameterError(
                f"the store holds no incidents at freq {chosen} ({chosen.words}); it holds "
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
    return Freq.parse(present[0], command)


def _sep(option: str) -> str:
    """A space after a command-line option (``--freq M``), nothing after a query key (``?freq=M``)."""
    return "" if option.endswith("=") else " "


def _listed(present: tuple[str, ...]) -> str:
    """``M (months), W (weeks)``."""
    return ", ".join(f"{f} ({Freq(f).words})" if f in tuple(Freq) else f for f in present)


def resolve_periods(
    store: Store,
    *,
    freq: Freq | str | None,
    horizon: int | None = None,
    folds: int | None = None,
    command: str = "pulsetwin",
) -> PeriodSettings:
    """The frequency (given, or the store's only one), and the horizon and folds (given, or its defaults)."""
    chosen = choose_freq(freq, stored_freqs(store), command=command)
    notes = []
    if freq is None:
        notes.append(f"freq {chosen} ({chosen.words}): the only frequency the store's incidents hold")
    if horizon is None:
        horizon = chosen.default_horizon
        notes.append(f"horizon {horizon} (default for freq {chosen})")
    if folds is None:
        folds = chosen.default_folds
        notes.append(f"folds {folds} (default for freq {chosen})")
    return PeriodSettings(chosen, horizon, folds, "; ".join(notes) if notes else None)
