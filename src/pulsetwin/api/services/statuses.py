"""The skill and release status of a forecast run, and its latest audit in words, for pages and viewers."""

from __future__ import annotations

from typing import Any

from pulsetwin.api.errors import ApiError
from pulsetwin.api.services.backend import Backend
from pulsetwin.audit.release import ReleaseStatus, SkillStatus, latest_audit, run_statuses, status_dict
from pulsetwin.audit.summary import summarise_audit
from pulsetwin.schema.categories import BY_SLUG
from pulsetwin.schema.language import Lang
from pulsetwin.store.runs import RunKind


def statuses(backend: Backend, run_id: str, lang: Lang) -> dict[str, Any] | None:
    """Both statuses with sentences in ``lang``; None for a run that is not a forecast run."""

    def build() -> tuple[SkillStatus, ReleaseStatus] | None:
        with backend.session() as store:
            if store.get_run(run_id).kind != "forecast":
                store.runs()
                return None
            return run_statuses(store, run_id)

    built = backend.cached(("statuses", run_id), build)
    return None if built is None else status_dict(*built, lang)


def category_labels(categories: list[str]) -> list[dict[str, str]]:
    """Vocabulary names of the categories (a municipality's own slug keeps its slug as name)."""
    out = []
    for slug in categories:
        known = BY_SLUG.get(slug)
        nl, en = (slug, slug) if known is None else (known.label_nl, known.label_en)
        out.append({"slug": slug, "nl": nl, "en": en})
    return out


def audit_summary(backend: Backend, run_id: str, lang: Lang) -> dict[str, Any]:
    """The latest audit of forecast run ``run_id`` in words; 404 when it was never audited."""

    def build() -> Any:
        with backend.session() as store:
            runs = store.runs()
            ids = [str(r) for r in runs.loc[runs["kind"] == RunKind.AUDIT, "run_id"]]
            records = {a: store.get_run(a) for a in ids}
            store.runs()
            return latest_audit(runs, records, run_id)

    audit = backend.cached(("latest_audit", run_id), build)
    if audit is None:
        raise ApiError(404, "not_found", f"run '{run_id}' has not been audited yet", {"run_id": run_id})
    summary = summarise_audit(audit.metrics, lang)
    return {
        "audit_run": audit.run_id, "forecast_run": audit.params.get("forecast_run"), "created_at": audit.created_at,
        "lang": lang, **summary,
    }  # fmt: skip
