"""What each kind of finding says, in Japanese and English (``{name}`` fields from the finding)."""

from __future__ import annotations

from typing import Any

TEXT: dict[str, tuple[str, str]] = {
    "no_entrustment_contract": (
        "{organisation} は個人データ（{people:,}人分）にアクセスできるが、個人データの取扱いを委託する"
        "有効な委託契約がない（委託先として監督されていない）。",
        "{organisation} can reach personal data ({people:,} people) but has no contract in force entrusting "
        "it with personal data: it is not supervised as an entrusted party.",
    ),
    "shared_authentication": (
        "{organisation} は {owner} と認証基盤（{subject}）を共有している"
        "（分離すれば {protected:,}人を保護）。",
        "{organisation} shares authentication ({subject}) with {owner} (separating it protects "
        "{protected:,} people).",
    ),
    "flow_into_parent": (
        "{organisation} のネットワークから親会社（{owner}）のゾーンへの通信（{subject}）が許可されている"
        "（遮断すれば {protected:,}人を保護）。",
        "The {subject} lets {organisation}'s network into a zone of the parent, {owner} (blocking it "
        "protects {protected:,} people).",
    ),
    "grant_outlives_contract": (
        "{subject} が根拠となる委託契約 {contract} より長く有効である。",
        "The {subject} outlives the contract it serves, {contract}.",
    ),
    "grant_expired": (
        "{subject} は {expires} に期限切れだが台帳に残っている。",
        "The {subject} expired on {expires} but is still in the register.",
    ),
    "grant_never_used": (
        "{subject} はログ上一度も使われていない。",
        "The {subject} was never used in the logs.",
    ),
    "grant_not_recently_used": (
        "{subject} は {days}日以上使われていない（最終使用 {last_used}）。",
        "The {subject} has not been used for more than {days} days (last used {last_used}).",
    ),
    "grant_without_mfa": (
        "{subject} が多要素認証なしで {without_mfa}回使われた。",
        "The {subject} was used {without_mfa} time(s) without a second factor.",
    ),
    "access_without_grant": (
        "{organisation} について、権限のないアクセスが観測された（{subject}、{alerts}件）。",
        "Access that no grant allows was observed for {organisation} ({subject}, {alerts} alert(s)).",
    ),
    "reentrustment_not_approved": (
        "{organisation} への再委託（委託元 {parent}）が承認されていない。",
        "The re-entrustment of {organisation} (by {parent}) is not approved.",
    ),
    "reentrustment_unknown": (
        "{organisation} は {parent} の再委託先として見えるが、台帳に再委託として登録されていない。",
        "{organisation} is seen as a sub-contractor of {parent} but the register does not know it as one.",
    ),
    "review_overdue": (
        "アクセス権レビュー（{subject}）の {overdue}件が期限（{deadline}）を過ぎても未判断である。",
        "{overdue} item(s) of {subject} are undecided past its deadline ({deadline}).",
    ),
    "audit_overdue": (
        "{organisation} の監査または是正が期限を過ぎている（{subject}）。",
        "An audit or a remediation of {organisation} is overdue ({subject}).",
    ),
}

KIND_LABEL: dict[str, tuple[str, str]] = {
    "no_entrustment_contract": ("委託契約のない個人データへのアクセス", "personal data without entrustment"),
    "shared_authentication": ("会社間で共有された認証基盤", "authentication shared between companies"),
    "flow_into_parent": ("親会社への通信", "network flow into the parent"),
    "grant_outlives_contract": ("契約より長い権限", "grant outlives its contract"),
    "grant_expired": ("期限切れの権限", "expired grant"),
    "grant_never_used": ("未使用の権限", "grant never used"),
    "grant_not_recently_used": ("最近使われていない権限", "grant not recently used"),
    "grant_without_mfa": ("多要素認証なしの使用", "grant used without MFA"),
    "access_without_grant": ("権限のないアクセス", "access no grant allows"),
    "reentrustment_not_approved": ("未承認の再委託", "re-entrustment not approved"),
    "reentrustment_unknown": ("把握されていない再委託", "re-entrustment not known"),
    "review_overdue": ("期限超過のレビュー", "review overdue"),
    "audit_overdue": ("期限超過の監査", "audit overdue"),
}


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


def texts(kind: str, values: dict[str, Any]) -> dict[str, str]:
    ja, en = TEXT[kind]
    return {"ja": ja.format_map(_Blank(values)), "en": en.format_map(_Blank(values))}
