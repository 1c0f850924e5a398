"""The reports page on the demo cases: who may see which case's reports (every role, the case of the
scoped users' organisation and the other one), the list and the downloads against the report stage's own
documents for the case, the preview's sandbox, path traversal, escaping, and no person-level data."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import datetime

import pytest
from starlette.testclient import TestClient

from sekimori.report import IncidentFacts, build, facts_from_case, report_kinds
from sekimori.report.kinds.notices import category_notices, individual_notices
from sekimori.respond import CaseStore
from sekimori.web import ROLES
from sekimori.web.reports import PersonalData, without_people
from tests.web.conftest import DemoWorld, sign_in

SEES_ALL = {"admin", "auditor"}
FORMATS = ("preview", "html", "json")


def _stage_facts(world: DemoWorld, case_id: str) -> IncidentFacts:
    """The facts as the report stage completes them from the case (the demo cases have no scope)."""
    with CaseStore(world.settings.database_url) as cases:
        case = cases.get(case_id)
        assert case.scope is None
        return facts_from_case(case, None, None, actions=cases.actions(case_id))


def _expected_kinds(world: DemoWorld, case_id: str, lang: str) -> list[str]:
    facts = _stage_facts(world, case_id)
    return [k for k in report_kinds() if build(k, facts, lang).mandatory is not False]


def _listed(body: str, case_id: str) -> list[str]:
    pattern = rf'<tr class="report" data-kind="([^"]+)">\s*<td><a href="/cases/{re.escape(case_id)}">'
    return re.findall(pattern, body)


@pytest.mark.parametrize("role", ROLES)
def test_reports_by_role(world_client: TestClient, demo_world: DemoWorld, role: str) -> None:
    sign_in(world_client, role)
    sees_all = role in SEES_ALL
    listing = world_client.get("/reports")
    assert listing.status_code == 200
    expected = _expected_kinds(demo_world, demo_world.in_case, "en")
    assert expected  # something is listed: the matrix means something
    assert _listed(listing.text, demo_world.in_case) == expected
    assert bool(_listed(listing.text, demo_world.out_case)) == sees_all
    if not sees_all:
        assert demo_world.out_case not in listing.text and "parent &lt;b&gt;only" not in listing.text
    for case_id, visible in ((demo_world.in_case, True), (demo_world.out_case, sees_all)):
        for fmt in FORMATS:
            response = world_client.get(f"/reports/{case_id}/ppc_final/{fmt}")
            assert response.status_code == (200 if visible else 404), (role, case_id, fmt)
            if not visible:
                assert demo_world.out_case not in response.text and "parent" not in response.text
    pdf = world_client.get(f"/reports/{demo_world.out_case}/ppc_final/pdf")
    assert pdf.status_code == (200 if sees_all else 404)
    assert pdf.content.startswith(b"%PDF") == sees_all


def test_signed_out_is_sent_to_sign_in(world_client: TestClient, demo_world: DemoWorld) -> None:
    world_client.cookies.clear()
    for path in ("/reports", f"/reports/{demo_world.in_case}/ppc_final/json"):
        response = world_client.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/signin")


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_downloads_are_the_stage_documents(
    world_client: TestClient, demo_world: DemoWorld, lang: str
) -> None:
    sign_in(world_client, "viewer")
    facts = _stage_facts(demo_world, demo_world.in_case)
    for kind in report_kinds():
        response = world_client.get(f"/reports/{demo_world.in_case}/{kind}/json?lang={lang}")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        assert response.headers["content-disposition"] == (
            f'attachment; filename="{demo_world.in_case}.{kind}.{lang}.json"'
        )
        got = response.json()
        want = build(kind, facts, lang, datetime.fromisoformat(got["as_of"])).to_dict()
        assert got == {**want, "meta": {k: v for k, v in want["meta"].items() if k == "category"}}
        assert got["missing"]  # the demo case says little: the missing fields are listed
    listing = world_client.get(f"/reports?lang={lang}").text
    first = next(iter(report_kinds()))
    missing = build(first, facts, lang).missing
    assert all(m.replace("&", "&amp;") in listing for m in missing)


def test_pdf_download(world_client: TestClient, demo_world: DemoWorld) -> None:
    sign_in(world_client, "approver")
    response = world_client.get(f"/reports/{demo_world.in_case}/gdpr_art33/pdf?lang=en")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.content.startswith(b"%PDF-") and b"%%EOF" in response.content[-64:]


def test_preview_is_sandboxed(world_client: TestClient, demo_world: DemoWorld) -> None:
    sign_in(world_client, "admin")
    for case_id in (demo_world.in_case, demo_world.out_case):
        response = world_client.get(f"/reports/{case_id}/ppc_preliminary/preview?lang=en")
        assert response.status_code == 200
        # one policy, the report's own (the app's would refuse its style): a sandbox, nothing but the
        # report's own inline style, allowed by the hash worked out here from the body
        (policy,) = response.headers.get_list("content-security-policy")
        parts = {p.strip().split(" ")[0]: p.strip() for p in policy.split(";")}
        assert parts["sandbox"] == "sandbox" and parts["default-src"] == "default-src 'none'"
        assert parts["frame-ancestors"] == "frame-ancestors 'none'" and "script-src" not in parts
        styles = re.findall(r"<style>(.*?)</style>", response.text, re.S)
        assert styles  # the report is styled: the hash means something
        hashes = [base64.b64encode(hashlib.sha256(x.encode()).digest()).decode() for x in styles]
        assert parts["style-src"] == "style-src " + " ".join(f"'sha256-{h}'" for h in hashes)
        assert response.headers["content-disposition"] == "inline"
        assert "<script" not in response.text.lower()
        title = build("ppc_preliminary", _stage_facts(demo_world, case_id), "en").title
        assert f"<title>{title}</title>" in response.text
    # the out-of-scope case's hostile title: escaped in the list and the report itself
    listing = world_client.get("/reports").text
    assert "parent &lt;b&gt;only&lt;/b&gt;" in listing and "parent <b>only" not in listing
    html_file = world_client.get(f"/reports/{demo_world.out_case}/ppc_final/html?lang=en")
    assert "sandbox" in html_file.headers["content-security-policy"]
    assert "parent <b>only" not in html_file.text


TRAVERSALS = [
    "/reports/../../etc/passwd",
    "/reports/..%2F..%2Fetc%2Fpasswd/ppc_final/json",
    "/reports/%2e%2e/%2e%2e/etc/passwd",
    "/reports/%2e%2e%2f%2e%2e%2fetc%2fpasswd/ppc_final/html",
    "/reports/{case}/..%2F..%2F..%2F..%2Fetc%2Fpasswd/html",
    "/reports/{case}/ppc_final/..%2F..%2Fetc%2Fpasswd",
    "/reports/{case}/%2e%2e/json",
    "/reports/{case}/ppc_final/json%00.pdf",
    "/reports/{case}/ppc_final/%2fetc%2fpasswd",
    "/reports/{case}/..%5C..%5Cwindows%5Cwin.ini/pdf",
    "/reports/{case}/ppc_final/pdf/../../../../etc/passwd",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_path_traversal_gets_nothing(world_client: TestClient, demo_world: DemoWorld, path: str) -> None:
    sign_in(world_client, "admin")
    response = world_client.get(path.replace("{case}", demo_world.in_case))
    assert response.status_code in (400, 404), (path, response.status_code)
    assert "root:" not in response.text and "[fonts]" not in response.text
    assert "application/pdf" not in response.headers.get("content-type", "")


def test_unknown_kind_format_and_case_are_404(world_client: TestClient, demo_world: DemoWorld) -> None:
    sign_in(world_client, "admin")
    for path in (
        f"/reports/{demo_world.in_case}/progress_page/json",
        f"/reports/{demo_world.in_case}/ppc_final/xml",
        "/reports/CASE-1999-0001/ppc_final/json",
    ):
        assert world_client.get(path).status_code == 404


def test_no_person_level_data(world_client: TestClient, demo_world: DemoWorld) -> None:
    facts = _stage_facts(demo_world, demo_world.in_case)
    person = {"name": "Hanako Yamada", "email": "hanako@example.jp", "address": "Tokyo", "id": "P-1"}
    # a mail-merge notice names the person: refused, whatever else it carries
    merged = next(individual_notices(facts, [person], "en"))
    assert merged.meta["email"] == "hanako@example.jp"
    with pytest.raises(PersonalData):
        without_people(merged)
    # a notice per category: addressed to a category, not served either; its meta cut to the category
    facts.affected.confirmed = {"user": 3}
    facts.affected.items = {"user": ["email"]}
    for notice in category_notices(facts, "en"):
        with pytest.raises(PersonalData):
            without_people(notice)
    report = build("ppc_final", facts, "en")
    report.meta = {**person, "category": "user"}
    assert without_people(report).meta == {"category": "user"}
    # what the pages serve: no recipient, no meta beyond the category, for every kind and language
    sign_in(world_client, "admin")
    for kind in report_kinds():
        for lang in ("ja", "en"):
            got = json.loads(world_client.get(f"/reports/{demo_world.in_case}/{kind}/json?lang={lang}").text)
            assert got["recipient"] is None and set(got["meta"]) <= {"category"}
