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
    from pulsetwin.audit.gate import AuditReport


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
    from pulsetwin.audit.gate import EXIT_CODES, gate, latest_run, load_policy
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
    """Print the verdict first, then the findings, disparity tables and proxies."""
    blocking = [f for f in report.findings if f.blocking]
    unassessed = [f for f in report.findings if f.cannot_assess]
    if blocking:
        text = "\n".join(f"- {f.code}: {f.message}" for f in blocking)
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
    for proxy in report.proxies:
        top = ", ".join(f"{f}" for f in proxy.importance.index[:5])
        console.print(f"proxy: model features predict {proxy.attribute} with R² {proxy.r2:.3f} (top: {top})")
    if report.mitigation is not None:
        for name, result in report.mitigation.items():
            missing = result.insufficient.get("exposure", {})
            ratios = ", ".join(
                "insufficient" if str(g) in missing else _cell(v)
                for g, v in result.table["exposure_ratio"].items()
            )
            console.print(f"mitigation {name}: exposure ratios {ratios}")
    warnings = [f for f in report.findings if not f.blocking and not f.cannot_assess]
    for finding in warnings:
        console.print(f"[yellow]warning[/] {finding.code}: {finding.message}")


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
    ):
        table.add_column(name, justify="left" if name == "group" else "right")
    exposure_out = set(result.out_of_band.get("exposure", []))
    exposure_missing = result.insufficient.get("exposure", {})
    for label, row in result.table.iterrows():
        ratio = "insufficient" if str(label) in exposure_missing else _cell(row["exposure_ratio"])
        table.add_row(
            f"{label}{' (ref)' if label == result.reference else ''}", str(int(row["n_areas"])),
            _cell(row["flag_rate"]), _cell(row["fpr"]), _cell(row["fdr"]), _cell(row["fnr"]),
            _cell(row["calibration"]), _cell(row["exposure"]),
            f"[bold red]{ratio}[/]" if label in exposure_out else ratio,
        )  # fmt: skip
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
