"""Processes killed (kill -9): the worker while sending, `sos-bot run` after answering Twilio but
before reading the messages. After a restart every message is read once and every reply leaves
exactly once."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from bot import arrivals
from tests.conftest import ALWAYS_OPEN
from tests.whatsapp.conftest import Live, message_form, messages, sign, twilio_env, wait_until
from tests.whatsapp.fake_twilio import http_post

LEASE = "8"  # seconds a dead worker's row stays held (3 × the Twilio timeout at least)


class Workers:
    """`sos-bot worker` processes, as an operator runs them."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"worker-{len(self.running)}.log", "wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "worker"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.running.append(process)
        return process

    def check(self) -> bool:
        """Fail with the worker's own words if one stopped by itself (else False)."""
        for i, process in enumerate(self.running):
            if process.poll() not in (None, -signal.SIGKILL):
                log = (self.logs / f"worker-{i}.log").read_text(errors="replace")
                raise AssertionError(f"worker {i} exited with {process.returncode}:\n{log}")
        return False

    def stop_all(self) -> None:
        for process in self.running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(30)


@pytest.fixture
def workers(live: Live, tmp_path: Path) -> Iterator[Workers]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOS_")}
    env.update(
        {
            k: str(v)
            for k, v in twilio_env(
                live.twilio.base_url,
                public_url=live.url,
                SOS_WORKER_LEASE_SECONDS=LEASE,
                SOS_TWILIO_TIMEOUT_SECONDS="2",
            ).items()
        }
    )
    env.update(
        SOS_DATABASE_URL=live.rt.settings.database.url,
        SOS_SERVICE_HOURS=ALWAYS_OPEN,
        SOS_SERVER_SECRET_KEY=live.rt.settings.server.secret_key,
        SOS_WORKER_POLL_SECONDS="0.1",
        SOS_EMAIL_SMTP_TIMEOUT_SECONDS="2",
    )
    pool = Workers(env, tmp_path)
    yield pool
    pool.stop_all()


def _write(live: Live, text: str) -> None:
    url = live.url + "/twilio/whatsapp"
    form = message_form(text)
    assert http_post(url, form, {"X-Twilio-Signature": sign(url, form)}) == 200


def _all_sent(live: Live) -> bool:
    out = messages(live.rt, "out")
    return bool(out) and all(m.status == "sent" for m in out)


@pytest.mark.parametrize(
    "twilio_took_it",
    [False, True],
    ids=["killed-before-twilio-took-it", "killed-after-twilio-took-it"],
)
def test_a_killed_worker_s_messages_leave_once_after_restart(
    live: Live, workers: Workers, twilio_took_it: bool
) -> None:
    live.twilio.hang(accept=twilio_took_it)
    first = workers.start()
    _write(live, "ciao")
    wait_until(
        lambda: workers.check() or live.twilio.hanging.is_set(),
        60,
        "the worker's request to Twilio",
    )
    first.send_signal(signal.SIGKILL)  # between receive and the end of the send
    first.wait(30)
    live.twilio.release()
    held = [m for m in messages(live.rt, "out") if m.status == "sending"]
    assert len(held) == 1 and held[0].external_id is None

    workers.start()
    wait_until(lambda: workers.check() or _all_sent(live), 90, "every reply sent after the restart")

    out = messages(live.rt, "out")
    created = Counter(m["body"] for m in live.twilio.messages)
    assert created == Counter(m.body for m in out)  # each reply reached Twilio exactly once
    assert {m.external_id for m in out} == {m["sid"] for m in live.twilio.messages}
    posts = len(live.twilio.creates())
    assert posts == len(out) + (0 if twilio_took_it else 1)  # no second POST when it was taken


def _serve(command: list[str], env: dict[str, str], logs: Path) -> tuple[Any, str]:
    """`sos-bot COMMAND` on a free port, in a process group of its own; (process, URL)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    env = dict(env, SOS_SERVER_HOST="127.0.0.1", SOS_SERVER_PORT=str(port))
    env["SOS_SERVER_PUBLIC_URL"] = url
    with open(logs / "serve.log", "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", *command],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    wait_until(lambda: _healthy(url, process, logs), 90, f"sos-bot {command[0]} up")
    return process, url


def _kill(process: Any) -> None:
    """kill -9 the process and its children (gunicorn's workers)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(30)


def test_the_web_killed_after_answering_twilio_loses_nothing(
    live: Live, workers: Workers, tmp_path: Path
) -> None:
    """Answer first, the production split: Twilio heard 200, the web process died before any
    worker ran; the worker started later reads each message once and replies once."""
    web, url = _serve(["web", "--workers", "1"], workers.env, tmp_path)
    texts = [f"messaggio {n}" for n in range(5)]
    try:
        for n, text in enumerate(texts):
            _write_to(url, text, f"+39333000002{n}")
        assert arrivals.count(live.rt) == 5  # kept, not read yet: no worker is running
    finally:
        _kill(web)
    _restart_and_check(live, workers, texts)


def test_sos_bot_run_killed_in_a_burst_loses_nothing_and_repeats_nothing(
    live: Live, workers: Workers, tmp_path: Path
) -> None:
    """`sos-bot run` killed with kill -9 right after answering a burst (some messages read, some
    not, a reply or two in flight): after a restart each message is stored once and each reply
    reaches Twilio once."""
    run, url = _serve(["run"], workers.env, tmp_path)
    texts = [f"messaggio {n}" for n in range(24)]
    try:
        with ThreadPoolExecutor(6) as pool:
            list(pool.map(lambda n: _write_to(url, texts[n], f"+3933300003{n:02d}"), range(24)))
    finally:
        _kill(run)
    _restart_and_check(live, workers, texts)


def _restart_and_check(live: Live, workers: Workers, texts: list[str]) -> None:
    """A worker started after the kill reads each message once and each reply reaches Twilio
    once."""
    workers.start()
    wait_until(
        lambda: workers.check() or (arrivals.count(live.rt) == 0 and _all_sent(live)),
        120,
        "every message read and answered after the restart",
    )
    assert sorted(m.body for m in messages(live.rt, "in")) == sorted(texts)
    out = messages(live.rt, "out")
    assert Counter(m["body"] for m in live.twilio.messages) == Counter(m.body for m in out)
    assert {m.external_id for m in out} == {m["sid"] for m in live.twilio.messages}


def _write_to(url: str, text: str, sender: str) -> None:
    form = message_form(text, sender=f"whatsapp:{sender}")
    target = url + "/twilio/whatsapp"
    assert http_post(target, form, {"X-Twilio-Signature": sign(target, form)}) == 200


def _healthy(url: str, process: subprocess.Popen[bytes], logs: Path) -> bool:
    if process.poll() is not None:
        raise AssertionError((logs / "serve.log").read_text(errors="replace"))
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=5) as response:
            return bool(response.status == 200)
    except OSError:
        return False
