"""The services directory: the first import, TOML exchange, what the bot lists, and referrals
that outlive anonymisation and erasure."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlmodel import select

from bot import directory, privacy
from bot.db import read_session, write_session
from bot.inbox import receive
from bot.models import Conversation, Referral, utcnow
from bot.models import Service as Row
from bot.runtime import Runtime
from flows.pack import DEFAULT_DIR
from operators.catalog import load as load_catalog
from tests.core.helpers import conversation, inbound, outbound, rows
from tests.core.test_cli import run
from tests.flows.test_pack import NETWORK  # the 11 services of the network (seed 001)

BROKEN = """[sportello]
name = "Sportello"
about.it = "Ascolto a scuola."
topics = ["scuola"]

[consultorio]
name = "Consultorio"
about.it = "Salute e affettività."
topics = ["salute"]
"""


def first_import(rt: Runtime) -> None:
    topics = [t.id for t in load_catalog(rt.settings).topics]
    directory.first_import(
        rt.db, DEFAULT_DIR / "services.toml", topics=topics, zones=rt.settings.directory.zones
    )


def test_db_upgrade_fills_an_empty_directory_once(database_url: str) -> None:
    code, out = run(["db", "upgrade"], database_url)
    assert code == 0, out
    code, out = run(["services", "export", "-"], database_url)
    assert code == 0, out
    import tomllib

    exported = tomllib.loads(out)
    assert len(exported) == 14
    assert {k for k, v in exported.items() if v["network"]} == NETWORK
    assert exported["caritas"]["topics"] == ["bisogni"]
    assert all(not any(v["contacts"].values()) for v in exported.values())  # none invented

    from bot import db

    engine = db.make_engine(database_url)
    with write_session(engine) as session:
        directory.delete(session, "banca-del-tempo", operator_id=None)
    code, out = run(["db", "upgrade"], database_url)
    assert code == 0, out
    with read_session(engine) as session:
        assert len(directory.rows(session)) == 13  # not imported again over the coordinators' work
    engine.dispose()


def test_a_bad_import_names_file_and_line_and_imports_nothing(
    database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "nuovi.toml"
    path.write_text(BROKEN, encoding="utf-8")
    code, out = run(["services", "import", str(path)], database_url)
    assert code != 0
    line = BROKEN.splitlines().index('topics = ["salute"]') + 1
    assert (
        f"nothing imported: {path}:{line}: service 'consultorio': 'salute' is not a "
        "closing topic" in out
    ), out
    code, out = run(["services", "export", "-"], database_url)
    assert "[sportello]" not in out and "[caritas]" in out  # the valid one was not kept either


def test_export_then_import_gives_the_same_directory(rt: Runtime, tmp_path: Path) -> None:
    first_import(rt)
    with write_session(rt.db) as session:
        row = session.get(Row, "caritas")
        assert row is not None
        row.phone, row.age_min, row.languages = "0547 000000", 14, ["it", "en"]
        row.checked_at, row.checked_by = utcnow(), "Carla"
        directory.set_active(session, "marmotta-rossa", False, operator_id=None, now=utcnow())
    with read_session(rt.db) as session:
        text = directory.export(session)
        before = [directory.record(r) for r in directory.rows(session)]
    path = tmp_path / "export.toml"
    path.write_text(text, encoding="utf-8")
    topics = [t.id for t in load_catalog(rt.settings).topics]
    services = directory.read_file(path, topics=topics, zones=rt.settings.directory.zones)
    with write_session(rt.db) as session:
        added, changed = directory.import_services(
            session, services, operator_id=None, now=utcnow()
        )
    assert (added, changed) == (0, 0)
    with read_session(rt.db) as session:
        assert [directory.record(r) for r in directory.rows(session)] == before


def _pick(rt: Runtime, address: str, *texts: str) -> str:
    conversation_id = ""
    for text in texts:
        receipt = receive(rt, inbound(text, address=address))
        conversation_id = receipt.conversation_id or ""
    return conversation_id


def test_the_bot_lists_the_directory_and_counts_its_referrals(rt: Runtime) -> None:
    first_import(rt)
    address = "whatsapp:+393330000011"
    conversation_id = _pick(rt, address, "ciao", "2", "4", "3")
    (referral,) = rows(rt, Referral)
    assert (referral.service_id, referral.by, referral.channel, referral.topic) == (
        "caritas",
        "bot",
        "whatsapp",
        "bisogni",
    )
    assert referral.conversation_id == conversation_id

    with write_session(rt.db) as session:  # retired: the bot stops offering it at once
        directory.set_active(session, "caritas", False, operator_id=None, now=utcnow())
    directory.changed(rt.db)
    receive(rt, inbound("2", address=address))
    receive(rt, inbound("4", address=address))
    menu = outbound(rt, conversation_id)[-1].body
    assert "Caritas" not in menu and "*2* Servizi Sociali" in menu


def test_referrals_outlive_retention_and_erasure(rt: Runtime) -> None:
    first_import(rt)
    kept = _pick(rt, "whatsapp:+393330000012", "ciao", "2", "3", "1")
    erased = _pick(rt, "whatsapp:+393330000013", "ciao", "2", "2", "1")
    with write_session(rt.db) as session:
        old = session.get(Conversation, kept)
        assert old is not None
        old.status, old.closed_at, old.topics = "closed", utcnow() - timedelta(days=400), []
        old.age_band, old.zone, old.returning = "14_17", "Sarsina", True
    with write_session(rt.db) as session:
        assert privacy.purge(session, utcnow(), rt.settings.privacy.retention_days) == 1
    receive(rt, inbound("cancella", address="whatsapp:+393330000013"))
    receive(rt, inbound("sì", address="whatsapp:+393330000013"))
    assert conversation(rt, erased).outcome == "erased"

    found = sorted(rows(rt, Referral), key=lambda r: r.service_id)
    assert [(r.service_id, r.conversation_id, r.channel, r.topic) for r in found] == [
        ("centro-famiglie", None, "whatsapp", "famiglia"),
        ("riduzione-danno", None, "whatsapp", "sostanze"),
    ]
    anonymous = conversation(rt, kept)
    assert (anonymous.age_band, anonymous.zone, anonymous.returning) == ("14_17", "Sarsina", True)


def test_a_service_with_referrals_cannot_be_deleted(rt: Runtime) -> None:
    first_import(rt)
    _pick(rt, "whatsapp:+393330000014", "ciao", "2", "3", "1")
    with write_session(rt.db) as session:
        try:
            directory.delete(session, "riduzione-danno", operator_id=None)
        except directory.DirectoryError as exc:
            assert "non si può eliminare" in exc.message
        else:
            raise AssertionError("deleted a service with referrals")
    with read_session(rt.db) as session:
        assert session.exec(select(Row).where(Row.id == "riduzione-danno")).first() is not None


def test_flows_check_refuses_a_menu_topic_that_is_not_a_closing_topic(
    database_url: str, tmp_path: Path
) -> None:
    for f in DEFAULT_DIR.iterdir():
        if f.is_file():
            (tmp_path / f.name).write_bytes(f.read_bytes())
    flow = tmp_path / "flow.toml"
    flow.write_text(flow.read_text().replace('services = ["bisogni"]', 'services = ["cibo"]'))
    code, out = run(["flows", "check", str(tmp_path)], database_url)
    assert code != 0 and "node 'services-basic': 'cibo' is not a closing topic" in out, out
