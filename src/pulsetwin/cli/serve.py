"""``pulsetwin serve`` (API and dashboard with uvicorn) and ``pulsetwin user add`` (users with roles)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pulsetwin.cli.common import DEFAULT_DB, DbOption, console


def register(app: typer.Typer) -> None:
    """Add ``serve`` and the ``user`` sub-app with ``add`` to the root app."""
    app.command("serve")(serve_command)
    user_app = typer.Typer(help="Users of the API and dashboard, with roles.", no_args_is_help=True)
    user_app.command("add")(user_add_command)
    app.add_typer(user_app, name="user")


def serve_command(
    db: DbOption = DEFAULT_DB,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    demo: Annotated[
        bool,
        typer.Option("--demo", help="Create demo users (one per role) with random passwords, printed once."),
    ] = False,
    documents: Annotated[
        Path | None, typer.Option("--documents", help="Directory of generated documents to serve.")
    ] = None,
    background_url: Annotated[
        str | None,
        typer.Option(
            "--background-url",
            help="Optional background map for online use: an https WMS GetMap URL in EPSG:28992 with {bbox}, "
            "{width} and {height}. Default: none (nothing is fetched from outside).",
        ),
    ] = None,
    anchor_file: Annotated[
        Path | None,
        typer.Option(
            "--anchor-file",
            help="Append the log head after every write here (default: PULSETWIN_ANCHOR_FILE, else "
            "<db>.anchors.jsonl next to the store).",
        ),
    ] = None,
    anchor_key: Annotated[
        Path | None,
        typer.Option("--anchor-key", help="Key file signing the anchors (default: PULSETWIN_ANCHOR_KEY)."),
    ] = None,
    token_hours: Annotated[
        float, typer.Option("--token-hours", min=0.02, max=24.0, help="Lifetime of a login token in hours.")
    ] = 8.0,
) -> None:
    """Serve the API (/api/v1, OpenAPI document at /openapi.json) and the dashboard (/) from one store.

    The server opens the store only while requests need it, so CLI commands on the same store run meanwhile
    (they wait briefly for the server to let go)."""
    import uvicorn

    from pulsetwin.api import Settings, create_app

    settings = Settings(
        db=db,
        demo=demo,
        documents=documents,
        token_minutes=round(token_hours * 60),
        background_url=background_url,
        anchor_file=anchor_file,
        anchor_key=anchor_key,
    )
    app = create_app(settings)
    for name, password in sorted(app.state.demo_passwords.items()):
        console.print(f"demo user [bold]{name}[/] password [bold]{password}[/]")
    console.print(f"every write anchors the log head to {app.state.backend.anchor_path}")
    console.print(f"PulseTwin at http://{host}:{port}/ (OpenAPI document at /openapi.json)")
    # One process: DuckDB lets a single process hold the store file, and the lease hands it to CLI commands.
    # Cached answers are served on the event loop (httptools, uvloop); store reads use the worker threads.
    uvicorn.run(app, host=host, port=port, log_level="warning")


def user_add_command(
    name: Annotated[str, typer.Argument(help="User name (a-z, 0-9, '.', '_', '-').")],
    role: Annotated[str, typer.Option("--role", help="viewer, analyst, auditor or admin.")],
    password: Annotated[
        str,
        typer.Option(
            "--password",
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            help="At least 10 characters; asked for when not given.",
        ),
    ],
    db: DbOption = DEFAULT_DB,
) -> None:
    """Add a user with a role; the password is stored as a salted scrypt hash."""
    from pulsetwin.api.services.backend import Backend
    from pulsetwin.api.services.users import add_user
    from pulsetwin.store.database import Store

    with Store(db) as store:
        user = add_user(Backend(store), name, role, password)
    console.print(f"user {user.username} added with role {user.role.value}")
