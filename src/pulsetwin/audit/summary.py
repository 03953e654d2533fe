"""An audit in words: the finding first, in plain Dutch or English, then the numbers a chart needs.

Reads the JSON form of an audit (:meth:`pulsetwin.audit.findings.AuditReport.to_dict`, as stored in an audit run's
metrics and written by ``pulsetwin audit --json``), so stored audits, the dashboard, the report and the command
line all tell the same story from the same numbers. Older audits without differences or corrected ratios are
summarised from what they hold.
"""

from __future__ import annotations

import math
import re
from typing import Any

from pulsetwin.exceptions import bad_parameter
from pulsetwin.schema.categories import BY_SLUG
from pulsetwin.schema.language import LANGS, Lang

_ATTRIBUTES = {
    "migration_background_share": (
        "aandeel inwoners met een migratieachtergrond",
        "migration-background share",
    ),
    "GemiddeldInkomenPerInwoner": ("gemiddeld inkomen per inwoner", "average income per resident"),
    # the CBS origin shares as the CBS connector stores them (schema.variables.ORIGIN_ATTRIBUTES)
    "migration_western_share_2019def": (
        "aandeel inwoners met een westerse migratieachtergrond (CBS, t/m 2022)",
        "share of residents with a western migration background (CBS, up to 2022)",
    ),
    "migration_non_western_share_2019def": (
        "aandeel inwoners met een niet-westerse migratieachtergrond (CBS, t/m 2022)",
        "share of residents with a non-western migration background (CBS, up to 2022)",
    ),
    "origin_netherlands_share_2023def": (
        "aandeel inwoners met herkomst Nederland (CBS, vanaf 2023)",
        "share of residents of Dutch origin (CBS, from 2023)",
    ),
    "migration_europe_share_2023def": (
        "aandeel inwoners met herkomst Europa buiten Nederland (CBS, vanaf 2023)",
        "share of residents of European origin outside the Netherlands (CBS, from 2023)",
    ),
    "migration_outside_europe_share_2023def": (
        "aandeel inwoners met herkomst buiten Europa (CBS, vanaf 2023)",
        "share of residents of origin outside Europe (CBS, from 2023)",
    ),
}
_FEATURES = {
    "GemiddeldeWOZWaardeVanWoningen": ("WOZ-waarde van woningen", "property value (WOZ)"),
    "AantalInwoners": ("aantal inwoners", "residents"),
}
_METRICS = {
    "flag_rate": ("aandeel gemarkeerde buurten", "share of buurten flagged"),
    "fpr": ("onterecht gemarkeerd (vals-positief)", "wrongly flagged (false positives)"),
    "fdr": ("aandeel markeringen dat onterecht was", "share of flags that were wrong"),
    "fnr": ("gemiste brandpunten", "missed hotspots"),
    "calibration": ("verwacht gedeeld door geregistreerd", "forecast divided by recorded"),
    "exposure": ("aandeel inwoners in een gemarkeerde buurt", "share of residents in a flagged buurt"),
}
_VARIANTS = {
    "citizen_only": ("alleen burgermeldingen", "citizen reports only"),
    "reweighted": ("herweging naar registratiekans", "reweighting by recording rate"),
}


def number(value: float, lang: Lang, digits: int = 2) -> str:
    """``value`` rounded, with a decimal comma in Dutch."""
    text = f"{value:.{digits}f}"
    return text.replace(".", ",") if lang == "nl" else text


def percent(value: float, lang: Lang) -> str:
    """A share as a whole percentage."""
    return f"{value * 100:.0f} %"


def attribute_label(attribute: str, lang: Lang) -> str:
    """Plain words for an audited attribute (the year suffix of a CBS variable dropped)."""
    base = re.sub(r"_\d{4}$", "", attribute)
    words = _ATTRIBUTES.get(base)
    return attribute if words is None else words[LANGS.index(lang)]


def feature_label(feature: str, lang: Lang) -> str:
    """Plain words for a model feature (``log1p_`` and lag prefixes read as the variable itself)."""
    base = re.sub(r"^(log1p_|lag\d+_|roll\d+_)", "", feature)
    if base in _FEATURES:
        return _FEATURES[base][LANGS.index(lang)]
    category = BY_SLUG.get(base)
    if category is not None:
        past = "eerdere " if lang == "nl" else "past "
        return past + (category.label_nl.lower() if lang == "nl" else category.label_en.lower())
    return base


def category_label(slug: str, lang: Lang) -> str:
    """The vocabulary label of a category slug (the slug itself for a municipality's own category)."""
    category = BY_SLUG.get(slug)
    if category is None:
        return slug
    return category.label_nl if lang == "nl" else category.label_en


def group_label(group: str, n_groups: int, lang: Lang, *, span: bool = True) -> str:
    """``Q4 [0.169, 0.676]`` as ``hoogste kwart (0,169–0,676)`` / ``highest quarter (0.169–0.676)``; without
    the range when ``span`` is False."""
    match = re.match(r"^Q(\d+) \[([^,]+), ([^\]]+)\]$", group)
    if match is None:
        return group
    rank, lo, hi = int(match.group(1)), match.group(2), match.group(3)
    values = f"{lo}–{hi}".replace(".", ",") if lang == "nl" else f"{lo}–{hi}"
    part = {4: ("kwart", "quarter"), 5: ("vijfde", "fifth"), 3: ("derde", "third")}.get(n_groups)
    suffix = f" ({values})" if span else ""
    if part is None:
        return f"Q{rank}/{n_groups}{suffix}"
    if rank == 1:
        where = ("laagste", "lowest")
    elif rank == n_groups:
        where = ("hoogste", "highest")
    else:
        where = (f"{rank}e", ["", "first", "second", "third", "fourth"][rank])
    i = LANGS.index(lang)
    return f"{where[i]} {part[i]}{suffix}"


def _finite(value: object) -> float | None:
    """A finite float, else None (``"insufficient"``, ``None``, infinities)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def exposure_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Per group of one disparity result: exposure, the ratio judged against the band (plain, or corrected when
    the reference exposure is 0), the difference with the reference, and whether it lies outside the band."""
    groups = result.get("groups", [])
    corrected = set((result.get("corrected") or {}).get("exposure", []))
    out_of_band = set((result.get("out_of_band") or {}).get("exposure", []))
    reference = next((g for g in groups if g["group"] == result.get("reference")), None)
    rows = []
    for g in groups:
        fixed = g["group"] in corrected
        ratio = _finite(g.get("exposure_ratio_corrected" if fixed else "exposure_ratio"))
        diff = _finite(g.get("exposure_diff"))
        if diff is None and reference is not None:
            mine, theirs = _finite(g.get("exposure")), _finite(reference.get("exposure"))
            diff = None if mine is None or theirs is None else mine - theirs
        rows.append(
            {"group": g["group"], "exposure": _finite(g.get("exposure")), "ratio": ratio, "corrected": fixed,
             "difference": diff, "reference": g["group"] == result.get("reference"),
             "out_of_band": g["group"] in out_of_band, "n_areas": g.get("n_areas")}
        )  # fmt: skip
    return rows


def _disparity_sentence(result: dict[str, Any], lang: Lang) -> str:
    """One sentence: exposure per group against the reference, with the band."""
    rows = exposure_rows(result)
    n = len(rows)
    band = result.get("band", [0.8, 1.25])
    parts = []
    for r in rows:
        label = group_label(r["group"], n, lang)
        share = "–" if r["exposure"] is None else percent(r["exposure"], lang)
        if r["reference"]:
            parts.append(f"{label} {share} ({'referentie' if lang == 'nl' else 'reference'})")
            continue
        ratio = "–" if r["ratio"] is None else "×" + number(r["ratio"], lang)
        if r["corrected"] and r["ratio"] is not None:
            ratio += " " + ("gecorrigeerd" if lang == "nl" else "corrected")
        diff = (
            ""
            if r["difference"] is None
            else f", {'+' if r['difference'] >= 0 else '−'}{abs(r['difference']) * 100:.0f} "
            + ("procentpunt" if lang == "nl" else "percentage points")
        )
        flag = " ⚠" if r["out_of_band"] else ""
        parts.append(f"{label} {share} ({ratio}{diff}){flag}")
    attr = attribute_label(str(result.get("attribute", "")), lang)
    lo, hi = number(band[0], lang), number(band[1], lang)
    if lang == "nl":
        return (
            f"Naar {attr}: aandeel inwoners dat in een gemarkeerde buurt woont per groep: " + "; ".join(parts)
            + f". Verhoudingen buiten {lo}–{hi} zijn gemarkeerd met ⚠."
        )  # fmt: skip
    return (
        f"By {attr}: share of residents living in a flagged buurt per group: " + "; ".join(parts)
        + f". Ratios outside {lo}–{hi} are marked ⚠."
    )  # fmt: skip


def exposure_headline(result: dict[str, Any], lang: Lang) -> str | None:
    """The exposure finding of one grouping in one sentence, or None when every ratio is inside the band."""
    rows = exposure_rows(result)
    bad = [r for r in rows if r["out_of_band"] and r["ratio"] is not None]
    if not bad:
        return None
    over = [
        r for r in bad if r["ratio"] > 1
    ]  # the groups singled out lead; less exposed ones follow in the table
    bad = over or bad
    n = len(rows)
    ref = next((r for r in rows if r["reference"]), None)
    attr = attribute_label(str(result.get("attribute", "")), lang)
    lo_r, hi_r = min(r["ratio"] for r in bad), max(r["ratio"] for r in bad)
    times = number(lo_r, lang, 1) if round(lo_r, 1) == round(hi_r, 1) else (
        f"{number(lo_r, lang, 1)} {'tot' if lang == 'nl' else 'to'} {number(hi_r, lang, 1)}"
    )  # fmt: skip
    joiner = " en het " if lang == "nl" else " and the "
    groups = joiner.join(group_label(r["group"], n, lang, span=False) for r in bad)
    ref_label = "–" if ref is None else group_label(ref["group"], n, lang, span=False)
    band = result.get("band", [0.8, 1.25])
    lo, hi = number(band[0], lang), number(band[1], lang)
    corrected = any(r["corrected"] for r in bad)
    if lang == "nl":
        sentence = (
            f"Inwoners van buurten in het {groups} naar {attr} wonen {times} keer zo vaak in een gemarkeerde "
            f"buurt als inwoners van buurten in het {ref_label} (toegestane band {lo}–{hi})."
        )
        if corrected and ref is not None and ref["exposure"] == 0:
            sentence += (
                " In die referentiegroep woont niemand in een gemarkeerde buurt; de verhouding is daarom berekend "
                "met een kleine-aantallencorrectie (een halve buurt erbij)."
            )
        return sentence
    sentence = (
        f"Residents of buurten in the {groups} by {attr} are {times} times as likely to live in a flagged buurt "
        f"as residents of buurten in the {ref_label} (allowed band {lo}–{hi})."
    )
    if corrected and ref is not None and ref["exposure"] == 0:
        sentence += (
            " No resident of that reference group lives in a flagged buurt, so the ratio uses a small-count "
            "correction (half a buurt added)."
        )
    return sentence


def _proxy_sentence(proxy: dict[str, Any], policy: dict[str, Any], lang: Lang) -> str:
    """How well the model's own features predict a protected attribute."""
    features = [str(f["feature"]) if isinstance(f, dict) else str(f) for f in proxy.get("top_features", [])]
    words = list(dict.fromkeys(feature_label(f, lang) for f in features))[:3]
    limits = policy.get("proxy", {})
    warn, block = (
        number(float(limits.get("r2_warn", 0.3)), lang),
        number(float(limits.get("r2_block", 0.6)), lang),
    )
    attr = attribute_label(str(proxy.get("attribute", "")), lang)
    r2 = number(float(proxy.get("r2", float("nan"))), lang)
    if lang == "nl":
        return (
            f"De kenmerken waarmee het model rekent voorspellen het {attr} van een buurt met R² {r2} (0 = niet, "
            f"1 = volledig; vanaf {warn} een waarschuwing, vanaf {block} een blokkade), vooral via "
            + ", ".join(words) + "."
        )  # fmt: skip
    return (
        f"The features the model uses predict a buurt's {attr} with R² {r2} (0 = not at all, 1 = fully; "
        f"from {warn} a warning, from {block} a block), mainly through " + ", ".join(words) + "."
    )  # fmt: skip


def _measurement_sentence(measurement: dict[str, Any], lang: Lang) -> str:
    """Where recording over- or under-states the true rate (twin data only)."""
    cells = [r for r in measurement.get("recording_bias", []) if r.get("verdict") not in (None, "ok")]
    if not cells:
        return (
            "De registratie volgt in elke groep en categorie de werkelijke frequentie."
            if lang == "nl"
            else "Recording follows the true rate in every group and category."
        )
    n = len({r.get("group") for r in measurement.get("recording_bias", [])})
    shown = []
    for r in cells[:4]:
        way = ("te laag" if r["verdict"] == "under" else "te hoog") if lang == "nl" else r["verdict"]
        shown.append(
            f"{group_label(str(r['group']), n, lang)} / {category_label(str(r['category']), lang).lower()}: "
            f"{way} (×{number(float(r['relative']), lang)})"
        )
    if lang == "nl":
        return (
            f"In {len(cells)} combinaties van groep en categorie wijkt de registratie af van de werkelijke "
            "frequentie (vergeleken met de andere groepen): " + "; ".join(shown) + "."
        )
    return (
        f"In {len(cells)} combinations of group and category recording departs from the true rate (compared "
        "with the other groups): " + "; ".join(shown) + "."
    )


def _mitigation_sentence(mitigation: dict[str, Any], lang: Lang) -> str:
    """Whether recounting on citizen reports or reweighting brings exposure into the band."""
    parts: list[str] = []
    fixed: list[str] = []
    for name, result in mitigation.items():
        if name == "naive":
            continue
        rows = exposure_rows(result)
        worst = max((r["ratio"] for r in rows if r["ratio"] is not None), default=None)
        label = _VARIANTS.get(name, (name, name))[LANGS.index(lang)]
        inside = not (result.get("out_of_band") or {}).get("exposure")
        (fixed if inside else parts).append(f"{label} (max ×{'–' if worst is None else number(worst, lang)})")
    if lang == "nl":
        if not fixed:
            return "Geen enkele mitigatie brengt de blootstelling binnen de band: " + "; ".join(parts) + "."
        return "Binnen de band na: " + "; ".join(fixed) + "." + (
            " Erbuiten na: " + "; ".join(parts) + "." if parts else ""
        )  # fmt: skip
    if not fixed:
        return "No mitigation brings exposure inside the band: " + "; ".join(parts) + "."
    return "Inside the band after: " + "; ".join(fixed) + "." + (
        " Outside after: " + "; ".join(parts) + "." if parts else ""
    )  # fmt: skip


def finding_sentence(payload: dict[str, Any], finding: dict[str, Any], lang: Lang) -> str:
    """One plain sentence for one finding of an audit."""
    code = str(finding.get("code", ""))
    detail = finding.get("detail") or {}
    if code.endswith("_exposure_out_of_band"):
        grouping = code.split("_", 1)[0]
        for result in payload.get("disparity", []):
            if result.get("grouping") == grouping and result.get("attribute") == detail.get("attribute"):
                sentence = exposure_headline(result, lang)
                if sentence is not None:
                    return sentence
    if code.startswith("proxy_r2"):
        for proxy in payload.get("proxies", []):
            if proxy.get("attribute") == detail.get("attribute"):
                return _proxy_sentence(proxy, payload.get("policy", {}), lang)
    if code == "no_skill":
        return (
            "Het model doet het in de terugtoets niet aantoonbaar beter dan de beste naïeve vuistregel."
            if lang == "nl"
            else "The model does not beat the best naive rule in the backtest."
        )
    if code == "measurement_bias" and payload.get("measurement"):
        return _measurement_sentence(payload["measurement"], lang)
    if code == "mitigation_fails_band" and payload.get("mitigation"):
        return _mitigation_sentence(payload["mitigation"], lang)
    metric = next((m for m in _METRICS if f"_{m}_" in f"_{code}_"), None)
    if metric is not None and code.endswith("_out_of_band"):
        ratios = detail.get("ratios", {})
        numbers = [v for v in ratios.values() if isinstance(v, int | float)]
        attr = attribute_label(str(detail.get("attribute", "")), lang)
        what = _METRICS[metric][LANGS.index(lang)]
        span = "–" if not numbers else f"×{number(min(numbers), lang)}–×{number(max(numbers), lang)}"
        if lang == "nl":
            return f"Naar {attr} wijkt het {what} buiten de band af van de referentiegroep ({span})."
        return f"By {attr}, the {what} departs from the reference group beyond the band ({span})."
    return str(finding.get("message", code))


def summarise_audit(payload: dict[str, Any], lang: Lang) -> dict[str, Any]:
    """The audit in words and chart numbers.

    Returns ``verdict`` (passed / blocked / insufficient), ``headline`` (the first blocking finding, or the
    verdict, in one sentence), ``blocking`` (one sentence per blocking finding), the sections ``disparity``,
    ``proxies``, ``measurement``, ``mitigation`` (sentences) and ``exposure`` (per grouping: attribute words,
    band and :func:`exposure_rows`, for a chart against the band).
    """
    if lang not in LANGS:
        raise bad_parameter("lang", "summarise_audit", f"one of {', '.join(LANGS)}", lang)
    findings = [f for f in payload.get("findings", []) if isinstance(f, dict)]
    blocking = [finding_sentence(payload, f, lang) for f in findings if f.get("blocking")]
    unassessed = [str(f.get("message", "")) for f in findings if f.get("cannot_assess")]
    verdict = str(payload.get("status", "blocked" if payload.get("blocked") else "passed"))
    if blocking:
        headline = blocking[0]
    elif verdict == "insufficient":
        headline = (
            "Het audit kan de run niet beoordelen: te weinig buurten per groep."
            if lang == "nl"
            else "The audit cannot assess the run: too few buurten per group."
        )
    else:
        headline = (
            "Het audit vond geen blokkerende bevinding."
            if lang == "nl"
            else "The audit found no blocking finding."
        )
    disparity = [r for r in payload.get("disparity", []) if isinstance(r, dict)]
    mitigation = payload.get("mitigation")
    return {
        "verdict": verdict,
        "headline": headline,
        "blocking": blocking,
        "unassessed": unassessed,
        "disparity": [_disparity_sentence(r, lang) for r in disparity],
        "proxies": [_proxy_sentence(p, payload.get("policy", {}), lang) for p in payload.get("proxies", [])],
        "measurement": []
        if not payload.get("measurement")
        else [_measurement_sentence(payload["measurement"], lang)],
        "mitigation": [] if not mitigation else [_mitigation_sentence(mitigation, lang)],
        "exposure": [_exposure_chart(r, lang) for r in disparity],
    }


def _exposure_chart(result: dict[str, Any], lang: Lang) -> dict[str, Any]:
    """One grouping's exposure rows with words, for a chart of exposure per group against the band."""
    n = len(result.get("groups", []))
    return {
        "grouping": result.get("grouping"),
        "attribute": result.get("attribute"),
        "label": attribute_label(str(result.get("attribute", "")), lang),
        "band": result.get("band", [0.8, 1.25]),
        "groups": [
            {**row, "label": group_label(g, n, lang), "short": group_label(g, n, lang, span=False)}
            for row in exposure_rows(result)
            for g in (row["group"],)
        ],
    }
