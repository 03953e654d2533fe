"""The YAML file that maps a municipal or social-organisation file to incidents, parsed and checked once.

The format is set out in :mod:`pulsetwin.sources.mapped_files`; an unknown key, a missing part or a bad
value is refused naming the mapping file and the key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

from pulsetwin.exceptions import Location, SchemaError
from pulsetwin.schema.categories import is_valid_slug
from pulsetwin.schema.params import (
    REQUIRED,
    Boolean,
    NoneOr,
    Options,
    Rule,
    Text,
    read_key,
    refuse_unknown_keys,
)
from pulsetwin.schema.periods import Freq
from pulsetwin.schema.tables import FREQS

CHOICES: Final = ("error", "drop")
READ_KEYS: Final = ("sheet", "delimiter", "encoding", "decimal")
MAPPING_KEYS: Final = ("source", "freq", "area", "date", "category", "count", "read", "fill_zeros")
"""The top-level keys of a mapping file."""


@dataclass(frozen=True)
class FileMapping:
    """A parsed mapping file (see the module docstring for the YAML form)."""

    source: str
    freq: Freq | None
    date_column: str
    date_format: str | None = None
    area_column: str | None = None
    x: str | None = None
    y: str | None = None
    crs: str | None = None
    level: str = "buurt"
    outside: str = "error"
    category_value: str | None = None
    category_column: str | None = None
    category_map: dict[str, str] = field(default_factory=dict)
    unmapped: str = "error"
    count_column: str | None = None
    read: dict[str, Any] = field(default_factory=dict)
    fill_zeros: bool = True

    @property
    def columns(self) -> list[str]:
        """The raw columns this mapping reads."""
        named = (self.area_column, self.x, self.y, self.date_column, self.category_column, self.count_column)
        return [c for c in named if c is not None]


def load_mapping(path: Path) -> FileMapping:
    """Read and check a YAML mapping; SchemaError names the mapping file and the key that is wrong."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise SchemaError(f"a readable YAML mapping ({error})", where=Location(file=str(path))) from None
    if not isinstance(raw, dict):
        raise SchemaError("a YAML mapping (key: value)", where=Location(file=str(path)))

    def fail(key: str, expected: str, value: object = None) -> SchemaError:
        return SchemaError(
            expected, where=Location(file=str(path), column=key, value=value), fix="edit the mapping"
        )

    def read(data: dict[str, Any], key: str, rule: Rule, prefix: str = "", default: object = REQUIRED) -> Any:
        return read_key(
            data, key, rule, file=str(path), fix="edit the mapping", prefix=prefix, default=default
        )

    def block(key: str, *, required: bool) -> dict[str, Any]:
        value = raw.get(key)
        if value is None and not required:
            return {}
        if not isinstance(value, dict):
            raise fail(key, f"'{key}' must be a mapping of settings", value)
        return value

    refuse_unknown_keys(raw, set(MAPPING_KEYS), file=str(path), fix="edit the mapping", word="mapping keys")
    source = read(raw, "source", Text(say="a non-empty text naming the data set"))
    freq = read(raw, "freq", NoneOr(Options(FREQS)), default=None)
    fill_zeros = read(raw, "fill_zeros", Boolean(), default=True)
    area, date, category = (
        block("area", required=True),
        block("date", required=True),
        block("category", required=True),
    )
    count, reader = block("count", required=False), block("read", required=False)
    read(date, "column", Text(say="the name of the date column"), "date.")
    refuse_unknown_keys(
        reader, set(READ_KEYS), file=str(path), fix="edit the mapping", path="read", word="reader settings"
    )
    read(reader, "decimal", Options((".", ",")), "read.", default=".")
    if ("column" in area) == ("x" in area or "y" in area):
        raise fail("area", "either area.column (an area code) or area.x and area.y (coordinates)", area)
    if "x" in area and not ("y" in area and area.get("crs")):
        raise fail("area", "area.x with area.y and area.crs (EPSG:28992 or EPSG:4326)", area)
    outside = read(area, "outside", Options(CHOICES), "area.", default="error")
    unmapped = read(category, "unmapped", Options(CHOICES), "category.", default="error")
    if ("value" in category) == ("column" in category):
        raise fail(
            "category", "either category.value (one slug) or category.column with category.map", category
        )
    mapping = {str(k): str(v) for k, v in (category.get("map") or {}).items()}
    if "column" in category and not mapping:
        raise fail("category.map", "a value map from the column's values to category slugs")
    for slug in [*mapping.values(), *([str(category["value"])] if "value" in category else [])]:
        if not is_valid_slug(slug):
            raise fail(
                "category", "category slugs in lowercase letters, digits and _ (e.g. youth_nuisance)", slug
            )
    return FileMapping(
        source=source.strip(),
        freq=None if freq is None else Freq(freq),
        date_column=date["column"],
        date_format=date.get("format"),
        area_column=area.get("column"),
        x=area.get("x"),
        y=area.get("y"),
        crs=area.get("crs"),
        level=area.get("level", "buurt"),
        outside=outside,
        category_value=str(category["value"]) if "value" in category else None,
        category_column=category.get("column"),
        category_map=mapping,
        unmapped=unmapped,
        count_column=count.get("column"),
        read=reader,
        fill_zeros=fill_zeros,
    )
