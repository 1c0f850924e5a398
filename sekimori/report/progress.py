"""The public progress page of the recurrence-prevention measures (再発防止策の進捗状況).

Regulators ask for regular public reports of progress: a static page per language (Japanese and
English), plain HTML and a small CSS, no scripts, for any web server. Each measure shows its text, the
accountable role (a person's name only when not marked private), the due day, the status, the % done and
the last update; overdue measures are highlighted and labelled in words (not by colour alone). Nothing
else of the case goes on the page: no evidence (internal documents), no history, no personal data.

The template is Jinja2 with autoescape; ``template_dir`` may hold a ``progress.html.j2`` that replaces it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from jinja2 import ChoiceLoader, DictLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape

from sekimori.report.facts import Measure
from sekimori.report.measures import JST, MeasureBook, TrackedMeasure

LANGS = ("ja", "en")
CSS_NAME = "progress.css"

TEXT: dict[str, dict[str, str]] = {
    "ja": {
        "heading": "再発防止策の実施状況",
        "as_of": "更新日",
        "summary": "全{total}件中 完了{done}件、期限超過{overdue}件、全体の進捗{percent}%",
        "no": "番号",
        "what": "再発防止策",
        "owner": "担当",
        "due": "期限",
        "status": "状況",
        "percent": "進捗",
        "updated": "最終更新",
        "overdue": "期限超過",
        "other": "English",
        "none": "登録された再発防止策はありません。",
        "only_ja": "",
    },
    "en": {
        "heading": "Progress of recurrence-prevention measures",
        "as_of": "As of",
        "summary": "{done} of {total} done, {overdue} overdue, {percent}% overall",
        "no": "No.",
        "what": "Measure",
        "owner": "Responsible",
        "due": "Due",
        "status": "Status",
        "percent": "Progress",
        "updated": "Last update",
        "overdue": "Overdue",
        "other": "日本語",
        "none": "No measures have been registered.",
        "only_ja": "(in Japanese only)",
    },
}
STATUS: dict[str, dict[str, str]] = {
    "ja": {
        "planned": "未着手",
        "in_progress": "実施中",
        "done": "完了",
        "cancelled": "中止",
        "unknown": "未確認",
    },
    "en": {
        "planned": "Planned",
        "in_progress": "In progress",
        "done": "Done",
        "cancelled": "Cancelled",
        "unknown": "Not recorded",
    },
}

PAGE = """<!DOCTYPE html>
<html lang="{{ lang }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'self'">
<title>{{ title }} — {{ t.heading }}</title>
<link rel="stylesheet" href="{{ css }}">
</head>
<body>
<header>
{%- for other in others %}
<p class="lang"><a href="{{ other.href }}" hreflang="{{ other.lang }}" lang="{{ other.lang }}">
{{- other.label }}</a></p>
{%- endfor %}
<h1>{{ title }}</h1>
<h2>{{ t.heading }}</h2>
<p class="as-of">{{ t.as_of }}: <time datetime="{{ as_of_iso }}">{{ as_of }}</time></p>
<p class="summary">{{ summary }}</p>
</header>
<main>
{%- if rows %}
<table>
<thead><tr><th scope="col">{{ t.no }}</th><th scope="col">{{ t.what }}</th><th scope="col">{{ t.owner }}</th>
<th scope="col">{{ t.due }}</th><th scope="col">{{ t.status }}</th><th scope="col">{{ t.percent }}</th>
<th scope="col">{{ t.updated }}</th></tr></thead>
<tbody>
{%- for r in rows %}
<tr class="status-{{ r.status }}{% if r.overdue %} overdue{% endif %}">
<td>{{ r.id }}</td>
<td>{% if r.what_lang %}<span lang="{{ r.what_lang }}">{{ r.what }}</span> <small>{{ t.only_ja }}</small>
{%- else %}{{ r.what }}{% endif %}</td>
<td>{{ r.owner }}</td>
<td><time datetime="{{ r.due }}">{{ r.due }}</time>
{%- if r.overdue %} <strong class="badge">{{ t.overdue }}</strong>{% endif %}</td>
<td>{{ r.status_text }}</td>
<td>{% if r.percent is not none %}<progress max="100" value="{{ r.percent }}">{{ r.percent }}%</progress>
<span class="pct">{{ r.percent }}%</span>{% else %}—{% endif %}</td>
<td>{% if r.updated %}<time datetime="{{ r.updated }}">{{ r.updated }}</time>{% else %}—{% endif %}</td>
</tr>
{%- endfor %}
</tbody>
</table>
{%- else %}
<p>{{ t.none }}</p>
{%- endif %}
</main>
</body>
</html>
"""

CSS = """body { font-family: system-ui, "Hiragino Sans", "Noto Sans JP", "Yu Gothic", sans-serif;
  margin: 2rem auto; max-width: 72rem; padding: 0 1rem; color: #1a1a1a; line-height: 1.6; }
h1 { font-size: 1.5rem; margin-bottom: 0; } h2 { font-size: 1.2rem; font-weight: normal; }
.lang { float: right; margin: 0; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #c8c8c8; padding: .4rem .6rem; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
tr.status-done td { color: #3d5c3d; }
tr.status-cancelled td { color: #777; text-decoration: line-through; }
tr.overdue td { background: #fdecea; }
.badge { background: #b3261e; color: #fff; border-radius: .25rem; padding: 0 .35rem; font-size: .85em; }
progress { width: 6rem; vertical-align: middle; }
.pct { margin-left: .3rem; }
@media print { .lang { display: none; } tr.overdue td { background: none; border-left: 3px solid #b3261e; } }
"""


@dataclass(frozen=True)
class _Row:
    id: str
    what: str
    what_lang: str | None  # set when the text is not in the page's language
    owner: str
    due: str
    status: str
    status_text: str
    percent: int | None
    updated: str | None
    overdue: bool


def _tracked(
    measures: MeasureBook | Iterable[TrackedMeasure | Measure], unrecorded: set[str]
) -> list[TrackedMeasure]:
    """The measures as tracked ones; ``unrecorded`` gets the ids of those whose status or last update is
    not recorded (shown as such, never as a status or a date they did not have)."""
    out: list[TrackedMeasure] = []
    for m in measures:
        if isinstance(m, TrackedMeasure):
            out.append(m)
            continue
        # a reports' Measure: its owner is taken as a role; % done known only when done
        if m.updated is None:
            unrecorded.add(f"{m.id}:updated")
        if m.status not in STATUS["en"] or m.status == "unknown":
            unrecorded.add(f"{m.id}:status")
        updated = m.updated or m.due  # a placeholder the page does not show (see ``unrecorded``)
        out.append(
            TrackedMeasure(
                id=m.id,
                what=m.what,
                what_en=m.what_en,
                owner_role=m.owner,
                owner_role_en=m.owner_en,
                due=m.due.astimezone(JST).date() if m.due.tzinfo else m.due.date(),
                status="planned" if f"{m.id}:status" in unrecorded else m.status,  # type: ignore[arg-type]
                percent=100 if m.status == "done" else 0,
                created=updated if updated.tzinfo else updated.replace(tzinfo=JST),
                updated=updated if updated.tzinfo else updated.replace(tzinfo=JST),
            )
        )
    return out


def _known_at(measure: TrackedMeasure, as_of: datetime) -> TrackedMeasure | None:
    """The measure as its history shows it at ``as_of``: none before it was created, and the status and
    % done of the last changes by then (a page of a date shows no later update)."""
    if measure.created > as_of:
        return None
    if measure.updated <= as_of:
        return measure
    status, percent, updated = "planned", 0, measure.created
    for change in measure.history:
        if change.at > as_of:
            continue
        if change.field == "status":
            status = change.new
        elif change.field == "percent":
            percent = change.new
        updated = max(updated, change.at)
    return measure.model_copy(
        update={
            "status": status,
            "percent": percent,
            "updated": updated,
            "evidence": [e for e in measure.evidence if e.at <= as_of],
            "history": [c for c in measure.history if c.at <= as_of],
        }
    )


def _rows(
    measures: Sequence[TrackedMeasure],
    lang: str,
    as_of: datetime,
    known_percent: set[str],
    unrecorded: AbstractSet[str] = frozenset(),
) -> list[_Row]:
    rows = []
    for m in measures:
        what, what_lang = m.what, None
        if lang == "en":
            what, what_lang = (m.what_en, None) if m.what_en else (m.what, "ja")
        role = m.owner_role_en if lang == "en" and m.owner_role_en else m.owner_role
        # a person's name is personal data: only when the owner agreed to be named (not private)
        owner = f"{role} ({m.owner_name})" if m.owner_name and not m.owner_private else role
        status = "unknown" if f"{m.id}:status" in unrecorded else m.status
        rows.append(
            _Row(
                id=m.id,
                what=what,
                what_lang=what_lang,
                owner=owner,
                due=m.due.isoformat(),
                status=status,
                status_text=STATUS[lang][status],
                percent=m.percent if m.id in known_percent and status != "unknown" else None,
                updated=None
                if f"{m.id}:updated" in unrecorded
                else m.updated.astimezone(JST).date().isoformat(),
                overdue=m.overdue(as_of) and status != "unknown",
            )
        )
    return rows


def _environment(template_dir: Path | None) -> Environment:
    loaders: list[FileSystemLoader | DictLoader] = [DictLoader({"progress.html.j2": PAGE})]
    if template_dir is not None:
        loaders.insert(0, FileSystemLoader(str(template_dir)))
    return Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def page_name(lang: str) -> str:
    return f"progress.{lang}.html"


def build_progress_page(
    measures: MeasureBook | Iterable[TrackedMeasure | Measure],
    title: str,
    out_dir: Path,
    lang: Sequence[str] = LANGS,
    *,
    title_en: str | None = None,
    as_of: datetime | None = None,
    template_dir: Path | None = None,
) -> Path:
    """Write ``progress.<lang>.html`` per language and ``progress.css`` to ``out_dir``; the path of the
    first language's page. ``title``: the case's public title (``title_en`` for the English page);
    ``as_of``: the date the page states and judges overdue by (default: now)."""
    unknown = [x for x in lang if x not in TEXT]
    if unknown or not lang:
        raise ValueError(f"languages: expected some of {', '.join(TEXT)}, got {list(lang)}")
    when = (as_of or datetime.now(JST)).astimezone(JST)
    raw = [m for m in (_known_at(m, when) if isinstance(m, TrackedMeasure) else m for m in measures) if m]
    unrecorded: set[str] = set()
    tracked = _tracked(raw, unrecorded)
    known_percent = {m.id for m in raw if isinstance(m, TrackedMeasure)} | {
        m.id for m in tracked if m.status == "done"
    }
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / CSS_NAME).write_text(CSS, encoding="utf-8")
    template = _environment(template_dir).get_template("progress.html.j2")
    active = [m for m in tracked if m.status != "cancelled"]
    overall = round(sum(m.percent for m in active) / len(active)) if active else 0
    paths = []
    for code in lang:
        t = TEXT[code]
        rows = _rows(tracked, code, when, known_percent, unrecorded)
        summary = t["summary"].format(
            total=len(tracked),
            done=sum(1 for m in tracked if m.status == "done"),
            overdue=sum(1 for r in rows if r.overdue),
            percent=overall,
        )
        html = template.render(
            lang=code,
            title=title_en if code == "en" and title_en else title,
            t=t,
            css=CSS_NAME,
            others=[
                {"lang": o, "href": page_name(o), "label": TEXT[code]["other"]} for o in lang if o != code
            ],
            as_of=when.date().isoformat(),
            as_of_iso=when.isoformat(timespec="seconds"),
            summary=summary,
            rows=rows,
        )
        path = out_dir / page_name(code)
        path.write_text(html, encoding="utf-8")
        paths.append(path)
    return paths[0]
