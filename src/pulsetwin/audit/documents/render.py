"""Render the accountability documents from the measured context into a directory."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from pulsetwin.audit.documents.context import build_context
from pulsetwin.audit.documents.register import register_entry, register_schema, validate_register

if TYPE_CHECKING:
    from pulsetwin.store.database import Store

TEMPLATES = Path(__file__).parent / "templates"
DOCUMENTS = {
    "model_card.md": "model_card.md.j2",
    "model_card.html": "model_card.html.j2",
    "annex_iv.md": "annex_iv.md.j2",
    "iama.md": "iama.md.j2",
}


def number(value: object, digits: int = 3) -> str:
    """A number for a document: ``–`` when missing, ``∞`` for an infinite ratio."""
    if value is None or value == "":
        return "–"
    if value in ("inf", "-inf"):
        return "∞" if value == "inf" else "-∞"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if math.isnan(value):
        return "–"
    return str(value) if isinstance(value, int) else f"{value:.{digits}f}"


def environment(*, html: bool) -> Environment:
    """A strict Jinja environment over the shipped templates (HTML autoescaped)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        autoescape=html,
        keep_trailing_newline=True,
    )
    env.filters["num"] = number
    return env


def write_documents(
    store: Store,
    out_dir: str | Path,
    *,
    run_id: str | None = None,
    organisation: dict[str, str] | None = None,
) -> list[Path]:
    """Write the model card (md, html), the register entry (validated JSON, plus its schema), the Annex IV
    documentation and the IAMA draft for ``run_id`` (default the latest forecast run) to ``out_dir``."""
    context = build_context(store, run_id=run_id, organisation=organisation)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    entry = register_entry(context)
    validate_register(entry, file=str(out / "algoritmeregister.json"))
    written: list[Path] = []
    for name, template in DOCUMENTS.items():
        text = environment(html=name.endswith(".html")).get_template(template).render(c=context)
        written.append(_write(out / name, text))
    written.append(
        _write(out / "algoritmeregister.json", json.dumps(entry, indent=2, ensure_ascii=False) + "\n")
    )
    schema = json.dumps(register_schema(), indent=2, ensure_ascii=False) + "\n"
    written.append(_write(out / "algoritmeregister.schema.json", schema))
    return written


def _write(path: Path, text: str) -> Path:
    """Write atomically (temp file, then rename)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
