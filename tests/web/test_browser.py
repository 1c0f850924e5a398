"""A real browser (Debian's Chromium, driven by Selenium through Debian's chromedriver) against the app
served by uvicorn on loopback: sign in, the alert queue, a filter, an alert, sign out. Each page's
screenshot is kept in the test's tmp dir; any console error (a CSP violation included) fails the test.
Skipped without /usr/bin/chromium unless SEKIMORI_REQUIRE_SERVERS is set (CI installs it)."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from sekimori.web import WebSettings, create_app
from tests.web.conftest import PASSWORD, DemoWorld, make_users

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


def _require_browser() -> None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if not missing:
        return
    reason = f"{', '.join(missing)} absent (apt-get install chromium chromium-driver)"
    if os.environ.get("SEKIMORI_REQUIRE_SERVERS"):
        pytest.fail(f"SEKIMORI_REQUIRE_SERVERS is set but {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(demo_world: DemoWorld, tmp_path: Path) -> Iterator[str]:
    from starlette.testclient import TestClient

    _require_browser()  # before the server starts
    settings = WebSettings(
        store=demo_world.store, database=f"sqlite:///{tmp_path / 'users.db'}", model=demo_world.settings.model
    )
    app = create_app(settings)
    with TestClient(app):
        make_users(TestClient(app), {"contractor-kr"})
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_without_chromium_skips_or_fails_when_servers_are_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(__import__(__name__, fromlist=["_"]), "CHROMIUM", Path("/nonexistent/chromium"))
    monkeypatch.delenv("SEKIMORI_REQUIRE_SERVERS", raising=False)
    with pytest.raises(pytest.skip.Exception, match="chromium"):
        _require_browser()
    monkeypatch.setenv("SEKIMORI_REQUIRE_SERVERS", "1")
    with pytest.raises(pytest.fail.Exception, match="SEKIMORI_REQUIRE_SERVERS"):
        _require_browser()


def test_sign_in_triage_and_sign_out_in_chromium(served: str, tmp_path: Path) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import Select, WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1400,1000",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
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
