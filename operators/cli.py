"""`sos-bot operator ...` commands."""

from __future__ import annotations

import sys

import click
from sqlalchemy.engine import Engine

from bot.config import Settings
from operators import accounts


def _engine(ctx: click.Context) -> Engine:
    from bot import db

    s: Settings = ctx.find_root().obj["settings"]()  # handed down by the sos-bot group
    db.upgrade(s.database.url)
    return db.make_engine(s.database.url)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise click.ClickException("no password on standard input")
        return line.rstrip("\r\n")
    value: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


def register(group: click.Group) -> None:
    """Add the operator commands to the `sos-bot operator` group."""

    @group.command("add")
    @click.argument("username")
    @click.option(
        "--role",
        type=click.Choice(accounts.ROLES),
        required=True,
        help="listener: answers conversations; coordinator: also manages the service.",
    )
    @click.option("--name", "display_name", default="", help="Name shown to colleagues.")
    @click.option(
        "--capacity",
        type=click.IntRange(1, 50),
        default=None,
        help="Conversations held at once (default: service.listener_capacity).",
    )
    @click.option(
        "--password-stdin",
        is_flag=True,
        help="Read the password from the first line of standard input.",
    )
    @click.pass_context
    def add(
        ctx: click.Context,
        username: str,
        role: str,
        display_name: str,
        capacity: int | None,
        password_stdin: bool,
    ) -> None:
        """Add a dashboard account (the password is asked, or read from standard input)."""
        from bot.db import write_session

        engine = _engine(ctx)
        password = _read_password(password_stdin)
        try:
            with write_session(engine) as session:
                operator = accounts.create(
                    session, username, password, role, display_name=display_name, capacity=capacity
                )
        except accounts.AccountError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"added {operator.role} {operator.username}")

    @group.command("disable")
    @click.argument("username")
    @click.pass_context
    def disable(ctx: click.Context, username: str) -> None:
        """Disable an account; its conversations go back to the queue."""
        from bot.db import write_session

        engine = _engine(ctx)
        try:
            with write_session(engine) as session:
                operator = accounts.find(session, username)
                if operator is None:
                    raise accounts.AccountError(f"nessun operatore «{username.strip().lower()}»")
                released = accounts.set_active(session, operator, False, by=None)
        except accounts.AccountError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"disabled {operator.username}; {len(released)} conversations back in the queue")

    @group.command("list")
    @click.pass_context
    def list_(ctx: click.Context) -> None:
        """List accounts: username, role, active, capacity."""
        from bot.db import read_session

        engine = _engine(ctx)
        with read_session(engine) as session:
            for o in accounts.list_all(session):
                state = "active" if o.active else "disabled"
                click.echo(f"{o.username}\t{o.role}\t{state}\t{o.capacity or '-'}")
