"""The Algoritmeregister entry (publication standard 1.0.0, Dutch) built from measured values, and its
validation against the JSON Schema shipped next to this module."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator

from pulsetwin.exceptions import Location, SchemaError
from pulsetwin.schema.periods import Freq

CATEGORY = "Openbare orde en veiligheid"
PUBLICATION_CATEGORY = "Impactvolle algoritmes"


def register_schema() -> dict[str, Any]:
    """The JSON Schema of a register entry (required fields, enums, length limits)."""
    text = resources.files("pulsetwin.audit.documents").joinpath("register_schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def validate_register(entry: dict[str, Any], *, file: str | None = None) -> None:
    """Raise SchemaError naming every field that breaks the schema (missing, empty, too long, wrong value)."""
    errors = sorted(Draft202012Validator(register_schema()).iter_errors(entry), key=lambda e: list(e.path))
    if errors:
        shown = "; ".join(
            f"{'/'.join(map(str, e.path)) or '<entry>'}: {e.message[:120]}" for e in errors[:10]
        )
        raise SchemaError(
            f"the Algoritmeregister entry breaks publication standard 1.0.0 ({len(errors)} problems): {shown}",
            where=Location(file=file),
            fix="fill the named fields (organisation facts via --org FILE.yaml) and shorten texts over the limit",
        )


def _pct(value: object) -> str:
    """A share as a Dutch percentage ('–' when missing)."""
    return "–" if not isinstance(value, int | float) else f"{100 * value:.1f} %".replace(".", ",")


def _num(value: object) -> str:
    """A number with a decimal comma ('–' when missing, words for a ratio without enough data)."""
    if value == "insufficient":
        return "niet te bepalen: te weinig gegevens"
    if isinstance(value, str):
        return value
    return "–" if not isinstance(value, int | float) else f"{value:.2f}".replace(".", ",")


def _ratio(result: dict[str, Any], group: dict[str, Any]) -> str:
    """The exposure ratio of a group, or its corrected ratio when the reference exposure is 0."""
    if group["group"] in (result.get("corrected") or {}).get("exposure", []):
        return f"{_num(group.get('exposure_ratio_corrected'))}, gecorrigeerd: niemand in de referentiegroep gemarkeerd"
    return _num(group["exposure_ratio"])


def register_entry(c: dict[str, Any]) -> dict[str, Any]:
    """The entry's fields in Dutch, from the document context of :func:`build_context`."""
    ask = c["to_answer"]
    org = c["organisation"]
    run, skill, audit, data = c["run"], c["skill"], c["audit"], c["data"]
    period = Freq.parse(run["freq"], "the register entry's run").unit("nl")
    protected = [d for d in audit["disparity"] if d["grouping"] == "protected"]
    exposure = "; ".join(
        f"{d['attribute']} ({d['year']}, {d['definition']}): blootstelling hoogste groep "
        f"{_pct(d['groups'][-1]['exposure'])} tegen {_pct(d['groups'][0]['exposure'])} in de referentiegroep "
        f"(verhouding {_ratio(d, d['groups'][-1])})"
        for d in protected
    )
    proxies = "; ".join(f"{p['attribute']}: R² {_num(p['r2'])}" for p in audit["proxies"])
    blocking = [f["code"] for f in audit["findings"] if f["blocking"]]
    unassessed = [f["code"] for f in audit["findings"] if f.get("cannot_assess")]
    categories = ", ".join(f"{cat['label_nl']} ({cat['origin']})" for cat in data["categories"])
    entry: dict[str, Any] = {
        "name": "PulseTwin: voorspelling leefbaarheid en veiligheid per buurt",
        "description_short": (
            f"Voorspelt per buurt en per {period} het verwachte aantal geregistreerde incidenten in "
            f"{len(data['categories'])} categorieën, om te zien waar leefbaarheids- en veiligheidsproblemen "
            "toenemen. Gaat over plaatsen, nooit over personen. Getoetst tegen eenvoudige voorspellingen en op "
            "ongelijke effecten per groep buurten."
        ),
        "organization": org["organization"],
        "category": CATEGORY,
        "status": org.get("status", "In ontwikkeling"),
        "publication_category": PUBLICATION_CATEGORY,
        "goal": (
            f"Signaleren in welke van de {data['areas']} buurten problemen met leefbaarheid en veiligheid de "
            f"komende {run['horizon']} {period}en waarschijnlijk toenemen, met onzekerheid, als één signaal "
            f"naast andere voor wijkteams en beleid. {ask} Welk probleem lost dit op en voor wie?"
        ),
        "proportionality": (
            f"Gemeten voordeel: skill {_num(skill.get('skill'))} (interval {_num(skill.get('skill_lo'))} tot "
            f"{_num(skill.get('skill_hi'))}) ten opzichte van de beste eenvoudige voorspelling "
            f"({skill.get('baseline')}). Gemeten risico: {exposure or 'geen beschermde kenmerken beschikbaar'}. "
            f"{ask} Weegt het voordeel op tegen de risico's, en zijn er minder ingrijpende alternatieven?"
        ),
        "human_intervention": (
            "De uitkomst is een kaart met verwachte aantallen en onzekerheid; er volgt geen automatisch besluit. "
            f"Een run met blokkerende bevindingen wordt gemarkeerd als geblokkeerd. {ask} Wie beoordeelt de "
            "markeringen en mag ervan afwijken?"
        ),
        "risks": (
            f"Ongelijke blootstelling van bewoners aan gemarkeerde buurten: {exposure or '–'}. Proxy's van "
            f"beschermde kenmerken in de modelkenmerken: {proxies or '–'}. Registratie door politie-inzet kan "
            f"zichzelf versterken (feedback). Blokkerende bevindingen van de laatste audit: "
            f"{', '.join(blocking) or 'geen'}."
            + (f" Niet te beoordelen door te weinig gegevens: {', '.join(unassessed)}." if unassessed else "")
            + f" {ask} Welke restrisico's worden aanvaard, en door wie?"
        ),
        "lawful_basis": org.get("lawful_basis", f"{ask} Op welke wettelijke grondslag berust de inzet?"),
        "impacttoetsen": (
            f"IAMA: voorbereidend concept gegenereerd uit audit {audit['run_id']}, oordelen nog open. "
            f"DPIA: {ask} uitgevoerd, en met welke uitkomst?"
        ),
        "impacttoetsen_grouping": [{"title": "IAMA (concept)"}, {"title": "DPIA"}],
        "source_data": (
            f"Geregistreerde incidenten per buurt en periode ({data['first_period']} t/m {data['last_period']}; "
            f"categorieën: {categories}); CBS Kerncijfers wijken en buurten. Bronnen in de opslag: "
            f"{', '.join(data['sources'])}. Beschermde kenmerken alleen voor de audit, nooit in het model."
        )[:2500],
        "source_data_grouping": [{"title": s[:500]} for s in data["sources"]],
        "methods_and_models": (
            f"Model {run['model']}, gekozen met een backtest over {len(c['backtest']['folds'])} rollende "
            f"vensters tegen eenvoudige voorspellingen (laatste waarde, seizoen, voortschrijdend en historisch "
            f"gemiddelde). Kenmerken: buurtstatistieken zoals bekend op het voorspelmoment en eerdere aantallen "
            f"van de buurt en haar buren. Het systeem is zelflerend in die zin dat het bij elke run opnieuw "
            f"wordt getraind op de registraties tot dan; tijdens gebruik leert het niet bij. Elke run wordt "
            f"geaudit op ongelijkheid (blootstelling, fout-positieven, kalibratie per groep), proxy's en "
            f"meetvertekening; publicaties gebruiken onderdrukking van kleine aantallen en, optioneel, "
            f"differentiële privacy. Codeversie {run['code_version']}."
        ),
        "provider": org.get("provider", "PulseTwin (open source)"),
        "lang": "nld",
        "standard_version": "1.0.0",
        "source_id": run["run_id"],
        "tags": org.get("tags", "voorspelling, leefbaarheid, veiligheid, buurt"),
    }
    for key in (
        "contact_email",
        "website",
        "url",
        "process_index_url",
        "publiccode",
        "begin_date",
        "end_date",
    ):
        if org.get(key):
            entry[key] = org[key]
    return entry
