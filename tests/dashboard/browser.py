"""Driving Debian's chromium through Playwright against the real app on a loopback port."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from bot.app import create_app
from bot.runtime import Runtime
from bot.worker import Worker

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",  # the crisis chime plays without a click
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def missing() -> str | None:
    """Why browser tests cannot run here, or None."""
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is not installed (make test installs it with apt-get when it may)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    return None


def launch(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


@contextmanager
def serving(rt: Runtime, *, worker: bool = True) -> Iterator[tuple[BaseWSGIServer, str]]:
    """The app on 127.0.0.1:<free port> (threaded, as `sos-bot run`), plus a worker thread."""
    app = create_app(rt=rt)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    rt.settings.server.public_url = url  # what Twilio signs, and the dashboard's own origin
    thread = threading.Thread(target=server.serve_forever, name="dashboard-test-web", daemon=True)
    thread.start()
    running = Worker(rt) if worker else None
    if running is not None:
        running.start()
    try:
        yield server, url
    finally:
        if running is not None:
            running.stop()
        server.shutdown()
        server.server_close()


def login(page: Any, url: str, username: str, password: str) -> None:
    page.goto(f"{url}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"{url}/")
    page.wait_for_selector("body[data-live-ready='1']")
