"""The sos-bot command."""

from __future__ import annotations

import functools
import json
import logging
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from bot import config, db

log = logging.getLogger("sos-bot")
T = TypeVar("T")


def _setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@click.group()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Configuration file (default: $SOS_CONFIG, else built-in defaults).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log more.")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: bool) -> None:
    """S.O.S. Amico Giovani: the listening line's bot, dashboard and worker."""
    _setup_logging(verbose)
    ctx.obj = {
        "config_path": config_path,
        "settings": functools.partial(_load_settings, config_path),
    }


def _load_settings(config_path: str | None) -> config.Settings:
    try:
        return config.load(config_path)
    except config.ConfigError as exc:
        raise click.ClickException(f"configuration: {exc}") from exc


def settings(ctx: click.Context) -> config.Settings:
    """Load settings or stop with the error that names the key."""
    load: Callable[[], config.Settings] = ctx.find_root().obj["settings"]
    return load()


def _vocabulary(s: config.Settings) -> tuple[list[str], list[str]]:
    """The closing topics and the configured zones: what services may name."""
    from operators.catalog import CatalogError, load

    try:
        topics = [t.id for t in load(s).topics]
    except CatalogError as exc:
        raise click.ClickException(str(exc)) from exc
    return topics, list(s.directory.zones)


def _pack_dir(s: config.Settings) -> Path:
    from flows.pack import DEFAULT_DIR

    return Path(s.service.flows_dir) if s.service.flows_dir else DEFAULT_DIR


def _starting(s: config.Settings, step: Callable[[], T]) -> T:
    """Run a step of a command's start. A database that does not answer, or goes away meanwhile
    (PostgreSQL restarting), is waited for up to `database.wait_seconds`; then the step begins
    again. A failure with the database up is reported at once."""
    from sqlalchemy.exc import OperationalError

    deadline = time.monotonic() + s.database.wait_seconds
    while True:
        try:
            db.wait_for(s.database.url, max(0.0, deadline - time.monotonic()))
            return step()
        except db.DatabaseAway as exc:
            waited = f"the database did not answer in {s.database.wait_seconds:g} s"
            raise click.ClickException(waited) from exc
        except (db.MigrationFailed, OperationalError) as exc:
            if time.monotonic() >= deadline or db.answers(s.database.url):
                if isinstance(exc, db.MigrationFailed):
                    raise click.ClickException(f"{exc}: see the error above") from exc
                raise
            log.warning("the database went away while starting: waiting for it again")


def _upgrade(s: config.Settings, *, apart: bool = False) -> None:
    """Migrate the database; an empty services directory gets the pack's services.toml.

    apart: migrate in a child process (db.upgrade_apart), for the commands that keep running.
    """
    _starting(s, lambda: _migrate(s, apart=apart))


def _migrate(s: config.Settings, *, apart: bool) -> None:
    (db.upgrade_apart if apart else db.upgrade)(s.database.url)
    _first_import(s)


def _first_import(s: config.Settings) -> None:
    """An empty services directory gets the pack's services.toml."""
    from bot import directory
    from flows import PackError

    topics, zones = _vocabulary(s)
    engine = db.make_engine(s.database.url)
    try:
        directory.first_import(engine, _pack_dir(s) / "services.toml", topics=topics, zones=zones)
    except PackError as exc:
        raise click.ClickException(f"services: {exc}") from exc
    finally:
        engine.dispose()


def _runtime(ctx: click.Context, *, migrate: bool = True, apart: bool = False) -> Any:
    from bot.runtime import Runtime
    from flows import PackError

    s = settings(ctx)

    def start() -> Any:
        if migrate:
            _migrate(s, apart=apart)
        try:
            return Runtime.create(s)
        except PackError as exc:
            raise click.ClickException(f"flows: {exc}") from exc

    return _starting(s, start)


@cli.group("db")
def db_group() -> None:
    """Database commands."""


@db_group.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Create or migrate the database (an empty services directory gets services.toml)."""
    _upgrade(settings(ctx))
    click.echo("database is up to date")


@cli.group("flows")
def flows_group() -> None:
    """Flow and content commands."""


@flows_group.command("check")
@click.argument("path", required=False, type=click.Path(file_okay=False))
@click.pass_context
def flows_check(ctx: click.Context, path: str | None) -> None:
    """Validate a flow/FAQ/services folder (default: the configured one)."""
    from bot.directory import read_file
    from flows import PackError, load_pack

    s = settings(ctx)
    folder = path or s.service.flows_dir or None
    topics, zones = _vocabulary(s)
    try:
        pack = load_pack(Path(folder) if folder else None)
        read_file(pack.path / "services.toml", topics=topics, zones=zones)
    except PackError as exc:
        raise click.ClickException(str(exc)) from exc
    for node in pack.nodes.values():
        unknown = [t for t in node.services if t not in topics]
        if unknown:
            raise click.ClickException(
                f"flow.toml: node {node.id!r}: {unknown[0]!r} is not a "
                f"closing topic (known: {', '.join(topics)})"
            )
    click.echo(f"ok: {pack.summary()}" if hasattr(pack, "summary") else "ok")


class _TextOrCommand(click.Group):
    """`sos-bot triage "TEXT"` and `sos-bot triage corrections`: words that are not a
    subcommand are the text (or, with --evaluate, the files)."""

    OPTIONS = ("--evaluate", "--cross-validate", "--errors", "--help")

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] in self.commands:
            return super().parse_args(ctx, args)
        ctx.meta["triage_words"] = [a for a in args if a not in self.OPTIONS]
        return super().parse_args(ctx, [a for a in args if a in self.OPTIONS])


@cli.group("triage", cls=_TextOrCommand, invoke_without_command=True)
@click.option(
    "--evaluate",
    is_flag=True,
    help="Measure labelled splits: sos-bot triage --evaluate FILE [FILE...]",
)
@click.option(
    "--cross-validate",
    "cross",
    is_flag=True,
    help="Measure the example layer, one file left out: sos-bot triage --cross-validate FILE...",
)
@click.option("--errors", is_flag=True, help="With --evaluate: list every wrong answer.")
@click.pass_context
def triage_cmd(ctx: click.Context, evaluate: bool, cross: bool, errors: bool) -> None:
    """Classify TEXT (or each line of standard input) and print JSON; or --evaluate FILES."""
    if ctx.invoked_subcommand is not None:
        return
    from flows import load_pack, triage

    words: list[str] = ctx.meta.get("triage_words", [])
    folder = settings(ctx).service.flows_dir or None
    pack = load_pack(Path(folder) if folder else None)
    if evaluate or cross:
        from flows.evaluate import cross_table, cross_validate, run

        if not words:
            raise click.UsageError("give one or more labelled files (JSON lines)")
        missing = [w for w in words if not Path(w).is_file()]
        if missing:
            raise click.ClickException(f"no such file: {', '.join(missing)}")
        if cross:
            if len(words) < 2:
                raise click.UsageError("--cross-validate needs two files or more")
            click.echo(cross_table(*cross_validate(pack, [Path(w) for w in words])))
            return
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


@cli.command("demo-data")
@click.option(
    "--conversations",
    default=5000,
    show_default=True,
    type=click.IntRange(1),
    help="How many synthetic conversations, over the last twelve months.",
)
@click.option("--seed", default=7, show_default=True, help="The same seed, the same history.")
@click.pass_context
def demo_data(ctx: click.Context, conversations: int, seed: int) -> None:
    """Fill an empty database with realistic synthetic history (refuses real conversations)."""
    from bot import demo
    from bot.models import utcnow

    rt = _runtime(ctx)
    services = [(s.id, s.name) for s in rt.pack.services.values()]
    try:
        with db.write_session(rt.db) as session:
            added = demo.fill(
                session,
                conversations=conversations,
                now=utcnow(),
                hours=rt.hours,
                retention_days=rt.settings.privacy.retention_days,
                services=services,
                seed=seed,
            )
    except demo.DemoError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"added {added.conversations} demo conversations ({added.contacts} contacts, "
        f"{added.referrals} referrals, {added.feedback} feedback answers, "
        f"{added.corrections} triage corrections)"
    )


@cli.command("report")
@click.option(
    "--month", default=None, help="The month, e.g. 2026-11 (default: the last full month)."
)
@click.option(
    "--format", "fmt", type=click.Choice(["html", "csv"]), default="html", show_default=True
)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(path_type=Path),
    help="html: the file to write; csv: the folder (one file per table).",
)
@click.pass_context
def report(ctx: click.Context, month: str | None, fmt: str, out: Path) -> None:
    """The monthly bulletin for the network: no names, counts under 5 hidden."""
    from zoneinfo import ZoneInfo

    from bot import audit
    from bot.app import create_app
    from bot.models import utcnow
    from bot.stats import period
    from operators import bulletin

    rt = _runtime(ctx)
    zone = ZoneInfo(rt.settings.service.timezone)
    try:
        chosen = period.month(month, zone) if month else period.last_full_month(utcnow(), zone)
    except period.PeriodError as exc:
        raise click.BadParameter(str(exc), param_hint="--month") from exc
    app = create_app(rt=rt)
    with app.test_request_context("/"), db.write_session(rt.db) as session:
        found = bulletin.collect(session, rt, app.extensions["sos_catalog"], chosen)
        if fmt == "html":
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(
                bulletin.html(
                    found, service_name=rt.settings.service.name, now=utcnow(), standalone=True
                ),
                encoding="utf-8",
            )
            written = [out]
        else:
            written = bulletin.write_csv(found, out)
        audit.record(session, "statistics_exported", format=fmt, period=chosen.key)
    click.echo(f"bulletin for {chosen.label}: {len(written)} file(s) in {out}")


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
        receipt = receive(
            rt, Inbound(channel="web", address=address, text=text, external_id=uuid.uuid4().hex)
        )
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
    click.echo(
        f"anonymised {count} conversations closed more than "
        f"{rt.settings.privacy.retention_days} days ago"
    )


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
    rt = _runtime(ctx, apart=True)
    _wait_for_signal(_start_worker(rt))


@cli.command("web")
@click.option("--workers", default=2, show_default=True, help="gunicorn worker processes")
@click.option("--threads", default=32, show_default=True, help="threads per process")
@click.pass_context
def web_cmd(ctx: click.Context, workers: int, threads: int) -> None:
    """Run the web app alone under gunicorn (production split; run `sos-bot worker` too)."""
    from gunicorn.app.wsgiapp import run as gunicorn_run

    s = settings(ctx)
    _upgrade(s, apart=True)
    if ctx.find_root().obj["config_path"]:
        import os

        os.environ["SOS_CONFIG"] = ctx.find_root().obj["config_path"]
    sys.argv = [
        "gunicorn",
        "--bind",
        f"{s.server.host}:{s.server.port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--worker-class",
        "gthread",
        "--timeout",
        "0",
        "bot.app:create_app()",
    ]
    gunicorn_run()


@cli.command("run")
@click.pass_context
def run_cmd(ctx: click.Context) -> None:
    """Run everything in one process: migrations, worker, listeners and the web app."""
    from werkzeug.serving import make_server

    from bot.app import create_app

    rt = _runtime(ctx, apart=True)
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


@cli.group("services")
def services_group() -> None:
    """The local services directory, exchanged as TOML (see flows/default/services.toml)."""


@services_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def services_import(ctx: click.Context, file: Path) -> None:
    """Add the services of FILE and update those already there; all or nothing."""
    from bot import directory
    from bot.models import utcnow
    from flows import PackError

    s = settings(ctx)
    _upgrade(s)
    topics, zones = _vocabulary(s)
    try:
        services = directory.read_file(file, topics=topics, zones=zones)
    except PackError as exc:
        raise click.ClickException(f"nothing imported: {exc}") from exc
    engine = db.make_engine(s.database.url)
    with db.write_session(engine) as session:
        added, changed = directory.import_services(
            session, services, operator_id=None, now=utcnow()
        )
    engine.dispose()
    click.echo(f"{len(services)} services in {file}: {added} added, {changed} changed")


@services_group.command("export")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.pass_context
def services_export(ctx: click.Context, file: str) -> None:
    """Write the whole directory (retired services too) to FILE as TOML ("-": the screen)."""
    from bot import directory

    s = settings(ctx)
    _upgrade(s)
    engine = db.make_engine(s.database.url)
    with db.read_session(engine) as session:
        text = directory.export(session)
    engine.dispose()
    if file == "-":
        click.echo(text, nl=False)
    else:
        Path(file).write_text(text, encoding="utf-8")
        click.echo(f"directory written to {file}")


@cli.group("operator")
def operator_group() -> None:
    """Manage listeners and coordinators."""


def main() -> None:
    from operators.cli import register

    register(operator_group)
    cli()


if __name__ == "__main__":
    main()
