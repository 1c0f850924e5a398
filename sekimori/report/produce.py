"""Every report due for an incident, written to a folder: HTML, PDF (Japanese fonts embedded) and JSON
per kind and language, plus the notices per category; and a summary of the deadlines."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sekimori.report.document import Document, as_now
from sekimori.report.facts import IncidentFacts, Text
from sekimori.report.kind import applicable, build
from sekimori.report.kinds.notices import category_notices
from sekimori.report.progress import build_progress_page
from sekimori.report.render import RenderError, render_html, render_json, render_pdf
from sekimori.report.text import missing_text, text_in


@dataclass
class Produced:
    kind: str
    lang: str
    title: str
    files: list[Path]
    deadlines: list[dict[str, Any]]
    missing: list[str]
    mandatory: bool | None
    recipient: str | None = None
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # what could not be written, and why

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "lang": self.lang,
            "title": self.title,
            "recipient": self.recipient,
            "files": [str(f) for f in self.files],
            "deadlines": self.deadlines,
            "missing": self.missing,
            "mandatory": self.mandatory,
            "notes": self.notes,
            "problems": self.problems,
        }


def produce_reports(
    facts: IncidentFacts,
    out_dir: Path,
    kinds: Sequence[str] | None = None,
    langs: Sequence[str] = ("ja", "en"),
    now: datetime | None = None,
    template_dir: Path | None = None,
    pdf: bool = True,
) -> list[Produced]:
    """Write the reports of ``kinds`` (default: those :func:`applicable` to the facts), and one notice
    per category of people when individual notices are due."""
    out_dir.mkdir(parents=True, exist_ok=True)
    chosen = list(kinds) if kinds is not None else applicable(facts)
    produced: list[Produced] = []
    # A PDF that cannot be rendered on this machine (no pango, no font) is named once; the HTML and JSON of
    # every report are still written.
    pdf_problem: str | None = None
    for lang in langs:
        documents: list[Document] = [
            build(kind, facts, lang, now) for kind in chosen if kind != "individual_notice"
        ]
        if "individual_notice" in chosen:
            documents += category_notices(facts, lang, now)
        notices = 0
        for document in documents:
            stem = f"{document.kind}.{lang}"
            if document.recipient is not None:  # one notice per category of people
                notices += 1
                stem = f"{document.kind}-{notices}.{lang}"
            files = [out_dir / f"{stem}.html", out_dir / f"{stem}.json"]
            files[0].write_text(render_html(document, template_dir), encoding="utf-8")
            files[1].write_text(render_json(document), encoding="utf-8")
            problems: list[str] = []
            if pdf and pdf_problem is None:
                try:
                    files.append(render_pdf(document, out_dir / f"{stem}.pdf", template_dir))
                except RenderError as exc:
                    pdf_problem = str(exc)
            if pdf and pdf_problem is not None:
                problems.append(f"PDF not written: {pdf_problem}")
            produced.append(
                Produced(
                    kind=document.kind,
                    lang=lang,
                    title=document.title,
                    files=files,
                    deadlines=[d.to_dict(document.as_of) for d in document.deadlines],
                    missing=list(document.missing),
                    mandatory=document.mandatory,
                    recipient=document.recipient,
                    notes=list(document.notes),
                    problems=problems,
                )
            )
    if facts.measures:
        # the public progress page on the recurrence-prevention measures (no personal data on it), with
        # what was known of them on its date
        moment = as_now(now)
        title = facts.title or Text()
        page = build_progress_page(
            facts.as_of(moment).measures,
            text_in(title, "ja") or missing_text("件名", "ja"),
            out_dir / "progress",
            lang=list(langs),
            title_en=text_in(title, "en") or missing_text("title", "en"),
            as_of=moment,
        )
        produced.append(
            Produced(
                kind="progress_page",
                lang="/".join(langs),
                title=" / ".join(dict.fromkeys(t for t in (title.ja, title.en) if t)),
                files=[page],
                deadlines=[],
                missing=[],
                mandatory=None,
            )
        )
    return produced
