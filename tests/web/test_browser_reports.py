"""A report downloaded in a real browser (Debian's Chromium through chromedriver) against the app served by
uvicorn on loopback: a scoped viewer opens the reports page, the preview of a report of their case, and
clicks the page's own PDF and JSON links; Chromium saves the files into the test's tmp dir. The files are
read independently: the PDF by pypdf (its text names the case), the JSON against the document the report
stage builds for the case itself. Screenshots are kept in the test's tmp dir; any console error (a CSP
violation included) fails the test. Skipped without Chromium unless SEKIMORI_REQUIRE_SERVERS is set."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.testclient import TestClient

from sekimori.report import build, facts_from_case
from sekimori.respond import CaseStore
from sekimori.web import WebSettings, create_app
from tests.web.browser import allow_downloads, chromium, downloaded, require_browser, serving
from tests.web.conftest import PASSWORD, SCOPE, SETUP, DemoWorld, make_users
from tests.web.triage_fixtures import boundary_alerts


@dataclass
class Served:
    url: str
    database: str
    in_case: str  # a case of SCOPE's alerts: the viewer's
    out_case: str  # a case of another organisation's alerts: not the viewer's


@pytest.fixture
def served(demo_world: DemoWorld, tmp_path: Path) -> Iterator[Served]:
    require_browser()  # before the server starts
    database = f"sqlite:///{tmp_path / 'reports.db'}"
    alerts = boundary_alerts(demo_world)
    with CaseStore(database) as cases:  # the cases as conftest opens them: no scope, reports due
        in_case = cases.open_case(
            "contractor chain", [a for a in alerts if SCOPE in a.organisations][:2], SETUP
        )
        out_case = cases.open_case(
            "parent only", [a for a in alerts if SCOPE not in a.organisations][:2], SETUP
        )
    settings = WebSettings(store=demo_world.store, database=database, model=demo_world.settings.model)
    app = create_app(settings)
    with TestClient(app) as client:
        make_users(client, {SCOPE})
    with serving(app) as url:
        yield Served(url, database, in_case.id, out_case.id)


def _stage_document(database: str, case_id: str, kind: str, lang: str, as_of: datetime) -> dict[str, object]:
    """The oracle: the report stage's document for the case, as of the file's own time, its ``meta`` cut
    to the category (as tests/web/test_reports_web.py reads the web face's promise)."""
    with CaseStore(database, recover=False) as cases:
        case = cases.get(case_id)
        assert case.scope is None  # no affected count to add: the facts are the case's alone
        facts = facts_from_case(case, None, None, actions=cases.actions(case_id))
    want = build(kind, facts, lang, as_of).to_dict()
    return {**want, "meta": {k: v for k, v in want["meta"].items() if k == "category"}}


def test_a_viewer_downloads_a_report_as_pdf_and_json_in_chromium(served: Served, tmp_path: Path) -> None:
    from pypdf import PdfReader
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    driver = chromium(downloads)
    allow_downloads(driver, downloads)
    shots = tmp_path / "screenshots"
    shots.mkdir()
    errors: list[str] = []
    wait = WebDriverWait(driver, 30)
    base, case_id = served.url, served.in_case

    def look(name: str) -> None:
        """The screenshot, and the console's errors (the preview's own style is allowed by its hash: a
        refusal of it is an error too)."""
        driver.save_screenshot(str(shots / f"{name}.png"))
        errors.extend(f"{name}: {e['message']}" for e in driver.get_log("browser") if e["level"] == "SEVERE")

    try:
        driver.get(base + "/reports")
        assert "/signin" in driver.current_url
        driver.find_element(By.ID, "login").send_keys("viewer")
        driver.find_element(By.ID, "password").send_keys(PASSWORD + "!")
        driver.find_element(By.ID, "signin").click()
        wait.until(expected_conditions.url_to_be(base + "/reports"))
        rows = driver.find_elements(By.CSS_SELECTOR, "table.reports tr.report")
        assert rows, "no report listed for the viewer's case"
        assert all(case_id in r.find_element(By.CSS_SELECTOR, "td a").text for r in rows)
        assert served.out_case not in driver.page_source  # the other organisation's case is not theirs
        look("01-reports")

        row = rows[0]
        kind = str(row.get_attribute("data-kind"))
        links = {a.text: a for a in row.find_elements(By.CSS_SELECTOR, "td:last-child a")}
        assert set(links) >= {"PDF", "JSON"}
        lang = parse_qs(urlsplit(str(links["JSON"].get_attribute("href"))).query)["lang"][0]

        # the preview: its own tab (target=_blank), the report's title, no script
        reports_tab = driver.current_window_handle
        row.find_element(By.CSS_SELECTOR, "td:last-child a[target=_blank]").click()
        wait.until(expected_conditions.number_of_windows_to_be(2))
        driver.switch_to.window(next(h for h in driver.window_handles if h != reports_tab))
        wait.until(expected_conditions.url_contains(f"/reports/{case_id}/{kind}/preview"))
        wait.until(lambda d: d.execute_script("return document.readyState") == "complete")
        want_title = _stage_document(served.database, case_id, kind, lang, datetime.now().astimezone())[
            "title"
        ]
        assert driver.title == want_title
        assert not driver.find_elements(By.TAG_NAME, "script")
        look("02-preview")
        driver.close()
        driver.switch_to.window(reports_tab)

        # the downloads: the page's own links, saved by Chromium under the name the server gives
        links["PDF"].click()
        pdf = wait.until(downloaded(downloads, f"{case_id}.{kind}.{lang}.pdf"))
        assert driver.current_url == base + "/reports"  # a download, not a page the browser opened
        look("03-pdf-downloaded")
        links["JSON"].click()
        saved = wait.until(downloaded(downloads, f"{case_id}.{kind}.{lang}.json"))
        assert driver.current_url == base + "/reports"
        look("04-json-downloaded")
    finally:
        driver.quit()
    assert len(list(shots.glob("*.png"))) == 4
    assert not errors, errors
    assert sorted(p.name for p in downloads.iterdir()) == sorted([pdf.name, saved.name])

    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and b"%%EOF" in data[-64:]
    reader = PdfReader(pdf)
    assert len(reader.pages) >= 1
    assert case_id in "\n".join(page.extract_text() for page in reader.pages)

    got = json.loads(saved.read_text(encoding="utf-8"))
    assert (got["case_id"], got["kind"], got["lang"]) == (case_id, kind, lang)
    assert got == _stage_document(served.database, case_id, kind, lang, datetime.fromisoformat(got["as_of"]))
