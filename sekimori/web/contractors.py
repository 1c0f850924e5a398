"""Contractors (委託先): the govern stage's register of entrusted parties, their contracts and access grants,
the findings about them with the people exposed and protected, and the posture, as a reader may see them.

A reader assigned to organisations (not :attr:`Account.sees_all`) sees the parties whose id is one of
their organisations, the contracts and grants of those parties, and the findings about them. Where an
in-scope record names a party out of their scope (the party that re-entrusted the work, a contract's
entrusting party, a finding's text), that id is withheld: replaced by a placeholder, never sent.

Everything shown is what :mod:`sekimori.govern` returns (findings, group_posture, grant_usage,
supervision_records), judged with the register merged into the group model as the command line does.
The access reviews' pages are in :mod:`sekimori.web.contractors_review`.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from sekimori.govern import group_posture, supervision_records
from sekimori.web.contractors_data import (
    MAX_TEXT,
    as_of_day,
    contract_row,
    finding_row,
    grant_expired,
    grant_row,
    in_force,
    reading,
    supervision_row,
)
from sekimori.web.guard import Ctx, guarded
from sekimori.web.i18n import add_messages

add_messages(
    {
        "ctr_contractors": ("Contractors", "委託先"),
        "ctr_parties": ("Entrusted parties", "委託先一覧"),
        "ctr_party": ("Party", "委託先"),
        "ctr_kind": ("Kind", "種別"),
        "ctr_country": ("Country", "国"),
        "ctr_risk": ("Risk tier", "リスク区分"),
        "ctr_contracts": ("Contracts", "委託契約"),
        "ctr_contracts_in_force": ("Contracts in force", "有効な契約"),
        "ctr_contracts_entrusted": ("Contracts entrusting it", "この委託先への契約"),
        "ctr_contracts_it_entrusts": ("Contracts it entrusts", "この委託先からの再委託契約"),
        "ctr_grants": ("Access grants", "アクセス権限"),
        "ctr_grants_in_force": ("Grants in force", "有効な権限"),
        "ctr_findings": ("Findings", "指摘事項"),
        "ctr_posture": ("Posture", "態勢"),
        "ctr_reentrusted_by": ("Re-entrusted by", "再委託元"),
        "ctr_reentrustment_approved": ("Re-entrustment approved", "再委託の承認"),
        "ctr_contacts": ("Contacts", "連絡先"),
        "ctr_notes": ("Notes", "備考"),
        "ctr_entrusting": ("Entrusting party", "委託元"),
        "ctr_purpose": ("Purpose", "委託内容"),
        "ctr_data": ("Personal data", "個人データ"),
        "ctr_people": ("People", "本人数"),
        "ctr_period": ("Period", "期間"),
        "ctr_reentrustment_allowed": ("Re-entrustment allowed", "再委託可"),
        "ctr_audit_rights": ("Audit rights", "監査権"),
        "ctr_systems": ("Systems", "システム"),
        "ctr_subject": ("Subject", "主体"),
        "ctr_object": ("Object", "対象"),
        "ctr_access": ("Access", "アクセス種別"),
        "ctr_owner": ("Owner", "責任者"),
        "ctr_contract": ("Contract", "契約"),
        "ctr_expires": ("Expires", "有効期限"),
        "ctr_uses": ("Uses", "使用回数"),
        "ctr_last_used": ("Last used", "最終使用"),
        "ctr_mfa": ("MFA", "多要素認証"),
        "ctr_mfa_yes": ("always", "常に使用"),
        "ctr_mfa_no": ("not always", "未使用あり"),
        "ctr_unknown": ("unknown", "不明"),
        "ctr_no_events": (
            "The store holds no events: last use and MFA are not known.",
            "ストアにイベントがないため、最終使用と多要素認証は不明です。",
        ),
        "ctr_expired": ("Expired", "期限切れ"),
        "ctr_unused": ("Unused", "未使用"),
        "ctr_in_force": ("in force", "有効"),
        "ctr_supervision": ("Supervision records", "監督の記録"),
        "ctr_assessments": ("Selection assessments", "選定時の評価"),
        "ctr_audits": ("Audits", "監査"),
        "ctr_last_audit": ("Last audit", "最終監査"),
        "ctr_audit_due": ("An audit is due.", "監査の実施時期を過ぎています。"),
        "ctr_remediation_due": ("Remediation due", "是正期限"),
        "ctr_as_of": ("As of", "基準日"),
        "ctr_severity": ("Severity", "重大度"),
        "ctr_finding": ("Finding", "指摘"),
        "ctr_people_exposed": ("People exposed", "影響を受ける本人数"),
        "ctr_people_protected": ("People protected by fixing it", "是正により保護される本人数"),
        "ctr_score": ("Score", "スコア"),
        "ctr_points": ("Points", "減点"),
        "ctr_capped": ("capped", "上限"),
        "ctr_group": ("The group", "グループ全体"),
        "ctr_score_formula": (
            "Score = 100 minus, per kind of finding, at most 25 points of critical 10 / high 5 / "
            "medium 2 / low 1.",
            "スコア = 100 − 指摘の種類ごとに最大25点(重大10・高5・中2・低1)。",
        ),
        "ctr_no_model": (
            "No group model is configured: findings and posture cannot be judged.",
            "グループモデルが設定されていないため、指摘事項と態勢を判定できません。",
        ),
        "ctr_bad_register": (
            "The register does not fit the group model:",
            "登録簿がグループモデルと整合しません:",
        ),
        "ctr_withheld": ("(another organisation)", "(他の組織)"),
        "ctr_scoped_posture": (
            "Only your organisations are shown; the group's score is for readers of every organisation.",
            "担当組織のみ表示しています。グループ全体のスコアは全組織の閲覧者向けです。",
        ),
        "ctr_evidence": ("Evidence", "根拠"),
        "ctr_overdue": ("Overdue", "期限超過"),
        "ctr_unanswered": ("Questions unanswered", "未回答の設問"),
    }
)


# -- pages -------------------------------------------------------------------------------------------


@guarded("read")
def parties_page(ctx: Ctx) -> Response:
    day = as_of_day(ctx.request.query_params.get("as_of"))
    with reading(ctx) as r:
        found = r.findings(ctx, day)
        rows = []
        for party in r.visible_parties():
            grants = [g for g in r.grants if g.party == party.id]
            rows.append(
                r.scope.mask(
                    {
                        "id": party.id,
                        "name": party.name,
                        "kind": str(party.kind),
                        "country": party.country,
                        "risk": str(party.risk_tier),
                        "contracts": sum(1 for c in r.contracts if c.party == party.id and in_force(c, day)),
                        "grants": len(grants),
                        "grants_in_force": sum(
                            1 for g in grants if g.created <= day and not grant_expired(g, day)
                        ),
                        "findings": None
                        if found is None
                        else sum(1 for f in found if f.organisation == party.id),
                    },
                    ctx.t("ctr_withheld"),
                )
            )
        return ctx.render(
            "contractors.html.j2", rows=rows, day=day, problem=r.problem, judged=found is not None
        )


@guarded("read")
def party_page(ctx: Ctx) -> Response:
    day = as_of_day(ctx.request.query_params.get("as_of"))
    party_id = ctx.request.path_params["party_id"][:MAX_TEXT]
    with reading(ctx) as r:
        party = next((p for p in r.visible_parties() if p.id == party_id), None)
        if party is None:  # unknown and out of scope look the same
            return ctx.error(404, "not_found")
        withheld = ctx.t("ctr_withheld")
        grants = [g for g in r.grants if g.party == party.id]
        usage = r.usage(ctx, grants)
        found = r.findings(ctx, day)
        supervision = r.scope.mask(
            supervision_row(supervision_records(r.register, day, party.id)[0]), withheld
        )
        facts = r.scope.mask(
            {
                "name": party.name,
                "kind": str(party.kind),
                "country": party.country,
                "risk": str(party.risk_tier),
                "parent": party.parent or "",
                "approved": " ".join(
                    str(x) for x in (party.reentrustment_approved_by, party.reentrustment_approved_on) if x
                ),
                "contacts": ", ".join(party.contacts),
                "notes": party.notes or "",
            },
            withheld,
        )
        return ctx.render(
            "contractors_party.html.j2",
            party_id=party.id,
            facts=facts,
            entrusted=[contract_row(ctx, r.scope, c, day) for c in r.contracts if c.party == party.id],
            entrusts=[
                contract_row(ctx, r.scope, c, day)
                for c in r.contracts
                if c.entrusting == party.id and r.scope.sees(c.party)
            ],
            grants=[
                grant_row(ctx, r.scope, g, usage.get(g.id) if usage is not None else None, day)
                for g in grants
            ],
            has_events=usage is not None,
            findings=None
            if found is None
            else [finding_row(ctx, r.scope, f) for f in found if f.organisation == party.id],
            supervision=supervision,
            day=day,
            problem=r.problem,
        )


@guarded("read")
def grants_page(ctx: Ctx) -> Response:
    params = ctx.request.query_params
    day = as_of_day(params.get("as_of"))
    party = (params.get("party") or "")[:MAX_TEXT]
    expired, unused = params.get("expired") == "1", params.get("unused") == "1"
    with reading(ctx) as r:
        visible = r.visible_parties()
        grants = [g for g in r.visible_grants() if not party or g.party == party]
        usage = r.usage(ctx, grants)
        rows = [
            grant_row(ctx, r.scope, g, usage.get(g.id) if usage is not None else None, day) for g in grants
        ]
        rows = [x for x in rows if (not expired or x["expired"]) and (not unused or x["unused"])]
        return ctx.render(
            "contractors_grants.html.j2",
            rows=rows,
            parties=[p.id for p in visible],
            party=party if any(p.id == party for p in visible) else "",
            expired=expired,
            unused=unused,
            has_events=usage is not None,
            day=day,
        )


@guarded("read")
def findings_page(ctx: Ctx) -> Response:
    day = as_of_day(ctx.request.query_params.get("as_of"))
    org = (ctx.request.query_params.get("org") or "")[:MAX_TEXT]
    with reading(ctx) as r:
        found = r.findings(ctx, day)
        rows = None
        if found is not None:
            rows = [finding_row(ctx, r.scope, f) for f in found if not org or f.organisation == org]
        orgs = sorted({p.id for p in r.visible_parties()} | {f.organisation for f in found or ()})
        return ctx.render(
            "contractors_findings.html.j2",
            rows=rows,
            orgs=orgs,
            org=org if org in orgs else "",
            day=day,
            problem=r.problem,
        )


@guarded("read")
def posture_page(ctx: Ctx) -> Response:
    day = as_of_day(ctx.request.query_params.get("as_of"))
    with reading(ctx) as r:
        found = r.findings(ctx, day)
        posture = None
        if found is not None and r.model is not None:
            orgs = [o.id for o in r.model.organisations if o.kind != "parent" and r.scope.sees(o.id)]
            posture = group_posture(found, day, orgs)
        return ctx.render(
            "contractors_posture.html.j2",
            posture=posture,
            sees_all=r.scope.account.sees_all,
            day=day,
            problem=r.problem,
        )


ROUTES = [
    Route("/contractors", parties_page, methods=["GET"]),
    Route("/contractors/party/{party_id}", party_page, methods=["GET"]),
    Route("/contractors/grants", grants_page, methods=["GET"]),
    Route("/contractors/findings", findings_page, methods=["GET"]),
    Route("/contractors/posture", posture_page, methods=["GET"]),
]
