"""The two statuses of a forecast run, each with its own sentence: skill and release.

*Skill* says whether the run's model beats the best naive rule in the backtest: ``beats`` (the whole skill
interval above zero, given with the interval), ``does_not`` or ``cannot_assess`` (no skill was measured).
*Release* says whether the audit lets the forecast out: ``blocked`` (with the blocking finding in one sentence
and the audit run that found it), ``released`` (the latest audit passed), ``cannot_assess`` (the latest audit
could not assess a blocking check) or ``not_audited``. A run's stored ``status`` mixes both (``blocked`` hides a
model that did beat the rule); pages, reports and exports show these two instead.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from pulsetwin.audit.summary import finding_sentence, number
from pulsetwin.evaluation.labels import model_label
from pulsetwin.models.registry import naive_names
from pulsetwin.schema.language import Lang
from pulsetwin.store.runs import RunKind, RunStatus

if TYPE_CHECKING:
    from pulsetwin.store.database import Store
    from pulsetwin.store.runs import RunRecord

SKILL_STATES = ("beats", "does_not", "cannot_assess")
RELEASE_STATES = ("released", "blocked", "cannot_assess", "not_audited")


@dataclass(frozen=True)
class SkillStatus:
    """Whether the run's model beats the best naive rule, with the interval."""

    state: str
    model: str | None
    baseline: str | None
    skill: float | None
    skill_lo: float | None
    skill_hi: float | None
    level: float | None

    def sentence(self, lang: Lang) -> str:
        """One sentence for a non-statistician."""
        model, base = model_label(self.model, lang), model_label(self.baseline, lang)
        pct = f"{round((self.level or 0.9) * 100)}"
        if self.state == "cannot_assess":
            return (
                "De vaardigheid kan niet worden beoordeeld: deze run heeft geen terugtoets."
                if lang == "nl"
                else "Skill cannot be assessed: this run has no backtest."
            )
        assert self.skill is not None and self.skill_lo is not None and self.skill_hi is not None
        s, lo, hi = (number(v, lang, 3) for v in (self.skill, self.skill_lo, self.skill_hi))
        if self.state == "beats":
            if lang == "nl":
                return (
                    f"Het model {model} doet het beter dan de beste naïeve vuistregel ({base}): vaardigheid {s}, "
                    f"{pct}%-interval [{lo}, {hi}], geheel boven 0."
                )
            return (
                f"The model {model} beats the best naive rule ({base}): skill {s}, {pct}% interval [{lo}, {hi}], "
                "entirely above 0."
            )
        if self.model in naive_names():
            if lang == "nl":
                return (
                    f"Geen model doet het aantoonbaar beter dan de beste naïeve vuistregel ({base}); de kaart toont "
                    f"zelf een vuistregel: {model} (vaardigheid {s}, {pct}%-interval [{lo}, {hi}])."
                )
            return (
                f"No model beats the best naive rule ({base}); the map shows a rule itself: {model} (skill {s}, "
                f"{pct}% interval [{lo}, {hi}])."
            )
        if lang == "nl":
            return (
                f"Het model {model} doet het niet aantoonbaar beter dan de beste naïeve vuistregel ({base}): "
                f"vaardigheid {s}, {pct}%-interval [{lo}, {hi}]. Lees de kaart als een voortzetting van het "
                "recente patroon."
            )
        return (
            f"The model {model} does not beat the best naive rule ({base}): skill {s}, {pct}% interval "
            f"[{lo}, {hi}]. Read the map as a continuation of the recent pattern."
        )


@dataclass(frozen=True)
class ReleaseStatus:
    """Whether the audit lets the forecast out; the finding behind a block in both languages."""

    state: str
    audit_run: str | None
    finding_code: str | None
    finding_nl: str | None
    finding_en: str | None

    def sentence(self, lang: Lang) -> str:
        """One sentence: the verdict and, when blocked, the finding."""
        finding = self.finding_nl if lang == "nl" else self.finding_en
        if self.state == "blocked":
            if lang == "nl":
                return f"Niet vrijgegeven: het audit blokkeert deze run. {finding or ''}".strip()
            return f"Not released: the audit blocks this run. {finding or ''}".strip()
        if self.state == "released":
            return (
                "Vrijgegeven: het audit vond geen blokkerende bevinding."
                if lang == "nl"
                else "Released: the audit found no blocking finding."
            )
        if self.state == "cannot_assess":
            return (
                "Niet beoordeeld: het audit had te weinig gegevens om vrij te geven of te blokkeren."
                if lang == "nl"
                else "Not assessed: the audit had too little data to release or block."
            )
        return (
            "Nog niet geaudit: voer `pulsetwin audit` uit voordat deze voorspelling wordt gebruikt."
            if lang == "nl"
            else "Not audited yet: run `pulsetwin audit` before this forecast is used."
        )


def _finite(value: object) -> float | None:
    """A finite float or None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def skill_status(run: RunRecord) -> SkillStatus:
    """The skill status of a forecast run from its recorded metrics."""
    metrics = run.metrics
    skill = metrics.get("skill") or {}
    values = [_finite(skill.get(k)) for k in ("skill", "skill_lo", "skill_hi")]
    if any(v is None for v in values):
        state = "cannot_assess"
    else:
        state = "beats" if values[1] is not None and values[1] > 0 else "does_not"
    baseline = metrics.get("baseline")
    return SkillStatus(
        state, run.model, None if baseline is None else str(baseline), values[0], values[1], values[2],
        _finite(metrics.get("level")),
    )  # fmt: skip


def latest_audit(runs: pd.DataFrame, records: dict[str, RunRecord], run_id: str) -> RunRecord | None:
    """The newest audit run of ``run_id`` among ``records`` (audit runs keyed by id, in ``runs`` order)."""
    audits = runs[runs["kind"] == RunKind.AUDIT]
    for audit_id in audits["run_id"].iloc[::-1]:
        record = records.get(str(audit_id))
        if record is not None and record.params.get("forecast_run") == run_id:
            return record
    return None


def release_status(run: RunRecord, audit: RunRecord | None) -> ReleaseStatus:
    """The release status of a forecast run given its latest audit run (None: never audited)."""
    if audit is None:
        state = "blocked" if run.status == RunStatus.BLOCKED else "not_audited"
        return ReleaseStatus(state, None, None, None, None)
    payload = audit.metrics
    blocking = [f for f in payload.get("findings", []) if isinstance(f, dict) and f.get("blocking")]
    if run.status == RunStatus.BLOCKED or blocking:
        first = blocking[0] if blocking else {}
        return ReleaseStatus(
            "blocked", audit.run_id, first.get("code"),
            finding_sentence(payload, first, "nl") if first else None,
            finding_sentence(payload, first, "en") if first else None,
        )  # fmt: skip
    state = "cannot_assess" if audit.status == RunStatus.INSUFFICIENT else "released"
    return ReleaseStatus(state, audit.run_id, None, None, None)


def run_statuses(store: Store, run_id: str) -> tuple[SkillStatus, ReleaseStatus]:
    """Both statuses of a forecast run read from the store."""
    runs = store.runs()
    run = store.get_run(run_id)
    audit_ids = [str(r) for r in runs.loc[runs["kind"] == RunKind.AUDIT, "run_id"]]
    records = {a: store.get_run(a) for a in audit_ids}
    store.runs()  # get_run leaves a result half-fetched (see audit.gate._get_run)
    return skill_status(run), release_status(run, latest_audit(runs, records, run_id))


def status_dict(skill: SkillStatus, release: ReleaseStatus, lang: Lang) -> dict[str, Any]:
    """Both statuses with their sentences in ``lang`` (the API's and the report's form)."""
    return {
        "skill": {**asdict(skill), "sentence": skill.sentence(lang)},
        "release": {**asdict(release), "sentence": release.sentence(lang)},
    }
