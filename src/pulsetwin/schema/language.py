"""The languages PulseTwin's readers choose between: Dutch by default (the municipality's), English available.

One home for the type every text-producing layer (the audit summary, the model explanations, the report, the
API) takes, so a third language is added here and checked everywhere by the type checker.
"""

from __future__ import annotations

from typing import Final, Literal

Lang = Literal["nl", "en"]
"""A reader's language: ``nl`` (default) or ``en``."""
LANGS: Final[tuple[Lang, ...]] = ("nl", "en")
"""Every language, the default first; text tables list their translations in this order."""
