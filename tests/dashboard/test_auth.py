"""Access: first run, login (argon2, rate limit), sessions, logout, password, CSRF, roles."""

from __future__ import annotations

import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from flask import Flask
from sqlmodel import select

from bot.db import read_session, write_session
from bot.models import LoginThrottle, Operator
from bot.runtime import Runtime
from operators import accounts
from tests.conftest import make_settings
from tests.dashboard.browser import serving
from tests.dashboard.conftest import (
    CSRF,
    PASSWORD,
    Dash,
    add_operator,
    audit_actions,
    audit_events,
)


def test_first_visit_without_operators_goes_to_first_run(client: object, rt: Runtime) -> None:
    response = client.get("/")  # type: ignore[attr-defined]
    assert response.status_code == 302 and response.headers["Location"].endswith("/setup")
    assert client.get("/login").headers["Location"].endswith("/setup")  # type: ignore[attr-defined]


def test_first_run_creates_the_first_coordinator_and_logs_in(app: Flask, rt: Runtime) -> None:
    dash = Dash(app.test_client())
    dash.refresh_token()
    response = dash.post(
        "/setup",
        {
            "username": "Carla",
            "display_name": "Carla R.",
            "password": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code == 302
    with read_session(rt.db) as session:
        (carla,) = session.exec(select(Operator)).all()
    assert carla.username == "carla" and carla.role == "coordinator"
    assert carla.password_hash.startswith("$argon2id$") and PASSWORD not in carla.password_hash
    assert dash.get("/").status_code == 200
    assert "first_run" in audit_actions(rt)


def test_first_run_is_closed_once_an_operator_exists(app: Flask, rt: Runtime) -> None:
    add_operator(rt, "carla", "coordinator")
    dash = Dash(app.test_client())
    dash.refresh_token()
    assert dash.get("/setup").status_code == 404
    response = dash.post(
        "/setup", {"username": "intruso", "password": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code == 404
    with read_session(rt.db) as session:
        assert [o.username for o in session.exec(select(Operator))] == ["carla"]


def test_first_run_refuses_short_or_mismatched_passwords(app: Flask, rt: Runtime) -> None:
    dash = Dash(app.test_client())
    dash.refresh_token()
    short = dash.post("/setup", {"username": "carla", "password": "corta", "password2": "corta"})
    assert short.status_code == 400 and "almeno 10 caratteri" in short.text
    mismatch = dash.post(
        "/setup", {"username": "carla", "password": PASSWORD, "password2": PASSWORD + "x"}
    )
    assert mismatch.status_code == 400 and "non coincidono" in mismatch.text
    with read_session(rt.db) as session:
        assert accounts.count(session) == 0


def test_login_and_logout(dash_factory: Callable[..., Dash], rt: Runtime) -> None:
    add_operator(rt, "anna")
    dash = dash_factory("anna")
    assert dash.get("/").status_code == 200
    response = dash.post("/logout")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert dash.get("/").status_code == 302
    assert audit_actions(rt)[-2:] == ["login", "logout"]


def test_wrong_password_and_unknown_user_get_the_same_answer(
    dash_factory: Callable[..., Dash], rt: Runtime
) -> None:
    add_operator(rt, "anna")
    dash = dash_factory()
    wrong = dash.post("/login", {"username": "anna", "password": "sbagliata-davvero"})
    unknown = dash.post("/login", {"username": "nessuno", "password": "sbagliata-davvero"})
    assert wrong.status_code == unknown.status_code == 401
    assert "Nome utente o password non corretti" in wrong.text
    assert "Nome utente o password non corretti" in unknown.text
    assert dash.get("/").status_code == 302


def test_login_is_rate_limited_per_account(dash_factory: Callable[..., Dash], rt: Runtime) -> None:
    add_operator(rt, "anna")
    dash = dash_factory()
    for _ in range(rt.settings.dashboard.login_max_failures):
        assert (
            dash.post("/login", {"username": "anna", "password": "tentativo-a-caso"}).status_code
            == 401
        )
    blocked = dash.post("/login", {"username": "anna", "password": PASSWORD})
    assert blocked.status_code == 429 and "Troppi tentativi" in blocked.text
    assert dash.get("/").status_code == 302  # even the right password waits
    with read_session(rt.db) as session:
        keys = {f.key for f in session.exec(select(LoginThrottle))}
    assert keys and not any("anna" in k or "127.0.0.1" in k for k in keys)  # HMACs only


def test_a_successful_login_clears_the_account_failures(
    dash_factory: Callable[..., Dash], rt: Runtime
) -> None:
    add_operator(rt, "anna")
    dash = dash_factory()
    for _ in range(rt.settings.dashboard.login_max_failures - 1):
        dash.post("/login", {"username": "anna", "password": "tentativo-a-caso"})
    assert dash.login("anna").status_code == 302
    dash.post("/logout")
    dash.refresh_token()
    dash.post("/login", {"username": "anna", "password": "tentativo-a-caso"})
    assert dash.login("anna").status_code == 302  # the earlier failures no longer count


def test_a_disabled_operator_cannot_log_in_and_is_logged_out(
    dash_factory: Callable[..., Dash], rt: Runtime
) -> None:
    anna = add_operator(rt, "anna")
    add_operator(rt, "carla", "coordinator")
    session_of_anna = dash_factory("anna")
    with write_session(rt.db) as session:
        found = session.get(Operator, anna.id)
        assert found is not None
        accounts.set_active(session, found, False, by=None)
    assert session_of_anna.get("/").status_code == 302
    assert dash_factory().login("anna").status_code == 401


def test_next_only_leads_inside_the_dashboard(
    dash_factory: Callable[..., Dash], rt: Runtime
) -> None:
    add_operator(rt, "anna")
    for target, expected in (
        ("/simulator/", "/simulator/"),
        ("https://evil.example/", "/"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
    ):
        dash = dash_factory()
        response = dash.post("/login", {"username": "anna", "password": PASSWORD, "next": target})
        assert response.headers["Location"] == expected


def test_changing_the_password_ends_other_logins(
    dash_factory: Callable[..., Dash], rt: Runtime
) -> None:
    add_operator(rt, "anna")
    phone, desktop = dash_factory("anna"), dash_factory("anna")
    wrong = phone.post(
        "/password",
        {"current": "non-e-questa", "new": "nuova-password-1", "new2": "nuova-password-1"},
    )
    assert wrong.status_code == 400
    response = phone.post(
        "/password", {"current": PASSWORD, "new": "nuova-password-1", "new2": "nuova-password-1"}
    )
    assert response.status_code == 302
    assert phone.get("/").status_code == 200  # this login goes on
    assert desktop.get("/").status_code == 302  # the other one ended
    assert dash_factory().login("anna", "nuova-password-1").status_code == 302


def test_every_form_needs_the_csrf_token(dash_factory: Callable[..., Dash], rt: Runtime) -> None:
    add_operator(rt, "anna")
    dash = dash_factory("anna")
    for path in (
        "/logout",
        "/password",
        "/simulator/send",
        "/simulator/new",
        "/conversations/x/claim",
        "/conversations/x/reply",
    ):
        response = dash.post(path, {"text": "ciao", "body": "ciao"}, csrf=False)
        assert response.status_code == 400, path
        assert "La pagina è scaduta" in response.text
    assert dash.post("/logout", csrf=False, fetch=True).status_code == 400
    assert dash.get("/").status_code == 200  # still logged in: the logout was refused
    fresh = dash_factory()
    assert (
        fresh.post("/login", {"username": "anna", "password": PASSWORD}, csrf=False).status_code
        == 400
    )


def test_a_token_from_another_session_is_refused(
    dash_factory: Callable[..., Dash], rt: Runtime
) -> None:
    add_operator(rt, "anna")
    add_operator(rt, "bruno")
    anna, bruno = dash_factory("anna"), dash_factory("bruno")
    anna.token = bruno.token
    assert anna.post("/logout").status_code == 400


def test_posts_from_another_site_are_refused(
    dash_factory: Callable[..., Dash], rt: Runtime
) -> None:
    add_operator(rt, "anna")
    dash = dash_factory("anna")
    evil = dash.post("/simulator/new", headers={"Origin": "https://evil.example"})
    assert evil.status_code == 400
    same = dash.post("/simulator/new", headers={"Origin": "http://localhost"})
    assert same.status_code == 302


def test_listeners_cannot_reach_coordinator_pages(
    dash_factory: Callable[..., Dash], rt: Runtime
) -> None:
    add_operator(rt, "anna")
    dash = dash_factory("anna")
    for path in ("/operators", "/audit", "/conversations"):
        assert dash.get(path).status_code == 403, path
    assert (
        dash.post(
            "/operators", {"username": "nuovo", "password": PASSWORD, "role": "coordinator"}
        ).status_code
        == 403
    )
    with read_session(rt.db) as session:
        assert accounts.find(session, "nuovo") is None


def test_pages_ask_to_log_in_and_scripts_get_401(client: object, rt: Runtime) -> None:
    add_operator(rt, "anna")
    page = client.get("/conversations/abc")  # type: ignore[attr-defined]
    assert page.status_code == 302 and "/login?next=" in page.headers["Location"]
    fragment = client.get("/queue", headers={"X-Requested-With": "fetch"})  # type: ignore[attr-defined]
    assert fragment.status_code == 401
    stream = client.get("/events", headers={"Accept": "text/event-stream"})  # type: ignore[attr-defined]
    assert stream.status_code == 401


def test_session_cookie_is_httponly_samesite_and_secure_behind_https(
    database_url: str, rt: Runtime
) -> None:
    from bot.app import create_app

    public = "https://aiuto.example.org"
    settings = make_settings(database_url, SOS_SERVER_PUBLIC_URL=public)
    client = create_app(rt=Runtime.create(settings, engine=rt.db)).test_client()
    add_operator(rt, "anna")
    page = client.get("/login", base_url=public)
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    response = client.post(
        "/login",
        base_url=public,
        headers={"Origin": public},
        data={"username": "anna", "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "sos_session=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" in cookie
    assert "max-age=" in response.headers["Strict-Transport-Security"]


def test_behind_a_trusted_proxy_limits_count_the_real_client(
    database_url: str, rt: Runtime
) -> None:
    from bot.app import create_app
    from operators import ratelimit

    def failure_keys(proxies: int, forwarded: str) -> set[str]:
        settings = make_settings(database_url, SOS_DASHBOARD_TRUSTED_PROXIES=proxies)
        dash = Dash(create_app(rt=Runtime.create(settings, engine=rt.db)).test_client())
        dash.refresh_token()
        dash.post(
            "/login",
            {"username": "anna", "password": "sbagliata-davvero"},
            headers={"X-Forwarded-For": forwarded},
        )
        with write_session(rt.db) as session:
            keys = {f.key for f in session.exec(select(LoginThrottle))}
            for failure in session.exec(select(LoginThrottle)):
                session.delete(failure)
        return keys

    add_operator(rt, "anna")
    client_key = ratelimit.key(rt.secret, "address", "203.0.113.5")
    assert client_key in failure_keys(1, "203.0.113.5")
    assert client_key not in failure_keys(0, "203.0.113.5")  # not trusted: the proxy's address


def test_head_requests_only_look(client: object, rt: Runtime) -> None:
    assert client.head("/setup").status_code == 200  # type: ignore[attr-defined]
    add_operator(rt, "anna")
    assert client.head("/login").status_code == 200  # type: ignore[attr-defined]
    with read_session(rt.db) as session:
        assert list(session.exec(select(LoginThrottle))) == []
    assert "login_failed" not in audit_actions(rt)


def _post_form(url: str, cookie: str, form: dict[str, str]) -> int:
    request = urllib.request.Request(
        url, data=urllib.parse.urlencode(form).encode(), headers={"Cookie": cookie}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_parallel_logins_check_no_more_passwords_than_the_limit(rt: Runtime) -> None:
    add_operator(rt, "anna")
    limit = rt.settings.dashboard.login_max_failures
    with serving(rt, worker=False) as (_, url):
        with urllib.request.urlopen(f"{url}/login", timeout=30) as page:
            cookie = page.headers["Set-Cookie"].split(";", 1)[0]
            token = CSRF.search(page.read().decode()).group(1)  # type: ignore[union-attr]
        start = threading.Barrier(60)

        def guess(i: int) -> int:
            start.wait()
            return _post_form(
                f"{url}/login",
                cookie,
                {"username": "anna", "password": f"tentativo-{i:02d}", "csrf_token": token},
            )

        with ThreadPoolExecutor(max_workers=60) as pool:
            answers = list(pool.map(guess, range(60)))
        assert answers.count(401) == limit and answers.count(429) == 60 - limit
        assert len(audit_events(rt, "login_failed")) == limit  # passwords actually checked
        right = _post_form(
            f"{url}/login", cookie, {"username": "anna", "password": PASSWORD, "csrf_token": token}
        )
    assert right == 429 and "login" not in audit_actions(rt)


def test_logout_ends_the_login_for_a_copied_cookie_too(
    app: Flask, rt: Runtime, dash_factory: Callable[..., Dash]
) -> None:
    add_operator(rt, "anna")
    dash = dash_factory("anna")
    cookie = dash.client.get_cookie("sos_session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("sos_session", cookie.value)
    assert thief.get("/").status_code == 200
    dash.post("/logout")
    assert thief.get("/").status_code == 302  # over on the server, not only in one browser


def test_disabling_an_account_ends_its_logins_for_good(
    dash_factory: Callable[..., Dash], rt: Runtime
) -> None:
    anna = add_operator(rt, "anna")
    add_operator(rt, "carla", "coordinator")
    phone = dash_factory("anna")
    for active in (False, True):
        with write_session(rt.db) as session:
            found = session.get(Operator, anna.id)
            assert found is not None
            accounts.set_active(session, found, active, by=None)
    assert phone.get("/").status_code == 302  # enabled again: a new login is needed
    assert dash_factory("anna").get("/").status_code == 200


def test_a_password_set_by_a_coordinator_ends_the_account_logins(
    dash_factory: Callable[..., Dash], rt: Runtime
) -> None:
    anna = add_operator(rt, "anna")
    add_operator(rt, "carla", "coordinator")
    phone = dash_factory("anna")
    carla = dash_factory("carla")
    response = carla.post(f"/operators/{anna.id}/password", {"password": "nuova-password-1"})
    assert response.status_code == 302
    assert phone.get("/").status_code == 302
    assert dash_factory().login("anna", "nuova-password-1").status_code == 302
