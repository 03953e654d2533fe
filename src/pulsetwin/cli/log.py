"""The ``log`` commands: verify (chain, anchors, with --deep the tables), anchor, show, keygen, rekey."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from pulsetwin.cli.common import DEFAULT_DB, DbOption, JsonFlag, console, print_json
from pulsetwin.exceptions import StoreError
from pulsetwin.store import Store
from pulsetwin.store.anchor import load_key, new_key
from pulsetwin.store.log import canonical_detail
from pulsetwin.store.logcheck import LogCheck, check_log

EXIT_TAMPERED = 1
EXIT_UNANCHORED = 2
KeyOption = Annotated[
    Path | None,
    typer.Option(
        "--key",
        help="Anchor key file: sign anchors with it and check signed ones "
        "(default: the file named by PULSETWIN_ANCHOR_KEY).",
    ),
]


def verify_command(
    db: DbOption = DEFAULT_DB,
    anchor: Annotated[
        list[Path] | None,
        typer.Option(
            "--anchor",
            help="Another anchor file (e.g. written by 'log anchor'); repeatable. The store's own anchor file "
            "(next to it, or PULSETWIN_ANCHOR_FILE) is always checked.",
        ),
    ] = None,
    key: KeyOption = None,
    deep: Annotated[
        bool,
        typer.Option(
            "--deep",
            help="Also recompute the digests of the tables the log covers (data tables, imports and their undo "
            "bookkeeping, runs, explanations, last-fold forecasts, users and roles, login tokens, decisions, kill "
            "switches, the privacy budget) and name any table edited outside PulseTwin. Needs the store's row-digest "
            "key file (<store>.digest.key next to it, or PULSETWIN_DIGEST_KEY).",
        ),
    ] = False,
    json_output: JsonFlag = False,
) -> None:
    """Check the log: its hash chain, the anchors kept outside the store, and with --deep the tables.

    Exit 0 when every record is verified against an anchor, 1 when anything was tampered with, 2 when the
    chain holds but records are not verified: unanchored (after the newest anchor) or anchored late
    (committed without an anchor; a forgery or a crash between commit and anchoring).
    """
    with Store(db, read_only=True, anchor_key=key) as store:
        checked = check_log(store, anchor or [], key=None if key is None else load_key(key), deep=deep)
    if json_output:
        print_json(_payload(checked))
    else:
        _print(checked)
    if not checked.ok:
        raise typer.Exit(EXIT_TAMPERED)
    if checked.unanchored or checked.late:
        raise typer.Exit(EXIT_UNANCHORED)


def _payload(checked: LogCheck) -> dict[str, Any]:
    """The check as plain JSON (the chain's fields at the top, as before anchors were checked)."""
    payload: dict[str, Any] = asdict(checked.chain)
    checks = [
        {"file": a.file, "line": c.line, **asdict(c.anchor), "ok": c.ok, "reason": c.reason}
        for a in checked.anchors
        for c in a.checks
    ]
    problems = [
        {"file": a.file, "line": p.line, "reason": p.reason} for a in checked.anchors for p in a.problems
    ]
    payload |= {
        "ok": checked.ok,
        "anchor_files": [a.file for a in checked.anchors],
        "missing_anchor_files": list(checked.missing),
        "anchors": checks,
        "anchor_problems": problems,
        "anchored_seq": checked.anchored_seq,
        "unanchored": checked.unanchored,
        "late": [list(r) for r in checked.late],
        "late_records": checked.late_records,
        "tables": [
            {"table": t.table, "ok": t.ok, "rows": t.stored.rows, "last_seq": t.last_seq, "reason": t.reason}
            for t in checked.tables
        ],
    }
    if checked.chain.ok and not checked.ok:
        payload["reason"] = _first_failure(checked)
    return payload


def _first_failure(checked: LogCheck) -> str:
    """The first thing that failed besides the chain, in words."""
    for a in checked.anchors:
        if a.problems:
            return f"anchor file {a.file}: {a.problems[0].reason}"
        if a.failed:
            return f"anchor on line {a.failed[0].line} of {a.file} failed: {a.failed[0].reason}"
    failed = [t for t in checked.tables if not t.ok]
    return failed[0].reason if failed else "ok"


def _print(checked: LogCheck) -> None:
    """The chain, each anchor file, the tables, then what is verified and what is not."""
    chain = checked.chain
    if chain.ok:
        console.print(f"chain ok: {chain.n_records} records, chain and head consistent")
    else:
        console.print(
            f"[bold red]log tampered:[/] first bad record seq {chain.first_bad_seq}: {chain.reason}"
        )
    for a in checked.anchors:
        for problem in a.problems:
            console.print(f"[bold red]anchor file damaged:[/] {a.file}: {problem.reason}")
        for check in a.failed:
            console.print(f"[bold red]anchor failed:[/] line {check.line} of {a.file}: {check.reason}")
        if a.ok:
            newest = max(a.checks, key=lambda check: check.anchor.seq)
            signed = (
                f"; {a.signed_unchecked} signed lines not checked (no key given)"
                if a.signed_unchecked
                else ""
            )
            console.print(
                f"anchors ok: all {len(a.checks)} anchors in {a.file} match the log (newest: record "
                f"{newest.anchor.seq}, taken {newest.anchor.at.isoformat(timespec='seconds')}){signed}"
            )
    for missing in checked.missing:
        console.print(f"[yellow]no anchor file at {missing}[/]")
    for table in checked.tables:
        if table.ok:
            console.print(f"table {table.table} ok: {table.reason}")
        else:
            console.print(f"[bold red]table edited:[/] {table.reason}")
    if not checked.ok:
        return
    anchored, total = checked.anchored_seq, chain.n_records
    for first, last in checked.late:
        console.print(
            f"[bold yellow]written without an anchor (anchored late):[/] seq {first}..{last} — a forgery or a "
            "crash between commit and anchoring; inspect them. A later write's anchor covers them, but they are "
            "not verified. Fix: once inspected ('pulsetwin log show'), accept them with 'pulsetwin log anchor "
            f"--out <the store's anchor file> --accept-late {first}..{last}'"
        )
    if checked.unanchored:
        first = anchored + 1
        console.print(
            f"log ok up to record {anchored}: verified against the anchors. [bold yellow]unanchored:[/] records "
            f"{first}..{total} ({checked.unanchored}) follow the newest anchor; only the in-store chain covers "
            "them, so they are not verified. Fix: 'pulsetwin log anchor' after checking them, or find out why "
            "the store did not anchor (a crash, or another anchor file)"
        )
    elif checked.late:
        console.print(
            f"chain and anchors hold: {total} records, all covered by the anchors, but {checked.late_records} "
            "of them anchored late (above) are not verified"
        )
    else:
        console.print(f"log ok: {total} records, all verified against the anchors")


def anchor_command(
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="Anchor file (JSON lines) kept outside the store; appended to, never overwritten.",
        ),
    ],
    db: DbOption = DEFAULT_DB,
    key: KeyOption = None,
    accept_late: Annotated[
        str | None,
        typer.Option(
            "--accept-late",
            help="FIRST..LAST: records 'log verify' reports as anchored late that you inspected and accept "
            "(a crash between commit and anchoring); recorded in the anchor line and the log. Anchor to the "
            "store's own anchor file so 'log verify' sees it without --anchor.",
        ),
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Append the current log head (seq, hash, UTC time, store) to an anchor file and log the anchoring.

    The store anchors itself after every write (to its own anchor file); this command anchors to another
    file too: publish it, send it to the oversight body, or write it to WORM storage. Anchoring vouches for
    the records it covers: check unanchored ones first.
    """
    if not db.is_file():
        raise StoreError(f"store '{db}' does not exist. Fix: import data first or pass the right --db")
    accept = None if accept_late is None else _seq_range(accept_late)
    with Store(db, anchor_key=key) as store:
        written = store.log.anchor(out, store=str(db.resolve()), accept=accept)
    if json_output:
        print_json(asdict(written))
        return
    accepted = "" if accept is None else f"; accepted records {accept[0]}..{accept[1]} anchored late"
    console.print(
        f"anchored log head: record {written.seq}, hash {written.hash}, "
        f"at {written.at.isoformat(timespec='seconds')}, appended to {out}{accepted}"
    )


def _seq_range(text: str) -> tuple[int, int]:
    """``FIRST..LAST`` (or one seq) as a pair of record numbers."""
    first, _, last = text.partition("..")
    try:
        pair = (int(first), int(last or first))
    except ValueError:
        pair = (0, 0)
    if not 1 <= pair[0] <= pair[1]:
        raise typer.BadParameter(
            f"'{text}' is not a range of records: give FIRST..LAST (e.g. 12..14) or one record number",
            param_hint="--accept-late",
        )
    return pair


def rekey_command(
    db: DbOption = DEFAULT_DB,
    key: KeyOption = None,
    json_output: JsonFlag = False,
) -> None:
    """Give a log written before row digests were keyed keyed digests from now on (logged).

    For a store that 'log verify --deep' refuses because its records carry unkeyed digests. Refused unless the
    chain and every anchor hold with no record unanchored and every table holds what the unkeyed digests
    imply; then one record restates every table's digest under the store's key (<store>.digest.key, or
    PULSETWIN_DIGEST_KEY), and --deep checks the tables from it on. It cannot make the unkeyed past stronger
    than it was: what someone who could write the store could hide from unkeyed digests stays hidden.
    """
    from pulsetwin.store.rekey import rekey_digests

    if not db.is_file():
        raise StoreError(f"store '{db}' does not exist. Fix: pass the right --db")
    with Store(db, anchor_key=key) as store:
        record = rekey_digests(store)
    if json_output:
        print_json({**asdict(record), "detail": record.detail})
        return
    detail = record.detail
    console.print(
        f"row digests re-keyed: {detail['tables']} tables hold what the unkeyed digests of records up to "
        f"{detail['unkeyed_through']} imply; their keyed digests are log record {record.seq}. "
        "'pulsetwin log verify --deep' checks the tables from it on"
    )


def keygen_command(
    out: Annotated[Path, typer.Option("--out", help="The new key file (refused when it exists).")],
) -> None:
    """Write a new random anchor key. Point PULSETWIN_ANCHOR_KEY at it when writing and verifying.

    Keep the key where those who can write the store cannot read it: then they cannot sign anchors of a
    forged log.
    """
    new_key(out)
    console.print(f"wrote a new anchor key to {out} (readable by its owner only); keep a copy offline")


def show_command(
    db: DbOption = DEFAULT_DB,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Show the last N records.")] = 20,
    json_output: JsonFlag = False,
) -> None:
    """Show the last records of the log."""
    with Store(db, read_only=True) as store:
        records = store.log.records(limit=limit)
    if json_output:
        print_json([{**asdict(r), "detail": r.detail, "digests": r.digests} for r in records])
        return
    view = Table(title=f"log (last {len(records)})")
    for column in ("seq", "at", "actor", "action", "subject", "detail", "hash"):
        view.add_column(column)
    for r in records:
        text = canonical_detail(r.detail)  # row digests are left out here; --json shows them
        detail = text if len(text) <= 80 else text[:77] + "..."
        view.add_row(
            str(r.seq), r.at.isoformat(timespec="seconds"), r.actor, r.action, r.subject, detail, r.hash[:12]
        )
    console.print(view)


def register(app: typer.Typer) -> None:
    """Add the ``log`` group (verify, anchor, show, keygen, rekey) to ``app``."""
    log_app = typer.Typer(help="The tamper-evident log of every change to the store.", no_args_is_help=True)
    log_app.command("verify")(verify_command)
    log_app.command("anchor")(anchor_command)
    log_app.command("show")(show_command)
    log_app.command("keygen")(keygen_command)
    log_app.command("rekey")(rekey_command)
    app.add_typer(log_app, name="log")
