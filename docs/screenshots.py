"""Screenshots of the dashboard for docs/screenshots/ (phone 390 px and desktop 1280 px).

    .venv/bin/python docs/screenshots.py

Starts the real app on a loopback port with a throw-away SQLite database, fills it with a
plausible shift (made-up people and numbers), and photographs the queue, a conversation, the
services directory and a referral with Debian's chromium through Playwright. Then a second
throw-away database gets a year of `sos-bot demo-data` for the statistics page and the bulletin.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlmodel import select  # noqa: E402

from bot import config, conversations, db, demo, directory  # noqa: E402
from bot.channel import Inbound  # noqa: E402
from bot.conversations import Priority, escalate  # noqa: E402
from bot.db import write_session  # noqa: E402
from bot.inbox import receive  # noqa: E402
from bot.models import Conversation, Message, utcnow  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from flows.pack import DEFAULT_DIR  # noqa: E402
from operators import accounts, catalog, replies  # noqa: E402
from tests.dashboard import browser  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
PASSWORD = "una-password-lunga"


def _write(
    rt: Runtime,
    address: str,
    text: str,
    minutes_ago: float,
    *,
    channel: str = "whatsapp",
    meta: dict[str, str] | None = None,
) -> str:
    inbound = Inbound(
        channel=channel,
        address=address,
        text=text,
        meta=meta or {},
        external_id=f"doc-{address}-{minutes_ago}",
    )
    receipt = receive(rt, inbound, now=utcnow() - timedelta(minutes=minutes_ago))
    assert receipt.conversation_id
    return receipt.conversation_id


def _queue(
    rt: Runtime,
    cid: str,
    priority: str,
    minutes_ago: float,
    *,
    reason: str = "asked_for_person",
    out_of_hours: bool = False,
) -> None:
    with write_session(rt.db) as session:
        conversation = session.get(Conversation, cid)
        assert conversation is not None
        if conversation.status == "bot":
            escalate(
                rt,
                session,
                conversation,
                Priority(priority),
                reason,
                utcnow() - timedelta(minutes=minutes_ago),
            )
        conversation.escalated_at = utcnow() - timedelta(minutes=minutes_ago)
        conversation.out_of_hours = out_of_hours
        session.add(conversation)


def _deliver_all(rt: Runtime, status: str) -> None:
    with write_session(rt.db) as session:
        for message in session.exec(select(Message).where(Message.direction == "out")):
            message.status = status
            session.add(message)


def seed(rt: Runtime) -> str:
    """A shift: four people waiting, one conversation with Anna. Returns its id."""
    with write_session(rt.db) as session:
        anna = accounts.create(session, "anna", PASSWORD, "listener", display_name="Anna")
        accounts.create(session, "carla", PASSWORD, "coordinator", display_name="Carla")
    held = _write(rt, "whatsapp:+393330000001", "ciao, posso parlare con qualcuno?", 26)
    _queue(rt, held, "normal", 25)
    _deliver_all(rt, "read")
    with write_session(rt.db) as session:
        conversations.claim(session, held, anna, 3, utcnow() - timedelta(minutes=20))
        conversation = session.get(Conversation, held)
        assert conversation is not None
        replies.reply(
            session,
            conversation,
            anna,
            "Ciao, sono Anna, una volontaria. Ho letto il tuo messaggio: sono qui per "
            "ascoltarti. Vuoi raccontarmi cosa succede?",
            utcnow() - timedelta(minutes=19),
        )
    _deliver_all(rt, "read")
    _write(
        rt,
        "whatsapp:+393330000001",
        "a scuola da settimane mi prendono in giro in chat di classe e non so a chi dirlo. "
        "ai miei non voglio dirlo perché si preoccupano",
        15,
    )
    with write_session(rt.db) as session:
        conversation = session.get(Conversation, held)
        assert conversation is not None
        replies.reply(
            session,
            conversation,
            anna,
            "Grazie per avermelo scritto, non è facile. Quello che descrivi non è colpa "
            "tua. Ti va di dirmi da quanto tempo succede e come ti senti adesso?",
            utcnow() - timedelta(minutes=12),
        )
        replies.add_note(
            session,
            conversation,
            anna,
            "Cyberbullismo in chat di classe. Proporre lo sportello d'ascolto "
            "della scuola se se la sente.",
            utcnow() - timedelta(minutes=11),
        )
    _deliver_all(rt, "delivered")
    _write(rt, "whatsapp:+393330000001", "da inizio anno. adesso un po' meglio che ne parlo", 2)

    crisis = _write(
        rt, "whatsapp:+393330000002", "stasera non ce la faccio più, penso di farla finita", 3
    )
    _queue(rt, crisis, "crisis", 3, reason="crisis:suicide")
    email = _write(
        rt,
        "ragazza@example.org",
        "Buongiorno, vi scrivo perché da quando i miei si sono separati non riesco più "
        "a concentrarmi e ho paura di perdere l'anno.",
        18,
        channel="email",
        meta={"subject": "Non riesco più a studiare"},
    )
    _queue(rt, email, "high", 18, reason="personal:school")
    closing = _write(rt, "whatsapp:+393330000003", "voglio parlare con un operatore", 23 * 60 + 10)
    _queue(rt, closing, "normal", 23 * 60 + 5, out_of_hours=True)
    normal = _write(rt, "whatsapp:+393330000004", "ciao, avrei bisogno di un consiglio", 7)
    _queue(rt, normal, "normal", 6)
    return held


def statistics(playwright: object, folder: Path) -> None:
    """The statistics page and the bulletin, on a year of demo data (the default hours)."""
    url = f"sqlite:///{folder / 'statistics.sqlite'}"
    db.upgrade(url)
    settings = config.load(
        None,
        env={
            "SOS_DATABASE_URL": url,
            "SOS_SERVER_SECRET_KEY": "screenshots-secret-key-" + "x" * 32,
        },
    )
    rt = Runtime.create(settings)
    with write_session(rt.db) as session:
        accounts.create(session, "carla", PASSWORD, "coordinator", display_name="Carla")
        demo.fill(
            session,
            conversations=20000,
            now=utcnow(),
            hours=rt.hours,
            retention_days=settings.privacy.retention_days,
            services=[(s.id, s.name) for s in rt.pack.services.values()],
        )
    with browser.serving(rt, worker=False) as (_server, base):
        chromium = browser.launch(playwright)
        context = chromium.new_context(viewport=browser.DESKTOP, locale="it-IT")
        page = context.new_page()
        browser.login(page, base, "carla", PASSWORD)
        page.goto(f"{base}/statistics")
        page.screenshot(path=str(OUT / "statistics-desktop.png"))
        for key in ("weekday_hour", "topics", "crisis_wait"):
            page.locator(f"#t-{key}").screenshot(path=str(OUT / f"statistics-{key}.png"))
        page.goto(f"{base}/statistics/bulletin")
        page.emulate_media(media="print")
        page.screenshot(path=str(OUT / "bulletin-print.png"))
        context.close()
        chromium.close()
    rt.db.dispose()


def main() -> int:
    why = browser.missing()
    if why:
        print(f"cannot take screenshots: {why}", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    folder = Path(tempfile.mkdtemp(prefix="sos-screens-"))
    url = f"sqlite:///{folder / 'demo.sqlite'}"
    db.upgrade(url)
    settings = config.load(
        None,
        env={
            "SOS_DATABASE_URL": url,
            "SOS_SERVICE_HOURS": "mon-sun 00:00-24:00",
            "SOS_SERVER_SECRET_KEY": "screenshots-secret-key-" + "x" * 32,
        },
    )
    rt = Runtime.create(settings)
    directory.first_import(
        rt.db,
        DEFAULT_DIR / "services.toml",
        topics=[t.id for t in catalog.load(settings).topics],
        zones=settings.directory.zones,
    )
    held = seed(rt)
    OUT.mkdir(parents=True, exist_ok=True)
    with browser.serving(rt, worker=False) as (_server, base), sync_playwright() as playwright:
        chromium = browser.launch(playwright)
        for name, viewport in (("phone", browser.PHONE), ("desktop", browser.DESKTOP)):
            context = chromium.new_context(
                viewport=viewport, locale="it-IT", device_scale_factor=2 if name == "phone" else 1
            )
            page = context.new_page()
            browser.login(page, base, "anna", PASSWORD)
            page.screenshot(path=str(OUT / f"queue-{name}.png"), full_page=True)
            page.goto(f"{base}/conversations/{held}")
            page.wait_for_selector("body[data-live-ready='1']")
            page.screenshot(path=str(OUT / f"conversation-{name}.png"), full_page=True)
            context.close()
        context = chromium.new_context(viewport=browser.DESKTOP, locale="it-IT")
        page = context.new_page()
        browser.login(page, base, "carla", PASSWORD)
        page.goto(f"{base}/services/")
        page.screenshot(path=str(OUT / "services-desktop.png"), full_page=True)
        context.close()
        context = chromium.new_context(viewport=browser.DESKTOP, locale="it-IT")
        page = context.new_page()
        browser.login(page, base, "anna", PASSWORD)
        page.goto(f"{base}/conversations/{held}")
        page.click("#refer summary")
        page.select_option("#refer-filter-topic", "famiglia")
        page.click("[data-refer=centro-famiglie]")
        page.screenshot(path=str(OUT / "referral-desktop.png"), full_page=True)
        context.close()
        chromium.close()
        rt.db.dispose()
        statistics(playwright, folder)
    for path in sorted(OUT.glob("*.png")):
        print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
