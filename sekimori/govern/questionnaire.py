"""The selection assessment's questionnaire (委託先の選定): its items are the safety-management measures of
the PPC's general guideline (個人情報の保護に関する法律についてのガイドライン（通則編）), section 10
「（別添）講ずべき安全管理措置の内容」 — organisational (10-3), human (10-4), physical (10-5) and technical
(10-6) measures, with the basic policy (10-1), the rules (10-2) and the external environment (10-7) — and
the supervision of entrusted parties of section 3-4-4 「委託先の監督」.

Each item cites the guideline's section and heading (``section``); the Japanese heading is the
guideline's, the question built on it and the English text are ours (not an official translation). The
guideline asks a business to check that the party takes measures equivalent to its own; the questions ask
whether the party does, and for its evidence.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class MeasureKind(StrEnum):
    policy = "policy"  # 基本方針・規律
    organisational = "organisational"  # 組織的安全管理措置
    human = "human"  # 人的安全管理措置
    physical = "physical"  # 物理的安全管理措置
    technical = "technical"  # 技術的安全管理措置
    external = "external"  # 外的環境の把握
    entrustment = "entrustment"  # 委託先の監督 (再委託)


@dataclass(frozen=True)
class QuestionItem:
    id: str
    kind: MeasureKind
    section: str  # the guideline's section and heading, as printed there
    ja: str
    en: str


def _q(item_id: str, kind: MeasureKind, section: str, ja: str, en: str) -> QuestionItem:
    return QuestionItem(item_id, kind, section, ja, en)


P, ORG, H, PH, T, X, E = (
    MeasureKind.policy,
    MeasureKind.organisational,
    MeasureKind.human,
    MeasureKind.physical,
    MeasureKind.technical,
    MeasureKind.external,
    MeasureKind.entrustment,
)

QUESTIONNAIRE: tuple[QuestionItem, ...] = (
    _q("policy", P, "10-1 基本方針の策定", "個人データの適正な取扱いに関する基本方針を定めていますか。",
       "Has the party set a basic policy for the proper handling of personal data?"),
    _q("rules", P, "10-2 個人データの取扱いに係る規律の整備",
       "取得・利用・保存・提供・削除の各段階の取扱規程を整備していますか。",
       "Are there rules for each stage of handling (collection, use, storage, transfer, deletion)?"),
    _q("org-structure", ORG, "10-3 組織的安全管理措置 (1) 組織体制の整備",
       "責任者と取扱者の役割・責任を定めた組織体制がありますか。",
       "Is there an organisation naming who is responsible for personal data and who handles it?"),
    _q("org-operation", ORG, "10-3 組織的安全管理措置 (2) 個人データの取扱いに係る規律に従った運用",
       "規程に従って運用し、その記録（利用・アクセスの記録等）を残していますか。",
       "Does the party work by its rules and keep records of it (use and access logs)?"),
    _q("org-inventory", ORG, "10-3 組織的安全管理措置 (3) 個人データの取扱状況を確認する手段の整備",
       "取り扱う個人データの項目・件数・保管場所等を台帳等で把握していますか。",
       "Does the party keep an inventory of the personal data it handles (items, numbers, where)?"),
    _q("org-incident", ORG, "10-3 組織的安全管理措置 (4) 漏えい等事案に対応する体制の整備",
       "漏えい等の事案の報告連絡体制があり、委託元へ直ちに報告する取決めがありますか。",
       "Is there a way to report a leak or loss, and an agreement to tell the entrusting company at once?"),
    _q("org-review", ORG, "10-3 組織的安全管理措置 (5) 取扱状況の把握及び安全管理措置の見直し",
       "取扱状況を定期的に点検・監査し、措置を見直していますか。",
       "Does the party check or audit its handling regularly and revise its measures?"),
    _q("human-training", H, "10-4 人的安全管理措置 従業者の教育",
       "従業者に個人データの取扱いの教育を定期的に行い、秘密保持を誓約させていますか。",
       "Are the party's staff trained regularly on handling personal data, and bound to confidentiality?"),
    _q("phys-areas", PH, "10-5 物理的安全管理措置 (1) 個人データを取り扱う区域の管理",
       "個人データを取り扱う区域への入退室を管理していますか。",
       "Does the party control entry to the areas where personal data is handled?"),
    _q("phys-theft", PH, "10-5 物理的安全管理措置 (2) 機器及び電子媒体等の盗難等の防止",
       "機器・電子媒体・書類の盗難や紛失を防ぐ措置（施錠保管等）を講じていますか。",
       "Are devices, media and papers protected against theft and loss (locked storage, …)?"),
    _q("phys-carrying", PH, "10-5 物理的安全管理措置 (3) 電子媒体等を持ち運ぶ場合の漏えい等の防止",
       "電子媒体等を持ち運ぶ場合に暗号化等の措置を講じていますか。",
       "When media or devices are carried outside, are they protected (encryption, …)?"),
    _q("phys-disposal", PH, "10-5 物理的安全管理措置 (4) 個人データの削除及び機器、電子媒体等の廃棄",
       "個人データの削除や機器の廃棄を復元できない方法で行い、記録していますか。",
       "Is personal data deleted, and equipment disposed of, beyond recovery, and is it recorded?"),
    _q("tech-access", T, "10-6 技術的安全管理措置 (1) アクセス制御",
       "個人データにアクセスできる者と範囲を必要最小限に限定していますか。",
       "Is access to personal data limited to the people and scope that need it?"),
    _q("tech-auth", T, "10-6 技術的安全管理措置 (2) アクセス者の識別と認証",
       "アクセス者を識別・認証していますか（共有アカウントを使わず、多要素認証を用いる等）。",
       "Are the people who access it identified and authenticated (no shared accounts; MFA)?"),
    _q("tech-intrusion", T, "10-6 技術的安全管理措置 (3) 外部からの不正アクセス等の防止",
       "外部からの不正アクセスや不正ソフトウェアから情報システムを保護していますか。",
       "Are the systems protected against unauthorised access from outside and against malware?"),
    _q("tech-leak", T, "10-6 技術的安全管理措置 (4) 情報システムの使用に伴う漏えい等の防止",
       "情報システムの使用に伴う漏えい等を防止する措置（通信の暗号化、脆弱性対策等）を講じていますか。",
       "Are leaks through the use of the systems prevented (encrypted traffic, vulnerability management)?"),
    _q("external", X, "10-7 外的環境の把握",
       "外国で個人データを取り扱う場合、その国の個人情報保護制度を把握していますか。",
       "If personal data is handled in a foreign country, does the party know that country's data rules?"),
    _q("reentrustment", E, "3-4-4 委託先の監督 (再委託)",
       "再委託する場合、委託元の事前承認を得て、再委託先を同等に監督していますか。",
       "If the party re-entrusts work, does it get prior approval and supervise the sub-contractor alike?"),
)  # fmt: skip

ITEMS = {item.id: item for item in QUESTIONNAIRE}
