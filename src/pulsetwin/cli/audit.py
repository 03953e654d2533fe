"""``pulsetwin audit`` (the release gate) and ``pulsetwin docs`` (accountability documents)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.panel import Panel
from rich.table import Table

from pulsetwin.cli.common import DEFAULT_DB, DbOption, console, write_json

if TYPE_CHECKING:
    from pulsetwin.audit.disparity import DisparityResult
    from pulsetwin.audit.findings import AuditReport, Finding


SHORT = 100
"""Characters of a finding's message shown in its warning line (the JSON holds all of it)."""


def register(app: typer.Typer) -> None:
    """Add ``audit`` and ``docs`` to the root app."""
    app.command("audit")(audit_command)
    app.command("docs")(docs_command)


def audit_command(
    db: DbOption = DEFAULT_DB,
    run: Annotated[
        str | None, typer.Option("--run", help="Forecast run id (default: the latest forecast run).")
    ] = None,
    policy: Annotated[
        Path | None, typer.Option("--policy", help="Policy YAML (default: the shipped default_policy.yaml).")
    ] = None,
    top_k: Annotated[
        float | None, typer.Option("--top-k", help="Flag the top share of areas (overrides the policy).")
    ] = None,
    threshold: Annotated[
        float | None, typer.Option("--threshold", help="Flag areas with a forecast above this instead.")
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the full audit as JSON here.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the cross-validation and permutations.")] = 0,
) -> None:
    """Audit a forecast run (skill, disparity, proxies, measurement bias).

    Exit code 0 when it passes, 1 when the policy blocks it, 3 when a blocking check cannot be assessed for lack
    of data (see ``insufficient`` in the policy).
    """
    from pulsetwin.audit.findings import EXIT_CODES
    from pulsetwin.audit.gate import gate, latest_run
    from pulsetwin.audit.policy import load_policy
    from pulsetwin.store.database import Store

    with Store(db) as store:
        run_id = run or latest_run(store, "forecast")
        report, audit_id = gate(
            store, run_id, policy=load_policy(policy), top_k=top_k, threshold=threshold, seed=seed
        )
    show_report(report, audit_id)
    if json_out is not None:
        write_json(report.to_dict(), json_out)
        console.print(f"JSON written to {json_out}")
    if EXIT_CODES[report.status]:
        raise typer.Exit(EXIT_CODES[report.status])


def show_report(report: AuditReport, audit_id: str) -> None:
    """Print the verdict with the finding in plain words first, then the exposure tables, and every other
    finding once, grouped by kind (the full list is in ``--json``)."""
    from pulsetwin.audit.summary import summarise_audit

    payload = report.to_dict()
    words = summarise_audit(payload, "en")
    blocking = [f for f in report.findings if f.blocking]
    unassessed = [f for f in report.findings if f.cannot_assess]
    if blocking:
        text = "\n".join(
            f"- {sentence} (finding {f.code})"
            for f, sentence in zip(blocking, words["blocking"], strict=True)
        )
        console.print(
            Panel(text, title=f"BLOCKED: run {report.run_id} must not be released", border_style="bold red")
        )
    elif unassessed:
        text = "\n".join(f"- {f.code}: {f.message}" for f in unassessed)
        title = f"CANNOT BE ASSESSED: too little data to pass or block run {report.run_id}"
        console.print(Panel(text, title=title, border_style="bold yellow"))
    else:
        console.print(Panel(f"No blocking finding (policy {report.policy.source}).", title="passed",
                            border_style="green"))  # fmt: skip
    real = report.realised
    console.print(
        f"audit run {audit_id}; realised outcomes: {real['mode'].replace('_', ' ')} from {real['origin']} "
        f"({len(real['periods'])} periods, {real['areas']} areas); flagged {report.rule['flagged']} areas"
    )
    for result in report.disparity:
        console.print(disparity_table(result))
    for sentence in [*words["proxies"], *words["measurement"], *words["mitigation"]]:
        console.print(f"- {sentence}")
    warnings = [f for f in report.findings if not f.blocking and not f.cannot_assess]
    for line in warning_lines(warnings):
        console.print(f"[yellow]warning[/] {line}")
    if warnings:
        console.print(
            "Every finding with its numbers: pulsetwin audit --json FILE (or the dashboard's Fairness page)."
        )


def warning_lines(findings: list[Finding]) -> list[str]:
    """One line per kind of non-blocking finding: out-of-band ratios per grouping, checks that could not be
    assessed per grouping (metrics listed once), and each other finding's code."""
    groups: dict[str, list[str]] = {}
    for finding in findings:
        for suffix, kind in (("_out_of_band", "outside the band"), ("_insufficient", "cannot be assessed")):
            if finding.code.endswith(suffix):
                grouping, metric = finding.code[: -len(suffix)].split("_", 1)
                attribute = str(finding.detail.get("attribute", grouping))
                groups.setdefault(f"{kind}: {grouping} ({attribute})", []).append(metric)
                break
        else:
            short = finding.message if len(finding.message) <= SHORT else finding.message[: SHORT - 1] + "…"
            groups.setdefault(f"{finding.code}: {short}", [])
    return [f"{key}: {', '.join(metrics)}" if metrics else key for key, metrics in groups.items()]


def disparity_table(result: DisparityResult) -> Table:
    """One Rich table per grouping; ratios outside the band in bold red."""
    title = f"{result.grouping}: {result.attribute}"
    if "definition" in result.detail:
        title += f" ({result.detail['year']}, {result.detail['definition']})"
    table = Table(title=title)
    for name in (
        "group",
        "areas",
        "flag rate",
        "FPR",
        "FDR",
        "FNR",
        "calibration",
        "exposure",
        "exposure ratio",
        "difference",
    ):
        table.add_column(name, justify="left" if name == "group" else "right")
    exposure_out = set(result.out_of_band.get("exposure", []))
    exposure_missing = result.insufficient.get("exposure", {})
    corrected = set(result.corrected.get("exposure", []))
    for label, row in result.table.iterrows():
        ratio = (
            "insufficient"
            if str(label) in exposure_missing
            else _cell(result.judged_ratio("exposure", str(label)))
        )
        ratio += "*" if str(label) in corrected else ""
        table.add_row(
            f"{label}{' (ref)' if label == result.reference else ''}", str(int(row["n_areas"])),
            _cell(row["flag_rate"]), _cell(row["fpr"]), _cell(row["fdr"]), _cell(row["fnr"]),
            _cell(row["calibration"]), _cell(row["exposure"]),
            f"[bold red]{ratio}[/]" if label in exposure_out else ratio, _cell(row.get("exposure_diff", float("nan"))),
        )  # fmt: skip
    if corrected:
        table.caption = (
            "* the reference exposure is 0: ratio of (k + 0.5) / (n + 1) per group, k and n in areas"
        )
    return table


def _cell(value: object) -> str:
    """A table cell."""
    from pulsetwin.audit.documents.render import number

    return number(float(value))  # type: ignore[arg-type]


def docs_command(
    db: DbOption = DEFAULT_DB,
    out: Annotated[Path, typer.Option("--out", help="Directory for the documents.")] = Path("docs-out"),
    run: Annotated[str | None, typer.Option("--run", help="Forecast run id (default: the latest).")] = None,
    org: Annotated[
        Path | None,
        typer.Option("--org", help="YAML with organisation facts (organization, contact_email, …)."),
    ] = None,
) -> None:
    """Write the model card, Algoritmeregister entry, Annex IV documentation and IAMA draft of a run."""
    from pulsetwin.audit.documents.context import read_organisation
    from pulsetwin.audit.documents.render import write_documents
    from pulsetwin.store.database import Store

    with Store(db, read_only=True) as store:
        paths = write_documents(store, out, run_id=run, organisation=read_organisation(org))
    for path in paths:
        console.print(f"wrote {path}")
