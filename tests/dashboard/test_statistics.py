"""Statistics, bulletin and feedback as coordinators, listeners and young people meet them:
coordinators read the figures and export the bulletin; listeners never see them; after a
listener's close the young person may say whether it helped, and only anonymous counts remain."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlmodel import select

from bot import demo
from bot.cli import cli
from bot.db import read_session, write_session
from bot.inbox import receive
from bot.models import Contact, Conversation, Feedback, Message, Operator, utcnow
from bot.runtime import Runtime
from tests.conftest import make_settings
from tests.dashboard.conftest import Dash, add_operator, conversation, waiting, young

PAGES = ("/statistics", "/statistics/bulletin", "/statistics/bulletin.zip")


@pytest.fixture
def anna(dash_factory: Callable[..., Dash], team: dict[str, Operator]) -> Dash:
    return dash_factory("anna")


@pytest.fixture
def carla(dash_factory: Callable[..., Dash], team: dict[str, Operator]) -> Dash:
    return dash_factory("carla")


def fill(rt: Runtime, conversations: int = 400) -> None:
    with write_session(rt.db) as session:
        demo.fill(
            session,
            conversations=conversations,
            now=utcnow(),
            hours=rt.hours,
            retention_days=rt.settings.privacy.retention_days,
            services=[(s.id, s.name) for s in rt.pack.services.values()],
        )


def address_of(rt: Runtime, conversation_id: str) -> str:
    with read_session(rt.db) as session:
        found = session.get(Conversation, conversation_id)
        assert found is not None and found.contact_id
        contact = session.get(Contact, found.contact_id)
        assert contact is not None
        return contact.address


def feedback_rows(rt: Runtime) -> list[Feedback]:
    with read_session(rt.db) as session:
        return list(session.exec(select(Feedback)))


def questions(rt: Runtime, conversation_id: str) -> list[Message]:
    with read_session(rt.db) as session:
        found = session.exec(
            select(Message).where(
                Message.conversation_id == conversation_id, Message.author == "bot"
            )
        )
        return [m for m in found if m.meta.get("feedback") == "asked"]


def close(rt: Runtime, dash: Dash, outcome: str = "ascolto", text: str | None = None) -> str:
    cid = waiting(rt, text) if text else waiting(rt)
    assert dash.post(f"/conversations/{cid}/claim").status_code == 302
    assert dash.post(f"/conversations/{cid}/close", {"outcome": outcome}).status_code == 302
    return cid


# who sees what -------------------------------------------------------------------------------


def test_listeners_see_no_statistics_not_even_by_url(rt: Runtime, anna: Dash) -> None:
    fill(rt, 50)
    for path in PAGES:
        response = anna.get(f"{path}?month=2026-11")
        assert response.status_code == 403, path
        assert b"Conversazioni" not in response.data
    assert "/statistics" not in anna.get("/").text


def test_coordinators_read_the_figures_of_a_month(rt: Runtime, carla: Dash) -> None:
    fill(rt)
    page = carla.get("/statistics")
    assert page.status_code == 200
    assert "Statistiche:" in page.text and 'data-table="topics"' in page.text
    assert page.text.count('<img class="stats-chart" src="data:image/svg+xml;base64,') >= 6
    assert "Volontario demo" not in page.text
    chosen = carla.get("/statistics?from=2026-11-03&to=2026-11-16")
    assert chosen.status_code == 200 and "03/11/2026 – 16/11/2026" in chosen.text
    assert carla.get("/statistics?month=2026-13").status_code == 400


def test_the_bulletin_names_no_listener_and_hides_small_counts(rt: Runtime, carla: Dash) -> None:
    fill(rt, 300)
    with read_session(rt.db) as session:
        names = [o.display_name for o in session.exec(select(Operator))]
    bulletin = carla.get("/statistics/bulletin")
    assert bulletin.status_code == 200
    assert "Analisi dei bisogni emergenti" in bulletin.text and "&lt;5" in bulletin.text
    for name in names:
        assert name not in bulletin.text
    assert "<style" not in bulletin.text and "<script" not in bulletin.text  # the CSP holds


def test_the_csv_files_one_per_table_with_a_header(rt: Runtime, carla: Dash) -> None:
    fill(rt, 300)
    response = carla.get("/statistics/bulletin.zip?month=2026-11")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    files = {Path(n).name: archive.read(n).decode() for n in archive.namelist()}
    index = list(csv.DictReader(io.StringIO(files["indice.csv"])))
    assert {row["file"] for row in index} | {"indice.csv"} == set(files)
    assert index[0]["dal"] == "2026-11-01" and index[0]["al"] == "2026-11-30"
    topics = list(csv.reader(io.StringIO(files["topics.csv"])))
    assert topics[0] == ["Tema", "Periodo", "Precedente", "Variazione"]
    for name, text in files.items():
        for row in list(csv.reader(io.StringIO(text)))[1:]:
            for cell in row:  # no count from 1 to 4 anywhere
                assert cell not in {"1", "2", "3", "4"}, (name, row)


def test_sos_bot_report_writes_the_bulletin_as_html_and_csv(
    rt: Runtime, database_url: str, tmp_path: Path
) -> None:
    fill(rt, 300)
    env = {"SOS_DATABASE_URL": database_url, "SOS_SERVICE_HOURS": "mon-fri 15:00-20:00"}
    page = tmp_path / "bollettino.html"
    done = CliRunner().invoke(cli, ["report", "--month", "2026-11", "--out", str(page)], env=env)
    assert done.exit_code == 0, done.output
    html = page.read_text()
    assert "novembre 2026" in html and "<style>" in html and "data:image/svg+xml" in html
    assert "Volontario demo" not in html
    folder = tmp_path / "csv"
    done = CliRunner().invoke(
        cli, ["report", "--month", "2026-11", "--format", "csv", "--out", str(folder)], env=env
    )
    assert done.exit_code == 0, done.output
    assert {"indice.csv", "topics.csv", "weekday_hour.csv", "feedback_useful.csv"} <= {
        p.name for p in folder.iterdir()
    }
    bad = CliRunner().invoke(cli, ["report", "--month", "novembre", "--out", str(page)], env=env)
    assert bad.exit_code != 0 and "AAAA-MM" in bad.output


def test_demo_data_refuses_a_database_with_real_conversations(
    rt: Runtime, database_url: str
) -> None:
    waiting(rt)
    env = {"SOS_DATABASE_URL": database_url}
    done = CliRunner().invoke(cli, ["demo-data", "--conversations", "10"], env=env)
    assert done.exit_code != 0 and "real conversations" in done.output
    with read_session(rt.db) as session:
        assert len(list(session.exec(select(Conversation)))) == 1


def test_demo_data_fills_an_empty_database_and_may_add_more(database_url: str) -> None:
    env = {"SOS_DATABASE_URL": database_url}
    for _ in range(2):
        done = CliRunner().invoke(cli, ["demo-data", "--conversations", "40"], env=env)
        assert done.exit_code == 0 and "added 40 demo conversations" in done.output


# feedback --------------------------------------------------------------------------------------


def test_after_a_close_the_young_person_may_say_whether_it_helped(rt: Runtime, anna: Dash) -> None:
    cid = close(rt, anna, "orientamento")
    (asked,) = questions(rt, cid)
    assert asked.body == rt.pack.text("feedback_ask", "it") and asked.status == "queued"
    address = address_of(rt, cid)
    first = receive(rt, young("4", address=address))
    assert first.conversation_id != cid
    assert first.replies and feedback_rows(rt) == [] and first.conversation_id
    receive(rt, young("sì", address=address))
    (row,) = feedback_rows(rt)
    month = f"{utcnow().astimezone(ZoneInfo(rt.settings.service.timezone)):%Y-%m}"
    assert (row.outcome, row.score, row.again) == ("orientamento", 4, True)
    assert row.month == month
    assert set(Feedback.model_fields) == {"id", "month", "outcome", "score", "again"}
    answer = conversation(rt, first.conversation_id)
    assert answer.status == "closed" and answer.outcome == "bot:feedback"


def test_never_asked_twice_in_thirty_days(rt: Runtime, anna: Dash) -> None:
    cid = close(rt, anna)
    assert len(questions(rt, cid)) == 1
    address = address_of(rt, cid)
    again = waiting(rt, "ho ancora bisogno di parlare", address=address)
    assert anna.post(f"/conversations/{again}/claim").status_code == 302
    assert anna.post(f"/conversations/{again}/close", {"outcome": "ascolto"}).status_code == 302
    assert questions(rt, again) == []
    with write_session(rt.db) as session:
        contact = session.exec(select(Contact).where(Contact.address == address)).one()
        contact.feedback_asked_at = utcnow() - timedelta(days=31)
    third = waiting(rt, "ciao, sono di nuovo io, posso parlare con qualcuno?", address=address)
    anna.post(f"/conversations/{third}/claim")
    anna.post(f"/conversations/{third}/close", {"outcome": "ascolto"})
    assert len(questions(rt, third)) == 1


def test_no_question_after_a_crisis(rt: Runtime, anna: Dash) -> None:
    emergency = close(rt, anna, "emergenza")
    assert questions(rt, emergency) == []
    crisis = close(rt, anna, "ascolto", text="voglio morire")
    assert conversation(rt, crisis).crisis_at is not None
    assert questions(rt, crisis) == []


def test_the_question_can_be_turned_off(
    database_url: str, dash_factory: Callable[..., Dash]
) -> None:
    settings = make_settings(database_url, SOS_SERVICE_ASK_FEEDBACK="false")
    assert settings.service.ask_feedback is False
    from bot.app import create_app

    rt = Runtime.create(settings)
    add_operator(rt, "anna")
    app = create_app(rt=rt)
    app.config.update(TESTING=True)
    dash = Dash(app.test_client())
    assert dash.login("anna").status_code == 302
    assert questions(rt, close(rt, dash)) == []
