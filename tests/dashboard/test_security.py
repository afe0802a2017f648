"""Headers on every answer, the Twilio webhooks as the only CSRF-exempt routes, data files,
and private notes erased with the conversation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlmodel import select

from bot.app import create_app
from bot.db import read_session, write_session
from bot.models import Conversation, Note, utcnow
from bot.runtime import Runtime
from bot.worker import purge
from operators import catalog
from tests.conftest import make_settings
from tests.dashboard.conftest import Dash, add_operator, waiting
from tests.whatsapp.conftest import AUTH_TOKEN, message_form, sign, twilio_env


def test_security_headers_on_pages_and_static(
    dash_factory: Callable[..., Dash], rt: Runtime
) -> None:
    add_operator(rt, "anna")
    dash = dash_factory("anna")
    for path in ("/", "/login", "/static/dashboard.js", "/healthz"):
        headers = dash.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "default-src 'self'" in csp, path
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert "unsafe-inline" not in csp
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["X-Content-Type-Options"] == "nosniff"
    assert dash.get("/").headers["Cache-Control"] == "no-store"


def test_pages_have_no_inline_scripts_or_styles(
    dash_factory: Callable[..., Dash], rt: Runtime
) -> None:
    add_operator(rt, "carla", "coordinator")
    dash = dash_factory("carla")
    cid = waiting(rt)
    for path in (
        "/",
        f"/conversations/{cid}",
        "/simulator/",
        "/operators",
        "/audit",
        "/conversations",
        "/password",
    ):
        page = dash.get(path).text
        assert "<script>" not in page and " style=" not in page and " onclick" not in page, path
        assert '<script src="/static/dashboard.js' in page


def test_static_files_are_served(client: object) -> None:
    js = client.get("/static/dashboard.js")  # type: ignore[attr-defined]
    css = client.get("/static/dashboard.css")  # type: ignore[attr-defined]
    assert js.status_code == 200 and "EventSource" in js.text
    assert css.status_code == 200


def test_signed_twilio_webhook_needs_no_csrf_token(database_url: str, engine: object) -> None:
    settings = make_settings(database_url, **twilio_env("http://127.0.0.1:9"))
    rt = Runtime.create(settings, engine=engine)  # type: ignore[arg-type]
    app: Flask = create_app(rt=rt)
    form = message_form("ciao dal webhook")
    response = app.test_client().post(
        "/twilio/whatsapp",
        data=form,
        headers={
            "X-Twilio-Signature": sign(
                settings.server.public_url + "/twilio/whatsapp", form, AUTH_TOKEN
            )
        },
    )
    assert response.status_code == 200
    unsigned = app.test_client().post("/twilio/whatsapp", data=form)
    assert unsigned.status_code == 403  # the signature, not a token, protects it


def test_the_data_files_load_and_are_italian(rt: Runtime) -> None:
    loaded = catalog.load(rt.settings)
    assert len(loaded.quick_replies) >= 5
    assert all(q.text and q.text_en for q in loaded.quick_replies)
    assert {"ascolto", "orientamento", "emergenza"} <= {o.id for o in loaded.outcomes}
    assert {"scuola", "famiglia", "suicidio"} <= {t.id for t in loaded.topics}


def test_a_coordinators_own_quick_replies_are_used(database_url: str, tmp_path: Path) -> None:
    (tmp_path / "quick_replies.toml").write_text(
        '[[reply]]\nid = "mio"\nlabel = "Mio"\ntext = "Testo di {servizio}"\n'
    )
    settings = make_settings(database_url, SOS_SERVICE_FLOWS_DIR=str(tmp_path))
    (only,) = catalog.load(settings).quick_replies
    assert only.text == f"Testo di {settings.service.name}" and only.for_language("en") == only.text


@pytest.mark.parametrize(
    "content, error",
    [
        ('[[reply]]\nid = "a"\nlabel = "A"\n', "'text' must be a non-empty string"),
        ('[[reply]]\nid = "A B"\nlabel = "A"\ntext = "t"\n', "may hold only"),
        ('[[reply]]\nid = "a"\nlabel = "A"\ntext = "t {nome}"\n', "unknown placeholder {nome}"),
        (
            '[[reply]]\nid = "a"\nlabel = "A"\ntext = "t"\n[[reply]]\nid = "a"\nlabel = "B"\n'
            'text = "u"\n',
            "used twice",
        ),
        ('[[reply]]\nid = "a"\nlabel = "A"\ntext = "t"\ncolour = "x"\n', "unknown key 'colour'"),
        ("[[reply\n", "quick_replies.toml"),
    ],
)
def test_wrong_data_files_are_refused_naming_file_and_entry(
    database_url: str, tmp_path: Path, content: str, error: str
) -> None:
    path = tmp_path / "quick_replies.toml"
    path.write_text(content)
    settings = make_settings(database_url, SOS_SERVICE_FLOWS_DIR=str(tmp_path))
    with pytest.raises(catalog.CatalogError) as caught:
        catalog.load(settings)
    assert error in str(caught.value) and str(path) in str(caught.value)


def test_private_notes_go_with_the_retention_period(
    rt: Runtime, dash_factory: Callable[..., Dash]
) -> None:
    add_operator(rt, "anna")
    anna = dash_factory("anna")
    cid = waiting(rt)
    anna.post(f"/conversations/{cid}/claim")
    anna.post(f"/conversations/{cid}/note", {"body": "nota con dati personali"})
    anna.post(f"/conversations/{cid}/close", {"outcome": "ascolto", "topics": ["famiglia"]})
    with write_session(rt.db) as session:
        closed = session.get(Conversation, cid)
        assert closed is not None
        closed.closed_at = utcnow() - timedelta(days=rt.settings.privacy.retention_days + 1)
        session.add(closed)
    assert purge(rt) == 1
    with read_session(rt.db) as session:
        assert list(session.exec(select(Note))) == []
        kept = session.get(Conversation, cid)
        assert kept is not None and kept.topics == ["famiglia"]  # statistics stay
