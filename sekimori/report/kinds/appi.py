"""APPI (Japan): the reports to the PPC, 速報 and 確報 (Act Art. 26(1), Rule 8), and the entrusted
party's notice to its principal (Rule 9)."""

from __future__ import annotations

from datetime import datetime

from sekimori.report import deadlines as dl
from sekimori.report.appi_items import APPI_ITEMS, appi_assessment, appi_values
from sekimori.report.document import Document, Lang
from sekimori.report.facts import IncidentFacts
from sekimori.report.kind import ReportKind, register
from sekimori.report.text import Form, fmt_dt, missing_text, pick, text_in, with_submission


def appi_due(facts: IncidentFacts) -> bool:
    """The report to the PPC is mandatory for these facts (Rule 7); undecided is not due yet."""
    return appi_assessment(facts)[0] is True


def _ppc_addressee(facts: IncidentFacts, lang: str) -> str:
    if facts.telecom_carrier:
        return pick(
            lang,
            "個人情報保護委員会（電気通信事業に係る個人データは、権限の委任により総務省（総合通信局等））",
            "Personal Information Protection Commission (for personal data of the telecommunications "
            "business, the MIC regional bureau by delegation)",
        )
    return pick(lang, "個人情報保護委員会", "Personal Information Protection Commission (PPC)")


def _head(form: Form, facts: IncidentFacts, lang: str) -> None:
    form.put(
        pick(lang, "報告者（個人情報取扱事業者）", "Reporting business"),
        text_in(facts.company, lang),
        pending=False,
    )
    form.put(
        pick(lang, "漏えい等の事態を知った日時", "When the business learned of it"),
        fmt_dt(facts.learned_at, lang),
        pending=False,
    )


def _appi_report(facts: IncidentFacts, lang: Lang, now: datetime, *, final: bool) -> Document:
    form = Form(lang, pending=not final)
    _head(form, facts, lang)
    values = appi_values(facts, lang)
    for key, ja, en in APPI_ITEMS:
        form.put(pick(lang, ja, en), values[key])
    mandatory, reasons = appi_assessment(facts, lang)
    if final:
        deadline = dl.appi_final(facts.learned_at, facts.unauthorized_purpose, lang)
        title = PpcFinal.title(lang)
        notes = [
            pick(
                lang,
                "確報は規則8条1項各号の全ての事項を報告する。確報の時点で合理的努力を尽くしても判明しない事項は、"
                "判明次第、追完する。",
                "The final report covers every item of Rule 8(1); items still unknown after reasonable "
                "effort are supplemented as soon as they are known.",
            )
        ]
    else:
        deadline = dl.appi_preliminary(facts.learned_at, lang)
        title = PpcPreliminary.title(lang)
        notes = [
            pick(
                lang,
                "速報は報告時点で把握している事項に限る（規則8条1項かっこ書）。「調査中」の事項は確報で報告する。",
                "The preliminary report gives only what is known when it is made (Rule 8(1)); items "
                "'under investigation' follow in the final report.",
            )
        ]
    if mandatory is None:
        notes.append(
            pick(
                lang,
                "報告対象事態に当たるか未確定: 疑いがある段階でも報告対象となり得る",
                "Whether this must be reported is not settled yet; a suspected leak can already be "
                "reportable.",
            )
        )
    return form.document(
        facts,
        now,
        kind="ppc_final" if final else "ppc_preliminary",
        title=title,
        addressee=_ppc_addressee(facts, lang),
        deadlines=[with_submission(facts, deadline)],
        mandatory=mandatory,
        reasons=reasons,
        notes=notes,
    )


def ppc_preliminary(facts: IncidentFacts, lang: Lang, now: datetime) -> Document:
    """速報 (Act Art. 26(1), Rule 8(1)): the nine items as far as known; the rest 調査中."""
    return _appi_report(facts, lang, now, final=False)


def ppc_final(facts: IncidentFacts, lang: Lang, now: datetime) -> Document:
    """確報 (Rule 8(2)): all nine items, within 30 days (60 for an unauthorized purpose)."""
    return _appi_report(facts, lang, now, final=True)


def entrusted_notice(facts: IncidentFacts, lang: Lang, now: datetime) -> Document:
    """委託先から委託元への通知 (Act Art. 26(1) proviso, Rule 9): items 1–9 as far as known, promptly."""
    form = Form(lang, pending=True)
    form.put(
        pick(lang, "通知者（委託先）", "Notifying party (entrusted)"),
        text_in(facts.company, lang),
        pending=False,
    )
    form.put(
        pick(lang, "委託元", "Entrusting business"), text_in(facts.entrusting_company, lang), pending=False
    )
    form.put(
        pick(lang, "漏えい等の事態を知った日時", "When the entrusted party learned of it"),
        fmt_dt(facts.learned_at, lang),
        pending=False,
    )
    values = appi_values(facts, lang)
    for key, ja, en in APPI_ITEMS:
        form.put(pick(lang, ja, en), values[key])
    mandatory, reasons = appi_assessment(facts, lang)
    return form.document(
        facts,
        now,
        kind="entrusted_notice",
        title=EntrustedNotice.title(lang),
        addressee=text_in(facts.entrusting_company, lang)
        or missing_text(pick(lang, "委託元", "entrusting business"), lang),
        deadlines=[with_submission(facts, dl.entrusted_notice(facts.learned_at, lang))],
        mandatory=mandatory,
        reasons=reasons,
        notes=[
            pick(
                lang,
                "委託先は、報告義務を負う委託元にこの通知をしたときは、個人情報保護委員会への報告義務を免除される"
                "（法26条1項ただし書）。委託元と連名で報告することもできる。",
                "By this notice the entrusted party is released from its own duty to report to the PPC (Act "
                "Art. 26(1) proviso); a joint report with the principal is also possible.",
            )
        ],
    )


@register
class PpcPreliminary(ReportKind):
    """速報 to the PPC, promptly (about 3–5 days)."""

    name = "ppc_preliminary"
    jurisdiction = "JP-APPI"
    title_ja = "個人データの漏えい等報告書（速報）"
    title_en = "Report of a personal data breach (preliminary)"
    order = 10

    def applies(self, facts: IncidentFacts) -> bool:
        return appi_due(facts) and not facts.entrusting_company

    def build(self, facts: IncidentFacts, lang: Lang, now: datetime) -> Document:
        return ppc_preliminary(facts, lang, now)


@register
class PpcFinal(ReportKind):
    """確報 to the PPC, within 30 days (60 for an unauthorized purpose)."""

    name = "ppc_final"
    jurisdiction = "JP-APPI"
    title_ja = "個人データの漏えい等報告書（確報）"
    title_en = "Report of a personal data breach (final)"
    order = 11

    def applies(self, facts: IncidentFacts) -> bool:
        return appi_due(facts) and not facts.entrusting_company

    def build(self, facts: IncidentFacts, lang: Lang, now: datetime) -> Document:
        return ppc_final(facts, lang, now)


@register
class EntrustedNotice(ReportKind):
    """The entrusted party's notice to its principal, promptly."""

    name = "entrusted_notice"
    jurisdiction = "JP-APPI"
    title_ja = "個人データの漏えい等に関する委託元への通知"
    title_en = "Notice of a personal data breach to the principal"
    order = 12

    def applies(self, facts: IncidentFacts) -> bool:
        # The entrusted party is released by notifying its principal, which reports and notifies people.
        return appi_due(facts) and bool(facts.entrusting_company)

    def build(self, facts: IncidentFacts, lang: Lang, now: datetime) -> Document:
        return entrusted_notice(facts, lang, now)
