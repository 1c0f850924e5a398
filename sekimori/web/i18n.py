"""The web face's words, English and Japanese, in one catalogue; a page is in one language."""

from __future__ import annotations

LANGUAGES = ("en", "ja")

MESSAGES: dict[str, tuple[str, str]] = {
    # key: (en, ja)
    "app": ("sekimori", "関守"),
    "signin": ("Sign in", "サインイン"),
    "signout": ("Sign out", "サインアウト"),
    "login": ("Login", "ログイン名"),
    "password": ("Password", "パスワード"),
    "signin_failed": ("Sign-in failed.", "サインインできませんでした。"),
    "signin_limited": (
        "Too many attempts. Try again later.",
        "試行回数が多すぎます。しばらくしてから再度お試しください。",
    ),
    "overview": ("Overview", "概要"),
    "alerts": ("Alerts", "アラート"),
    "alert": ("Alert", "アラート"),
    "cases": ("Cases", "ケース"),
    "case": ("Case", "ケース"),
    "admin_users": ("Users", "ユーザー"),
    "audit": ("Audit", "監査"),
    "tokens": ("API tokens", "APIトークン"),
    "change_password": ("Change password", "パスワード変更"),
    "must_change": (
        "Choose a new password before you go on.",
        "続行する前に新しいパスワードを設定してください。",
    ),
    "current_password": ("Current password", "現在のパスワード"),
    "new_password": ("New password", "新しいパスワード"),
    "open_cases": ("Open cases", "未解決のケース"),
    "alerts_by_source": ("Alerts by source and level", "ソース・レベル別アラート"),
    "boundary_first": ("Boundary alerts", "境界アラート"),
    "ov_reports_due": ("Reports due", "期限のある報告"),
    "ov_case": ("Case", "ケース"),
    "ov_report": ("Report", "報告"),
    "ov_deadline": ("Deadline", "期限"),
    "ov_due": ("Due", "要否"),
    "ov_due_yes": ("due", "要"),
    "ov_due_undecided": ("to decide (facts missing)", "判断待ち(事実が不足)"),
    "ov_missing": ("Fields missing", "未記入の項目"),
    "ov_posture": ("Group posture", "グループの態勢"),
    "ov_posture_pending": (
        "Not worked out yet: the server works the findings out at start, or open Contractors › Posture.",
        "まだ集計されていません。サーバー起動時に集計されます。または「委託先 › 態勢」を開いてください。",
    ),
    "ov_status": ("Ingest and detection", "取り込みと検知"),
    "ov_ingest": ("Ingest", "取り込み"),
    "ov_detection": ("Detection", "検知"),
    "ov_events": ("events", "件のイベント"),
    "ov_files": ("files", "ファイル"),
    "ov_segments": ("segments", "セグメント"),
    "ov_quarantined": ("quarantined", "隔離"),
    "ov_failed_files": ("files that failed:", "失敗したファイル:"),
    "ov_last": ("last", "最終"),
    "ov_never": ("never run", "未実行"),
    "ov_pending": ("not yet judged:", "未判定:"),
    "ov_up_to_date": ("every segment judged", "全セグメント判定済み"),
    "source": ("Source", "ソース"),
    "level": ("Level", "レベル"),
    "organisation": ("Organisation", "組織"),
    "organisations": ("Organisations", "組織"),
    "since": ("From", "開始"),
    "until": ("To", "終了"),
    "search": ("Search", "検索"),
    "attack_filter": ("ATT&CK", "ATT&CK"),
    "filter": ("Filter", "絞り込み"),
    "any": ("any", "すべて"),
    "time": ("Time", "時刻"),
    "title": ("Title", "タイトル"),
    "host": ("Host", "ホスト"),
    "account": ("Account", "アカウント"),
    "count": ("Count", "件数"),
    "next": ("Next", "次へ"),
    "previous": ("Previous", "前へ"),
    "evidence": ("Evidence", "証跡"),
    "description": ("Description", "説明"),
    "status": ("Status", "状態"),
    "created": ("Created", "作成"),
    "timeline": ("Timeline", "タイムライン"),
    "actions": ("Containment actions", "封じ込め措置"),
    "none": ("None.", "なし。"),
    "roles": ("Roles", "ロール"),
    "disabled": ("Disabled", "無効"),
    "create": ("Create", "作成"),
    "save": ("Save", "保存"),
    "one_time": (
        "One-time password (shown once; to be changed at first sign-in):",
        "ワンタイムパスワード(一度だけ表示。初回サインイン時に変更):",
    ),
    "token_once": ("Your new token (shown once):", "新しいトークン(一度だけ表示):"),
    "name": ("Name", "名前"),
    "revoke": ("Revoke", "失効"),
    "revoked": ("revoked", "失効済み"),
    "verify_ok": ("The audit chain verifies.", "監査チェーンの検証に成功しました。"),
    "verify_bad": ("The audit chain does not verify:", "監査チェーンの検証に失敗しました:"),
    "entries": ("entries", "件"),
    "forbidden": ("You may not see this page.", "このページを表示する権限がありません。"),
    "not_found": ("Not found.", "見つかりません。"),
    "bad_request": ("The request was refused.", "リクエストは拒否されました。"),
    "error": ("The request could not be done:", "リクエストを実行できませんでした:"),
    "language": ("日本語", "English"),
    "page": ("Page", "ページ"),
    "alerts_in_case": ("Alerts in this case", "このケースのアラート"),
    "field": ("Field", "フィールド"),
    "value": ("Value", "値"),
    "no_alerts": ("No alerts yet.", "アラートはまだありません。"),
}


def language(requested: str | None) -> str:
    return requested if requested in LANGUAGES else "en"


def add_messages(messages: dict[str, tuple[str, str]]) -> None:
    """A page module's own words (key: (en, ja)), added when it is imported; a key is defined once."""
    clash = sorted(messages.keys() & MESSAGES.keys())
    if clash:
        raise ValueError(f"messages defined twice: {', '.join(clash)}")
    MESSAGES.update(messages)


def translate(lang: str, key: str) -> str:
    pair = MESSAGES.get(key)
    if pair is None:
        return key
    return pair[1] if lang == "ja" else pair[0]
