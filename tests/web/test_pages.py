"""The pages in a real browser (Debian's chromium): signing in and out from the keyboard,
the overview's rows equal to the API's, no console error (the Content-Security-Policy
would report any inline script or style as one), no serious or critical finding of
axe-core, and a form posted from another page is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page
from sklearn.linear_model import LogisticRegression

from modelyard import Client, Settings
from tests.api.conftest import ADMIN_TOKEN, bootstrap
from tests.support.browser import Watched
from tests.support.live import live_server


def serious_violations(page: Page) -> list[str]:
    """What axe-core (run in the page) finds of serious or critical impact."""
    found = Axe().run(page).response["violations"]
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])} elements)"
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[tuple[str, Client]]:
    settings = Settings(home=tmp_path / "home", actor="alice", poll_seconds=0.1)
    bootstrap(settings)
    x = pd.DataFrame({"amount": [10.0, 900.0, 50.0, 700.0]})
    with Client(settings=settings) as c:
        c.log_model(LogisticRegression().fit(x, [0, 1, 0, 1]), "payments", input_example=x)
        c.set_alias("payments", "champion", 1)
        c.create_deployment("pay", ["payments:1"])
        c.set_gates("production", approvals=1)
        c.promote("sandbox/payments:1", to="production")
        with live_server(settings) as url:
            yield url, c


def test_sign_in_read_the_overview_and_sign_out_from_the_keyboard(
    seeded: tuple[str, Client], watched: Watched
) -> None:
    url, c = seeded
    page = watched.page
    page.goto(url)
    assert page.get_by_role("button", name="sign in").is_visible()
    assert "payments" not in page.content()
    page.keyboard.press("Tab")  # the first field the keyboard reaches is the token
    for _ in range(10):
        if page.evaluate("document.activeElement.name") == "token":
            break
        page.keyboard.press("Tab")
    page.keyboard.type(ADMIN_TOKEN)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{url}/")
    page.get_by_text("signed in as admin").wait_for()

    tables = page.locator("table")
    deployments = tables.nth(0).locator("tbody tr")
    assert deployments.count() == len(c.list_deployments()) == 1
    cells = deployments.nth(0).locator("td").all_inner_texts()
    assert cells[:4] == ["pay", "sandbox", "payments:1=100%", "1"]
    models = tables.nth(1).locator("tbody tr td").all_inner_texts()
    assert models == ["sandbox/payments", "1", "champion→1"]
    (request,) = c.list_promotion_requests(state="pending")
    pending = tables.nth(2).locator("tbody tr td").all_inner_texts()
    assert pending == [str(request.id), request.source, "production", "0 of 1", "alice"]
    style = page.evaluate("getComputedStyle(document.body).fontFamily")
    assert "system-ui" in style  # the stylesheet loaded from the server, under the policy

    assert serious_violations(page) == []
    page.get_by_role("button", name="sign out").focus()
    page.keyboard.press("Enter")
    page.get_by_role("button", name="sign in").wait_for()
    assert serious_violations(page) == []  # the sign-in page
    assert watched.errors == []


def test_a_form_posted_from_another_page_is_refused(
    seeded: tuple[str, Client], watched: Watched
) -> None:
    url, _ = seeded
    page = watched.page
    page.goto(url)  # the browser now holds this site's form cookie
    forged = (
        f'<form id="f" method="post" action="{url}/login">'
        f'<input name="token" value="{ADMIN_TOKEN}"><input name="csrf" value="guess"></form>'
    )
    page.goto("about:blank")
    page.set_content(forged)
    with page.expect_navigation():
        page.locator("#f").evaluate("f => f.submit()")
    assert "This form has expired" in page.content()
    page.goto(url)
    assert page.get_by_role("button", name="sign in").is_visible()  # not signed in
