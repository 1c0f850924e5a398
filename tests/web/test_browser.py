"""A real browser (Debian's Chromium, driven by Selenium through Debian's chromedriver) against the app
served by uvicorn on loopback: sign in, the alert queue, a filter, an alert, sign out. Each page's
screenshot is kept in the test's tmp dir; any console error (a CSP violation included) fails the test.
Skipped without /usr/bin/chromium unless SEKIMORI_REQUIRE_SERVERS is set (CI installs it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sekimori.web import WebSettings, create_app
from tests.web import browser
from tests.web.browser import chromium, require_browser, serving
from tests.web.conftest import PASSWORD, DemoWorld, make_users


@pytest.fixture
def served(demo_world: DemoWorld, tmp_path: Path) -> Iterator[str]:
    from starlette.testclient import TestClient

    require_browser()  # before the server starts
    settings = WebSettings(
        store=demo_world.store, database=f"sqlite:///{tmp_path / 'users.db'}", model=demo_world.settings.model
    )
    app = create_app(settings)
    with TestClient(app):
        make_users(TestClient(app), {"contractor-kr"})
    with serving(app) as url:
        yield url


def test_without_chromium_skips_or_fails_when_servers_are_required(monkeypatch: pytest.MonkeyPatch) -> None:
    missing = Path("/nonexistent/chromium")
    monkeypatch.delenv("SEKIMORI_REQUIRE_SERVERS", raising=False)
    with pytest.raises(pytest.skip.Exception, match="chromium"):
        require_browser(missing, browser.CHROMEDRIVER)
    monkeypatch.setenv("SEKIMORI_REQUIRE_SERVERS", "1")
    with pytest.raises(pytest.fail.Exception, match="SEKIMORI_REQUIRE_SERVERS"):
        require_browser(missing, browser.CHROMEDRIVER)


def test_sign_in_triage_and_sign_out_in_chromium(served: str, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import Select, WebDriverWait

    driver = chromium()
    shots = tmp_path / "screenshots"
    shots.mkdir()
    errors: list[str] = []

    def arrive(fragment: str) -> None:
        WebDriverWait(driver, 15).until(expected_conditions.url_contains(fragment))

    def look(name: str) -> None:
        driver.save_screenshot(str(shots / f"{name}.png"))
        errors.extend(
            f"{name}: {entry['message']}" for entry in driver.get_log("browser") if entry["level"] == "SEVERE"
        )

    try:
        driver.get(served + "/alerts")
        assert "/signin" in driver.current_url
        look("01-signin")
        driver.find_element(By.ID, "login").send_keys("analyst")
        driver.find_element(By.ID, "password").send_keys(PASSWORD + "!")
        driver.find_element(By.ID, "signin").click()
        WebDriverWait(driver, 15).until(expected_conditions.url_to_be(served + "/alerts"))
        look("02-alerts")
        Select(driver.find_element(By.ID, "f-source")).select_by_value("boundary")
        driver.find_element(By.ID, "apply").click()
        arrive("source=boundary")
        rows = driver.find_elements(By.CSS_SELECTOR, "table.alerts tbody tr")
        assert rows and all(r.find_elements(By.TAG_NAME, "td")[1].text == "boundary" for r in rows)
        look("03-filtered")
        rows[0].find_element(By.CSS_SELECTOR, "a").click()
        arrive("/alerts/")
        assert driver.find_elements(By.CSS_SELECTOR, "table.events tbody tr")
        look("04-alert")
        driver.find_element(By.ID, "signout").click()
        arrive("/signin")
        look("05-signed-out")
        driver.get(served + "/alerts")
        arrive("/signin")
    finally:
        driver.quit()
    assert len(list(shots.glob("*.png"))) == 5
    assert not errors, errors
