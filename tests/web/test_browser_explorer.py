"""The graph explorer in a real browser (Debian's Chromium through chromedriver) against the app served by
uvicorn: pick an entry, read the people exposed, toggle a what-if and see the number change, refuse a bad
change, export a PNG (a blob the browser downloads), expand a zone by double-clicking it in the Cytoscape
view (a zone of the demo, and one of 251 hosts of which 200 are drawn and the rest counted, then
collapsed by a second double-click). The hosts drawn are read from the page's Cytoscape instance
(``window.sekimoriGraph``) and checked against an explorer and a graph of the test's own. Screenshots
are kept in the test's tmp dir; any console error (a CSP violation included) fails the test. Skipped
without Chromium unless SEKIMORI_REQUIRE_SERVERS is set."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from starlette.testclient import TestClient

from sekimori.graph import Protection, graph_from_store
from sekimori.model import load_model
from sekimori.store import Store
from sekimori.web import WebSettings, create_app
from sekimori.web.explorer_data import ZONE_HOSTS, entry_for, zone_hosts_json
from sekimori.web.explorer_graph import Explorer
from tests.web.browser import chromium, downloaded, require_browser, serving
from tests.web.conftest import PASSWORD, SCOPE, DemoWorld, make_users

if TYPE_CHECKING:
    from selenium.webdriver import Chrome

    from sekimori.web.state import WebState

BIG_ZONE, BIG_ZONE_HOSTS = "parent-internal", 251  # the demo's DC and 250 portal hosts added below


@dataclass
class Served:
    url: str
    web: WebState  # the served app's state: the oracle builds an explorer of its own over it
    model: Path


@contextmanager
def _serve(demo_world: DemoWorld, tmp_path: Path, model: Path) -> Iterator[Served]:
    require_browser()
    settings = WebSettings(store=demo_world.store, database=f"sqlite:///{tmp_path / 'users.db'}", model=model)
    app = create_app(settings)
    with TestClient(app) as client:
        make_users(client, {SCOPE})
    with serving(app) as url:
        yield Served(url, app.state.web, model)


@pytest.fixture
def served(demo_world: DemoWorld, tmp_path: Path) -> Iterator[Served]:
    assert demo_world.settings.model is not None
    with _serve(demo_world, tmp_path, demo_world.settings.model) as served:
        yield served


def _model_with_a_big_zone(tmp_path: Path, source: Path) -> Path:
    """The demo model with 250 more hosts in the parent's zone (as tests/web/test_explorer.py adds them)."""
    model = yaml.safe_load(source.read_text(encoding="utf-8"))
    model["hosts"].append({"org": "parent", "zone": BIG_ZONE, "name_pattern": "^emp-"})
    portal = next(s for s in model["systems"] if s["id"] == "employee-portal")
    portal["hosts"] = [f"emp-{i:03d}" for i in range(BIG_ZONE_HOSTS - 1)]
    path = tmp_path / "group.yaml"
    path.write_text(yaml.safe_dump(model, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def served_big_zone(demo_world: DemoWorld, tmp_path: Path) -> Iterator[Served]:
    assert demo_world.settings.model is not None
    with _serve(demo_world, tmp_path, _model_with_a_big_zone(tmp_path, demo_world.settings.model)) as served:
        yield served


@dataclass
class ZoneOracle:
    listed: list[str]  # the host keys an expansion lists, in order
    more: int  # and how many more it counts
    in_zone: set[str]  # every host of the zone, as the graph stage builds the graph


def _zone_oracle(served: Served, demo_world: DemoWorld, login: str, entry: str, zone: str) -> ZoneOracle:
    """What the explorer's data function answers ``login`` for ``zone`` on an Explorer of the test's own
    (not the page's, nor its JSON), and the zone's hosts in a graph the graph stage builds here."""
    account = served.web.accounts.authenticate(login, PASSWORD + "!")
    assert account is not None
    explorer = Explorer(served.web)
    graph = explorer.graph()
    reached = Protection(graph, entry_for(graph, account, entry)).reached_after([])
    answer = zone_hosts_json(explorer, account, zone, reached)
    staged = graph_from_store(Store(demo_world.store), load_model(served.model))
    hosts = staged.nodes_of_kind("host")
    in_zone = {staged.keys[int(n)].as_py() for n in hosts if staged.zones[int(n)].as_py() == zone}
    return ZoneOracle([h["data"]["id"] for h in answer["hosts"]], int(answer["more"]), in_zone)


# A point of the zone's own body that a click lands on: inside its box, as far as can be from every node
# drawn over it and from every edge (labels take no events in Cytoscape by default). In the page's
# coordinates relative to the centre of #cy, as Selenium's pointer offsets are.
ZONE_POINT = """
const cy = window.sekimoriGraph, zone = cy.getElementById(arguments[0]);
if (!cy || zone.empty()) { return null; }
const box = zone.renderedBoundingBox({ includeLabels: false, includeOverlays: false });
const zoom = cy.zoom(), pan = cy.pan();
const rendered = (p) => ({ x: p.x * zoom + pan.x, y: p.y * zoom + pan.y });
const nodes = cy.nodes().difference(zone.ancestors()).difference(zone)
  .map((n) => n.renderedBoundingBox({ includeLabels: false, includeOverlays: false }));
const edges = cy.edges().map((e) => {
  const a = rendered(e.sourceEndpoint()), b = rendered(e.targetEndpoint());
  const c = e.controlPoints() ? rendered(e.controlPoints()[0]) : { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
  const points = [];
  for (let i = 0; i <= 40; i++) {
    const t = i / 40, u = 1 - t;
    const along = (k) => u * u * a[k] + 2 * u * t * c[k] + t * t * b[k];
    points.push({ x: along("x"), y: along("y") });
  }
  return points;
});
const clearance = (x, y) => {
  let best = Infinity;
  nodes.forEach((r) => {
    const dx = Math.max(r.x1 - x, 0, x - r.x2), dy = Math.max(r.y1 - y, 0, y - r.y2);
    best = Math.min(best, Math.hypot(dx, dy));
  });
  edges.forEach((ps) => ps.forEach((p) => { best = Math.min(best, Math.hypot(p.x - x, p.y - y)); }));
  return best;
};
let found = null;
for (let i = 1; i < 16; i++) {
  for (let j = 1; j < 16; j++) {
    const x = box.x1 + (box.w * i) / 16, y = box.y1 + (box.h * j) / 16, room = clearance(x, y);
    if (!found || room > found.room) { found = { x: x, y: y, room: room }; }
  }
}
const frame = cy.container().getBoundingClientRect();
return { x: found.x - frame.width / 2, y: found.y - frame.height / 2, room: found.room };
"""

# The hosts drawn in a zone, and the label of its "+N" node if it has one.
ZONE_DRAWN = """
const cy = window.sekimoriGraph, zone = "zone:" + arguments[0];
const hosts = cy.nodes("[kind = 'host']").filter((n) => n.data("parent") === zone).map((n) => n.id());
const more = cy.getElementById("more:" + arguments[0]);
return { hosts: hosts, more: more.empty() ? null : more.data("label"),
         expanded: cy.getElementById(zone).data("expanded") === true,
         counted: cy.getElementById(zone).data("hosts") };
"""


def _expand(driver: Chrome, zone: str) -> dict[str, Any]:
    """Double-click ``zone`` in the Cytoscape view, as a user does; what the view then draws in it."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    canvas = driver.find_element(By.ID, "cy")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", canvas)
    before = driver.execute_script(ZONE_DRAWN, zone)
    assert before["hosts"] == [] and before["more"] is None and not before["expanded"]
    point = driver.execute_script(ZONE_POINT, f"zone:{zone}")
    assert point is not None and point["room"] >= 6, point  # a spot where the click lands on the zone
    ActionChains(driver).move_to_element_with_offset(
        canvas, round(point["x"]), round(point["y"])
    ).double_click().perform()
    WebDriverWait(driver, 30).until(lambda d: d.execute_script(ZONE_DRAWN, zone)["expanded"])
    return dict(driver.execute_script(ZONE_DRAWN, zone))


def _collapse(driver: Chrome, zone: str) -> dict[str, Any]:
    """Double-click the expanded ``zone`` again; what the view then draws in it."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    canvas = driver.find_element(By.ID, "cy")
    point = driver.execute_script(ZONE_POINT, f"zone:{zone}")
    assert point is not None and point["room"] >= 6, point
    ActionChains(driver).move_to_element_with_offset(
        canvas, round(point["x"]), round(point["y"])
    ).double_click().perform()
    WebDriverWait(driver, 30).until(lambda d: not d.execute_script(ZONE_DRAWN, zone)["expanded"])
    return dict(driver.execute_script(ZONE_DRAWN, zone))


def test_pick_an_entry_toggle_a_what_if_and_export_png(
    served: Served, demo_world: DemoWorld, tmp_path: Path
) -> None:
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
        driver.get(served.url + "/graph")
        driver.find_element(By.ID, "login").send_keys("analyst")
        driver.find_element(By.ID, "password").send_keys(PASSWORD + "!")
        driver.find_element(By.ID, "signin").click()
        wait.until(expected_conditions.url_to_be(served.url + "/graph"))
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
        saved = wait.until(downloaded(downloads, "attack-paths.png"))
        assert saved.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        svg = driver.find_element(By.ID, "export-svg").get_attribute("href") or ""
        assert "/graph/export.svg?" in svg and "entry=org%3Acontractor-kr" in svg
        look("06-exported")

        # the analyst's own zone, expanded on demand: its hosts drawn in it, none left to count
        drawn = _expand(driver, "contractor-net")
        look("07-zone-expanded")
    finally:
        driver.quit()
    assert len(list(shots.glob("*.png"))) == 7
    assert not errors, errors
    oracle = _zone_oracle(served, demo_world, "analyst", f"org:{SCOPE}", "contractor-net")
    assert oracle.listed and oracle.more == 0 and set(oracle.listed) == oracle.in_zone
    assert sorted(drawn["hosts"]) == sorted(oracle.listed)
    assert drawn["more"] is None and drawn["counted"] == len(oracle.in_zone)


def test_expand_a_zone_of_251_hosts_draws_200_and_counts_the_rest(
    served_big_zone: Served, demo_world: DemoWorld, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import Select, WebDriverWait

    driver = chromium(height=1100)
    shots = tmp_path / "screenshots"
    shots.mkdir()
    errors: list[str] = []
    wait = WebDriverWait(driver, 30)
    entry = "org:affiliate-kr"  # its paths reach the parent's zone

    def look(name: str) -> None:
        driver.save_screenshot(str(shots / f"{name}.png"))
        errors.extend(
            f"{name}: {entry['message']}" for entry in driver.get_log("browser") if entry["level"] == "SEVERE"
        )

    try:
        driver.get(served_big_zone.url + "/graph")
        driver.find_element(By.ID, "login").send_keys("admin")
        driver.find_element(By.ID, "password").send_keys(PASSWORD + "!")
        driver.find_element(By.ID, "signin").click()
        wait.until(expected_conditions.url_to_be(served_big_zone.url + "/graph"))
        Select(driver.find_element(By.ID, "entry-org")).select_by_value(entry)
        wait.until(lambda d: d.find_element(By.ID, "explorer").get_attribute("data-ready"))
        assert driver.execute_script(ZONE_DRAWN, BIG_ZONE)["counted"] == BIG_ZONE_HOSTS
        look("01-entry")
        drawn = _expand(driver, BIG_ZONE)
        look("02-zone-expanded")
        collapsed = _collapse(driver, BIG_ZONE)  # and hidden again: the hosts it added, the "+51"
        look("03-zone-collapsed")
    finally:
        driver.quit()
    assert len(list(shots.glob("*.png"))) == 3
    assert collapsed["hosts"] == [] and collapsed["more"] is None and collapsed["counted"] == BIG_ZONE_HOSTS
    assert not errors, errors
    oracle = _zone_oracle(served_big_zone, demo_world, "admin", entry, BIG_ZONE)
    assert len(oracle.in_zone) == BIG_ZONE_HOSTS and len(oracle.listed) == ZONE_HOSTS
    assert oracle.more == BIG_ZONE_HOSTS - ZONE_HOSTS and set(oracle.listed) <= oracle.in_zone
    assert sorted(drawn["hosts"]) == sorted(oracle.listed)
    assert drawn["more"] == f"+{oracle.more}" and drawn["counted"] == len(oracle.in_zone)
