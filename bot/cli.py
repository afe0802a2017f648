"""The sos-bot command."""

from __future__ import annotations

import functools
import json
import logging
import signal
import sys
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from bot import config, db

log = logging.getLogger("sos-bot")


def _setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@click.group()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Configuration file (default: $SOS_CONFIG, else built-in defaults).")
@click.option("-v", "--verbose", is_flag=True, help="Log more.")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: bool) -> None:
    """S.O.S. Amico Giovani: the listening line's bot, dashboard and worker."""
    _setup_logging(verbose)
    ctx.obj = {"settings": functools.partial(_load_settings, config_path),
               "config_path": config_path}


def _load_settings(config_path: str | None) -> config.Settings:
    try:
        return config.load(config_path)
    except config.ConfigError as exc:
        raise click.ClickException(f"configuration: {exc}") from exc


def settings(ctx: click.Context) -> config.Settings:
    """Load settings or stop with the error that names the key."""
    load: Callable[[], config.Settings] = ctx.find_root().obj["settings"]
    return load()


def _runtime(ctx: click.Context, *, migrate: bool = True) -> Any:
    from bot.runtime import Runtime
    from flows import PackError

    s = settings(ctx)
    if migrate:
        db.upgrade(s.database.url)
    try:
        return Runtime.create(s)
    except PackError as exc:
        raise click.ClickException(f"flows: {exc}") from exc


@cli.group("db")
def db_group() -> None:
    """Database commands."""


@db_group.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Create or migrate the database to the latest schema."""
    s = settings(ctx)
    db.upgrade(s.database.url)
    click.echo("database is up to date")


@cli.group("flows")
def flows_group() -> None:
    """Flow and content commands."""


@flows_group.command("check")
@click.argument("path", required=False, type=click.Path(file_okay=False))
@click.pass_context
def flows_check(ctx: click.Context, path: str | None) -> None:
    """Validate a flow/FAQ/services folder (default: the configured one)."""
    from flows import PackError, load_pack

    folder = path or settings(ctx).service.flows_dir or None
    try:
        pack = load_pack(Path(folder) if folder else None)
    except PackError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"ok: {pack.summary()}" if hasattr(pack, "summary") else "ok")


class _TextOrCommand(click.Group):
    """`sos-bot triage "TEXT"` and `sos-bot triage corrections`: words that are not a
    subcommand are the text (or, with --evaluate, the files)."""

    OPTIONS = ("--evaluate", "--errors", "--help")

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] in self.commands:
            return super().parse_args(ctx, args)
        ctx.meta["triage_words"] = [a for a in args if a not in self.OPTIONS]
        return super().parse_args(ctx, [a for a in args if a in self.OPTIONS])


@cli.group("triage", cls=_TextOrCommand, invoke_without_command=True)
@click.option("--evaluate", is_flag=True,
              help="Measure labelled splits: sos-bot triage --evaluate FILE [FILE...]")
@click.option("--errors", is_flag=True, help="With --evaluate: list every wrong answer.")
@click.pass_context
def triage_cmd(ctx: click.Context, evaluate: bool, errors: bool) -> None:
    """Classify TEXT (or each line of standard input) and print JSON; or --evaluate FILES."""
    if ctx.invoked_subcommand is not None:
        return
    from flows import load_pack, triage

    words: list[str] = ctx.meta.get("triage_words", [])
    folder = settings(ctx).service.flows_dir or None
    pack = load_pack(Path(folder) if folder else None)
    if evaluate:
        from flows.evaluate import run

        if not words:
            raise click.UsageError("--evaluate needs one or more labelled files (JSON lines)")
        missing = [w for w in words if not Path(w).is_file()]
        if missing:
            raise click.ClickException(f"no such file: {', '.join(missing)}")
        ctx.exit(run(pack, [Path(w) for w in words], errors=errors))
    if len(words) > 1:
        raise click.UsageError('quote the message: sos-bot triage "TEXT"')
    lines = words or (line.rstrip("\n") for line in sys.stdin)
    for line in lines:
        click.echo(json.dumps(triage(pack, line).as_dict(), ensure_ascii=False))


@triage_cmd.command("corrections")
@click.option("--csv", "as_csv", is_flag=True, help="Every correction as CSV on standard output.")
@click.pass_context
def triage_corrections(ctx: click.Context, as_csv: bool) -> None:
    """The listeners' corrections of the bot's reading (see docs/triage.md)."""
    from bot import corrections

    s = settings(ctx)
    db.upgrade(s.database.url)
    engine = db.make_engine(s.database.url)
    with db.read_session(engine) as session:
        rows = corrections.list_all(session)
    if as_csv:
        click.echo(corrections.as_csv(rows), nl=False)
        return
    for category, count in corrections.counts(rows).items():
        click.echo(f"{count:>5}  {category}  ({corrections.CATEGORIES[category]})")
    click.echo(f"{len(rows):>5}  in all; --csv for the messages")


@cli.command("chat")
@click.option("--as", "who", default=None, help="A name for this simulated young person.")
@click.pass_context
def chat(ctx: click.Context, who: str | None) -> None:
    """Talk to the bot in the terminal: same engine and store, no network."""
    from bot.channel import Inbound
    from bot.inbox import receive
    from bot.simulator import replies_for
    from bot.worker import deliver_due

    rt = _runtime(ctx)
    address = f"cli:{who or uuid.uuid4().hex[:8]}"
    click.echo("Scrivi un messaggio (Ctrl-D per uscire) / write a message (Ctrl-D to quit)")
    seen: set[str] = set()
    while True:
        try:
            text = input("tu> ")
        except (EOFError, KeyboardInterrupt):
            click.echo()
            return
        receipt = receive(rt, Inbound(channel="web", address=address, text=text,
                                      external_id=uuid.uuid4().hex))
        deliver_due(rt)
        for message in replies_for(rt, receipt.conversation_id, seen):
            click.echo(f"bot> {message}\n")
        if receipt.escalated:
            click.echo(f"[in coda per un volontario, priorità {receipt.escalated}]")


@cli.command("purge")
@click.pass_context
def purge_cmd(ctx: click.Context) -> None:
    """Apply privacy.retention_days now (the worker also does it daily)."""
    from bot.worker import housekeeping, purge

    rt = _runtime(ctx)
    count = purge(rt)
    housekeeping(rt)
    click.echo(f"anonymised {count} conversations closed more than "
               f"{rt.settings.privacy.retention_days} days ago")


def _start_worker(rt: Any) -> list[Any]:
    from bot.channels import registry
    from bot.worker import Worker

    registry.configure_senders(rt)
    worker = Worker(rt)
    running: list[Any] = [worker]
    worker.start()
    for listener in registry.listeners(rt):
        listener.start()
        running.append(listener)
    return running


def _wait_for_signal(running: list[Any]) -> None:
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    for item in running:
        item.stop()


@cli.command("worker")
@click.pass_context
def worker_cmd(ctx: click.Context) -> None:
    """Run the worker alone: outbox, e-mail listener, retention (production split)."""
    rt = _runtime(ctx)
    _wait_for_signal(_start_worker(rt))


@cli.command("web")
@click.option("--workers", default=2, show_default=True, help="gunicorn worker processes")
@click.option("--threads", default=32, show_default=True, help="threads per process")
@click.pass_context
def web_cmd(ctx: click.Context, workers: int, threads: int) -> None:
    """Run the web app alone under gunicorn (production split; run `sos-bot worker` too)."""
    from gunicorn.app.wsgiapp import run as gunicorn_run

    s = settings(ctx)
    db.upgrade(s.database.url)
    if ctx.find_root().obj["config_path"]:
        import os

        os.environ["SOS_CONFIG"] = ctx.find_root().obj["config_path"]
    sys.argv = ["gunicorn", "--bind", f"{s.server.host}:{s.server.port}",
                "--workers", str(workers), "--threads", str(threads), "--worker-class", "gthread",
                "--timeout", "0", "bot.app:create_app()"]
    gunicorn_run()


@cli.command("run")
@click.pass_context
def run_cmd(ctx: click.Context) -> None:
    """Run everything in one process: migrations, worker, listeners and the web app."""
    from werkzeug.serving import make_server

    from bot.app import create_app

    rt = _runtime(ctx)
    running = _start_worker(rt)
    app = create_app(rt=rt)
    s = rt.settings
    server = make_server(s.server.host, s.server.port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="sos-web", daemon=True)
    thread.start()
    url = s.server.public_url or f"http://{s.server.host}:{s.server.port}"
    log.info("S.O.S. Amico Giovani is running: dashboard at %s/ (Ctrl-C to stop)", url)

    class _Server:
        def stop(self) -> None:
            server.shutdown()

    _wait_for_signal([_Server(), *running])


@cli.group("operator")
def operator_group() -> None:
    """Manage listeners and coordinators."""


def main() -> None:
    from operators.cli import register

    register(operator_group)
    cli()


if __name__ == "__main__":
    main()
