"""The twin's provenance label: the import source a generated twin is stored under, ``twin:<preset>:seed<N>``.

The twin owns this label. It is written and read here only: writers store ``str(TwinSource(...))`` (or
:attr:`pulsetwin.twin.generate.TwinCity.source`), readers call :meth:`TwinSource.parse`, so nobody builds or
matches the text by hand (a hand-written ``twin:<seed>`` once left the origin oracle silently off).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from pulsetwin.exceptions import bad_parameter


@dataclass(frozen=True)
class TwinSource:
    """The preset and seed that regenerate a stored twin exactly (with the calendar of its truth).

    Parameters
    ----------
    preset
        A twin preset name (letters, digits, ``_`` or ``-``).
    seed
        The non-negative integer seed of :func:`pulsetwin.twin.generate_twin`.
    """

    PATTERN: ClassVar[re.Pattern[str]] = re.compile(r"twin:(?P<preset>[A-Za-z0-9_-]+):seed(?P<seed>[0-9]+)")

    preset: str
    seed: int

    def __post_init__(self) -> None:
        if not isinstance(self.preset, str) or not re.fullmatch(r"[A-Za-z0-9_-]+", self.preset):
            raise bad_parameter(
                "preset", "TwinSource", "a preset name of letters, digits, _ or -", self.preset
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise bad_parameter("seed", "TwinSource", "a non-negative int", self.seed)

    def __str__(self) -> str:
        """The stored label, ``twin:<preset>:seed<N>``."""
        return f"twin:{self.preset}:seed{self.seed}"

    @classmethod
    def parse(cls, label: str) -> TwinSource | None:
        """The twin a stored import source names, or None when the source is not a generated twin's label."""
        match = cls.PATTERN.fullmatch(label)
        if match is None:
            return None
        return cls(match["preset"], int(match["seed"]))
