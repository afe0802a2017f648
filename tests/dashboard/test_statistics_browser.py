"""The statistics page in a real browser (Debian's chromium): every chart is drawn, under the
dashboard's Content-Security-Policy, with its numbers beside it; the page prints."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bot.runtime import Runtime
from tests.dashboard import browser
from tests.dashboard.conftest import PASSWORD, add_operator
from tests.dashboard.test_statistics import fill

pytestmark = [pytest.mark.browser]
if browser.missing():
    pytestmark.append(pytest.mark.skip(reason=browser.missing() or ""))


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = browser.launch(playwright)
        yield launched
        launched.close()


def test_the_charts_render_and_each_has_its_table(rt: Runtime, chromium: Any) -> None:
    add_operator(rt, "carla", "coordinator", name="Carla")
    fill(rt, 600)
    with browser.serving(rt, worker=False) as (_, url):
        context = chromium.new_context(viewport=browser.DESKTOP)
        page = context.new_page()
        refused: list[str] = []
        page.on(
            "console",
            lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
        )
        browser.login(page, url, "carla", PASSWORD)
        page.click("nav >> text=Statistiche")
        page.wait_for_selector("h1:has-text('Statistiche')")
        images = page.eval_on_selector_all(
            "img.stats-chart",
            "els => els.map(e => [e.complete, e.naturalWidth, "
            "e.closest('.stats-pair').querySelector('table') !== null])",
        )
        assert len(images) >= 6
        assert all(done and width > 0 and has_table for done, width, has_table in images)
        assert refused == []
        page.emulate_media(media="print")
        assert page.eval_on_selector(".top", "e => getComputedStyle(e).display") == "none"
        bulletin = context.new_page()
        bulletin.goto(f"{url}/statistics/bulletin")
        widths = bulletin.eval_on_selector_all(
            "img.stats-chart", "els => els.map(e => e.naturalWidth)"
        )
        assert widths and all(w > 0 for w in widths)
        assert bulletin.pdf(format="A4")[:4] == b"%PDF"
        context.close()
