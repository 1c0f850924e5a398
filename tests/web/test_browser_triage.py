"""Triage and the two-person rule in a real browser (Debian's Chromium through chromedriver) against the
app served by uvicorn on loopback: the analyst selects two alerts into a new case, works out its scope and
proposes a containment step (the webhook connector, its receiver on loopback); the analyst has no approve
button; a lead with both roles proposes another step and their own approval is refused with the case
store's message; the approver approves both. Screenshots are kept in the test's tmp dir; any console
error (a CSP violation included) fails the test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sekimori.respond import CaseStore
from sekimori.web import WebSettings, create_app
from tests.web.browser import chromium, left, require_browser, serving
from tests.web.conftest import PASSWORD, SCOPE, SETUP, DemoWorld, make_users
from tests.web.triage_fixtures import Receiver, loopback_receiver


@dataclass
class Served:
    url: str
    database: str
    receiver: Receiver


@pytest.fixture
def served(demo_world: DemoWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    from starlette.testclient import TestClient

    require_browser()  # before the server starts
    database = f"sqlite:///{tmp_path / 'triage.db'}"
    settings = WebSettings(store=demo_world.store, database=database, model=demo_world.settings.model)
    with loopback_receiver(monkeypatch) as receiver:
        app = create_app(settings)
        with TestClient(app) as client:
            make_users(client, {SCOPE})
            accounts = client.app.state.web.accounts  # type: ignore[attr-defined]
            accounts.create_user(SETUP, "lead", {"analyst", "approver"}, {SCOPE}, password=PASSWORD)
            lead = accounts.authenticate("lead", PASSWORD)
            accounts.set_password(lead.principal, lead, PASSWORD, PASSWORD + "!")
        with serving(app) as url:
            yield Served(url, database, receiver)


def test_triage_propose_and_two_person_rule_in_chromium(
    served: Served, demo_world: DemoWorld, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import Select, WebDriverWait

    driver = chromium()
    shots = tmp_path / "screenshots"
    shots.mkdir()
    errors: list[str] = []
    base = served.url

    def wait(condition: object) -> None:
        WebDriverWait(driver, 30).until(condition)  # type: ignore[arg-type]

    expected: list[str] = []  # the refusal's own 409, which Chromium logs as a failed load

    def look(name: str) -> None:
        driver.save_screenshot(str(shots / f"{name}.png"))
        for entry in driver.get_log("browser"):  # type: ignore[no-untyped-call]
            message = entry["message"]
            if entry["level"] == "SEVERE" and not any(message.startswith(e) for e in expected):
                errors.append(f"{name}: {message}")

    def sign_in(login: str) -> None:
        driver.delete_all_cookies()
        driver.get(base + "/signin")
        driver.find_element(By.ID, "login").send_keys(login)
        driver.find_element(By.ID, "password").send_keys(PASSWORD + "!")
        driver.find_element(By.ID, "signin").click()
        wait(expected_conditions.url_to_be(base + "/"))

    def click(element_id: str) -> None:
        old = driver.find_element(By.TAG_NAME, "html")
        driver.find_element(By.ID, element_id).click()
        wait(left(old))

    def propose_step(index: int) -> None:
        Select(driver.find_element(By.ID, f"connector-{index}")).select_by_value("webhook")
        click(f"propose-{index}")

    chosen = demo_world.in_alerts[:2]
    try:
        sign_in("analyst")
        driver.get(base + "/alerts?source=boundary")
        look("01-queue")
        boxes = driver.find_elements(By.CSS_SELECTOR, "input.select-alert")
        assert len(boxes) == len(demo_world.in_alerts)
        for alert_id in chosen:
            driver.find_element(By.NAME, f"alert:{alert_id}").click()
        driver.find_element(By.ID, "case-title").send_keys("browser triage")
        click("triage-submit")
        assert "/cases/CASE-" in driver.current_url
        case_url = driver.current_url
        case_id = case_url.rsplit("/", 1)[-1]
        listed = [
            a.get_attribute("href") for a in driver.find_elements(By.CSS_SELECTOR, "table.case-alerts a")
        ]
        assert sorted(h.rsplit("/", 1)[-1] for h in listed if h) == sorted(chosen)
        look("02-case")
        click("run-scope")
        buttons = driver.find_elements(By.CSS_SELECTOR, "button[id^='propose-']")
        assert len(buttons) >= 1, "no containment step the analyst may propose"
        indexes = [int(str(b.get_attribute("id")).split("-")[1]) for b in buttons]
        look("03-scoped")
        propose_step(indexes[0])
        rows = driver.find_elements(By.CSS_SELECTOR, "table.actions tbody tr[id^='action-']")
        assert len(rows) == 1 and "proposed" in rows[0].find_element(By.CLASS_NAME, "action-status").text
        assert "ask the receiver to" in rows[0].text  # the dry-run diff, as stored for approval
        assert not driver.find_elements(By.CSS_SELECTOR, "button[id^='approve-']")  # no permission
        look("04-proposed")

        sign_in("lead")
        driver.get(case_url)
        propose_step(indexes[-1] if len(indexes) > 1 else indexes[0])
        with CaseStore(served.database, recover=False) as cases:
            first, second = (a.id for a in cases.actions(case_id))
        expected.append(
            f"{base}/cases/{case_id}/actions/{second}/approve - Failed to load resource: "
            "the server responded with a status of 409"
        )
        click(f"approve-{second}")
        message = driver.find_element(By.ID, "message").text
        assert "approval by the same person who asked" in message
        look("05-own-approval-refused")

        sign_in("approver")
        driver.get(case_url)
        click(f"approve-{first}")
        click(f"approve-{second}")
        look("06-approved")
        with CaseStore(served.database, recover=False) as cases:
            done = {a.id: (a.status, a.requested_by, a.approved_by) for a in cases.actions(case_id)}
            assert cases.verify().ok
        assert done == {
            first: ("approved", "analyst", "approver"),
            second: ("approved", "lead", "approver"),
        }
        click(f"execute-{first}")
        status = driver.find_element(By.CSS_SELECTOR, f"#action-{first} .action-status").text
        assert status.startswith("verified")
        assert [p["op"] for p in served.receiver.posts] == ["execute"]
        look("07-executed")
    finally:
        driver.quit()
    assert len(list(shots.glob("*.png"))) == 7
    assert not errors, errors
