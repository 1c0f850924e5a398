"""The graph explorer in a real browser (Debian's Chromium through chromedriver) against the app served by
uvicorn: pick an entry, read the people exposed, toggle a what-if and see the number change, refuse a bad
change, export a PNG (a blob the browser downloads). Screenshots are kept in the test's tmp dir; any
console error (a CSP violation included) fails the test. Skipped without Chromium unless
SEKIMORI_REQUIRE_SERVERS is set."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from sekimori.web import WebSettings, create_app
from tests.web.browser import chromium, require_browser, serving
from tests.web.conftest import PASSWORD, SCOPE, DemoWorld, make_users


@pytest.fixture
def served(demo_world: DemoWorld, tmp_path: Path) -> Iterator[str]:
    require_browser()
    settings = WebSettings(
        store=demo_world.store, database=f"sqlite:///{tmp_path / 'users.db'}", model=demo_world.settings.model
    )
    app = create_app(settings)
    with TestClient(app):
        make_users(TestClient(app), {SCOPE})
    with serving(app) as url:
        yield url


def test_pick_an_entry_toggle_a_what_if_and_export_png(served: str, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import Select, WebDriverWait

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    driver = chromium(downloads, height=1100)
    shots = tmp_path / "screenshots"
    shots.mkdir()
    errors: list[str] = []
    wait = WebDriverWait(driver, 30)

    def look(name: str, refused: str = "") -> None:
        driver.save_screenshot(str(shots / f"{name}.png"))
        for entry in driver.get_log("browser"):
            # the one refusal the test asks for is logged by the browser as a failed load: expected
            expected = refused and refused in entry["message"] and "status of 400" in entry["message"]
            if entry["level"] == "SEVERE" and not expected:
                errors.append(f"{name}: {entry['message']}")

    def people() -> str:
        return str(driver.find_element(By.ID, "people-total").text)

    try:
        driver.get(served + "/graph")
        driver.find_element(By.ID, "login").send_keys("analyst")
        driver.find_element(By.ID, "password").send_keys(PASSWORD + "!")
        driver.find_element(By.ID, "signin").click()
        wait.until(expected_conditions.url_to_be(served + "/graph"))
        look("01-explorer")
        # A scoped analyst is offered their own organisation only.
        options_offered = [
            o.get_attribute("value") for o in Select(driver.find_element(By.ID, "entry-org")).options
        ]
        assert options_offered == ["", f"org:{SCOPE}"]
        Select(driver.find_element(By.ID, "entry-org")).select_by_value(f"org:{SCOPE}")
        wait.until(lambda d: people() == "519,506")
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#toggles input[type=checkbox]"))
        assert driver.find_elements(By.CSS_SELECTOR, "#paths > li")
        assert driver.execute_script("return document.querySelector('#cy canvas') !== null")
        look("02-entry")

        toggle = driver.find_element(
            By.CSS_SELECTOR, "#toggles input[data-change='block flow f-affiliate-to-parent']"
        )
        toggle.click()
        wait.until(lambda d: people() == "0")
        assert "519,506" in driver.find_element(By.ID, "people-before").text
        look("03-what-if")
        toggle.click()
        wait.until(lambda d: people() == "519,506")

        driver.find_element(By.ID, "change-text").send_keys("remove grant no-such-grant")
        driver.find_element(By.ID, "add-change").click()
        wait.until(lambda d: "change not understood" in d.find_element(By.ID, "explorer-error").text)
        assert people() in ("519,506", "—")
        look("04-bad-change", refused="no-such-grant")
        driver.find_element(By.ID, "change-text").send_keys("block flow contractor-net -> affiliate-net")
        driver.find_element(By.ID, "add-change").click()
        wait.until(lambda d: people() == "0")
        look("05-typed-change")
        driver.find_element(By.CSS_SELECTOR, "#toggles input.typed").click()  # taken out again
        wait.until(lambda d: people() == "519,506")
        assert not driver.find_elements(By.CSS_SELECTOR, "#toggles input.typed")

        driver.find_element(By.ID, "export-png").click()
        wait.until(
            lambda d: (d.find_element(By.ID, "png-link").get_attribute("href") or "").startswith("blob:")
        )
        link = driver.find_element(By.ID, "png-link")
        assert link.get_attribute("type") == "image/png" and int(link.get_attribute("data-bytes") or 0) > 1000
        saved = downloads / "attack-paths.png"
        deadline = time.monotonic() + 15
        while not saved.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert saved.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        svg = driver.find_element(By.ID, "export-svg").get_attribute("href") or ""
        assert "/graph/export.svg?" in svg and "entry=org%3Acontractor-kr" in svg
        look("06-exported")
    finally:
        driver.quit()
    assert len(list(shots.glob("*.png"))) == 6
    assert not errors, errors
