"""A real browser (Chromium through chromedriver, as tests/web/test_browser.py) against the app served by
uvicorn: a grant owner signs in, opens the review inbox, certifies one grant and revokes another, and
reads the campaign's status. Each page's screenshot is kept in the test's tmp dir; any console error (a
CSP violation included) fails the test. The decisions are read back from the register afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from sekimori.govern import Register, review_status
from tests.web.browser import chromium, left, require_browser, serving
from tests.web.conftest import PASSWORD, DemoWorld
from tests.web.contractors_fixtures import REVIEW, REVIEWER, add_users, contractors_app, database_url

CERTIFIED, REVOKED = "g-affiliate-ops", "g-affiliate-portal"  # both REVIEWER's


@pytest.fixture
def served(demo_world: DemoWorld, tmp_path: Path) -> Iterator[str]:
    require_browser()  # before the server starts
    app = contractors_app(demo_world, tmp_path / "web.db")
    with TestClient(app) as client:
        add_users(client)
    with serving(app) as url:
        yield url


def test_a_reviewer_certifies_and_revokes_in_chromium(served: str, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import Select, WebDriverWait

    driver = chromium()
    shots = tmp_path / "screenshots"
    shots.mkdir()
    errors: list[str] = []

    def look(name: str) -> None:
        driver.save_screenshot(str(shots / f"{name}.png"))
        errors.extend(
            f"{name}: {entry['message']}" for entry in driver.get_log("browser") if entry["level"] == "SEVERE"
        )

    def decide(grant: str, decision: str, reason: str) -> str:
        form = driver.find_element(By.CSS_SELECTOR, f'form.decide[data-grant="{grant}"]')
        Select(form.find_element(By.CSS_SELECTOR, "select.decision")).select_by_value(decision)
        form.find_element(By.CSS_SELECTOR, "input.reason").send_keys(reason)
        form.find_element(By.CSS_SELECTOR, "button.record").click()
        # the page is replaced by the answer: wait for that, not for the last answer's #recorded
        WebDriverWait(driver, 15).until(left(form))
        recorded = WebDriverWait(driver, 15).until(
            expected_conditions.presence_of_element_located((By.ID, "recorded"))
        )
        return str(recorded.text)

    try:
        driver.get(served + "/contractors/inbox")
        assert "/signin" in driver.current_url
        look("01-signin")
        driver.find_element(By.ID, "login").send_keys(REVIEWER)
        driver.find_element(By.ID, "password").send_keys(PASSWORD + "!")
        driver.find_element(By.ID, "signin").click()
        WebDriverWait(driver, 15).until(expected_conditions.url_to_be(served + "/contractors/inbox"))
        waiting = {
            f.get_attribute("data-grant") for f in driver.find_elements(By.CSS_SELECTOR, "form.decide")
        }
        assert waiting == {CERTIFIED, REVOKED}
        look("02-inbox")
        assert CERTIFIED in decide(CERTIFIED, "certify", "still operates the messaging back office")
        look("03-certified")
        assert REVOKED in decide(REVOKED, "revoke", "the portal is run by the parent's staff now")
        assert not driver.find_elements(By.CSS_SELECTOR, "form.decide")
        decided = {
            r.get_attribute("data-grant"): r.find_element(By.CSS_SELECTOR, "td.decision").text
            for r in driver.find_elements(By.CSS_SELECTOR, "table.decided tbody tr")
        }
        assert decided == {CERTIFIED: "certify", REVOKED: "revoke"}
        look("04-revoked")
        driver.get(f"{served}/contractors/reviews/{REVIEW}")
        assert "(2/" in driver.find_element(By.ID, "completion").text
        look("05-review-status")
    finally:
        driver.quit()
    assert len(list(shots.glob("*.png"))) == 5
    assert not errors, errors
    with Register(database_url(tmp_path / "web.db")) as register:
        items = {i.grant: i for i in review_status(register, REVIEW).items}
    assert (items[CERTIFIED].decision, items[REVOKED].decision) == ("certify", "revoke")
    assert items[CERTIFIED].decided_by == items[REVOKED].decided_by == REVIEWER
