"""Settings of the API server, validated when built: no default secrets, no silent fallbacks.

The server holds no shared secret to default: bearer tokens are random per login (``secrets``) and stored
hashed; passwords are hashed with scrypt and a per-user salt. A server that is not in demo mode refuses to
start without users (see :func:`pulsetwin.api.app.create_app`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from pulsetwin.exceptions import ParameterError, StoreError
from pulsetwin.schema.params import Boolean, Integer, Number, Rules, check_param

SETTING_RULES: Final[Rules] = {
    "demo": Boolean(),
    "token_minutes": Integer(low=1, high=24 * 60),
    "login_limit": Integer(low=1),
    "login_window": Number(low=0.0, closed="neither", say="seconds > 0"),
    "max_body_bytes": Integer(low=1024),
}
"""What the scalar settings may hold."""


@dataclass(frozen=True)
class Settings:
    """What the API serves and how.

    Attributes
    ----------
    db
        The PulseTwin store (DuckDB file); it must exist.
    demo
        Demo mode: create one user per role with random passwords (printed by the CLI) when starting.
    documents
        Directory of generated documents (reports, audit documents, scenario results) served read-only.
    token_minutes
        Lifetime of a bearer token.
    background_url
        Optional background map for online use: a WMS GetMap URL in RD New (EPSG:28992) with the placeholders
        ``{bbox}``, ``{width}`` and ``{height}`` (e.g. PDOK's BRT achtergrondkaart). None (the default): nothing
        is fetched from outside.
    anchor_file
        Where every write appends the new log head (default: ``PULSETWIN_ANCHOR_FILE``, else next to ``db``).
    anchor_key
        Key file signing the anchors (default: ``PULSETWIN_ANCHOR_KEY``, else unsigned).
    login_limit
        Wrong passwords per user name, and per client address, within ``login_window`` seconds before
        further logins are refused (429) for a while.
    login_window
        Seconds over which wrong passwords count (and the first block's length).
    max_body_bytes
        Largest request body; a larger one is refused with 413 before it is parsed.
    """

    db: Path
    demo: bool = False
    documents: Path | None = None
    token_minutes: int = 480
    background_url: str | None = None
    anchor_file: Path | None = None
    anchor_key: Path | None = None
    login_limit: int = 10
    login_window: float = 60.0
    max_body_bytes: int = 1_000_000

    def __post_init__(self) -> None:
        if not Path(self.db).is_file():
            raise StoreError(
                f"store '{self.db}' does not exist. Fix: create it with 'pulsetwin import' or "
                "'pulsetwin twin', or pass the right --db"
            )
        if self.documents is not None and not Path(self.documents).is_dir():
            raise ParameterError(
                f"The 'documents' setting must be an existing directory. Got '{self.documents}' instead."
            )
        for name, rule in SETTING_RULES.items():
            check_param(name, None, rule, getattr(self, name))
        if self.background_url is not None and (
            not self.background_url.startswith("https://")
            or any(f"{{{k}}}" not in self.background_url for k in ("bbox", "width", "height"))
        ):
            raise ParameterError(
                "The 'background_url' setting must be an https:// WMS GetMap URL in EPSG:28992 holding {bbox}, "
                f"{{width}} and {{height}}. Got {self.background_url!r} instead."
            )
