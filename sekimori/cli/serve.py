"""``sekimori serve``: the web face over a store and its case database (``docs/web.md``)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated

import typer

from sekimori.cli.app import app
from sekimori.cli.common import console, fail, out


@app.command()
def serve(
    store: Annotated[
        Path | None, typer.Option("--store", "-s", envvar="SEKIMORI_STORE", help="Store directory.")
    ] = None,
    db: Annotated[
        str | None, typer.Option("--db", help="Case database URL (default: sqlite in the store's cases.db).")
    ] = None,
    model: Annotated[Path | None, typer.Option("--model", "-m", help="Group model (organisations).")] = None,
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.", min=1, max=65535)] = 8000,
    demo: Annotated[
        bool, typer.Option("--demo", help="Build/open the demo's store; create a first admin.")
    ] = False,
    create_admin: Annotated[
        str | None, typer.Option("--create-admin", help="Create this admin if there is no user yet.")
    ] = None,
    secure_cookies: Annotated[
        bool, typer.Option("--secure-cookies", help="Behind a TLS reverse proxy: Secure cookies, HSTS.")
    ] = False,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(help="Addresses of the reverse proxy whose X-Forwarded-For is trusted."),
    ] = None,
    warm: Annotated[
        bool,
        typer.Option(
            help="At start, work out in the background the group graph, the events' attribution, the "
            "alerts' scope and today's findings, so the first requests do not wait for them."
        ),
    ] = True,
) -> None:
    """Serve the web workspace (alerts, cases, graph, contractors, reports, events, API) on HOST:PORT; see
    docs/web.md."""
    import uvicorn

    from sekimori.respond import os_principal
    from sekimori.web import WebSettings, create_app, open_state

    if demo:
        from sekimori.demo import demo_model_path, run_demo

        store = store or Path("sekimori-demo-store")
        console.print(f"building the demo store in {store} …")
        run_demo(store)
        model = model or demo_model_path()
        create_admin = create_admin or "admin"
    if store is None:
        raise fail("give --store (or --demo)")
    if not store.is_dir():
        raise fail(f"{store}: no store here (ingest first, or use --demo)")
    settings = WebSettings(store=store, database=db or "", model=model, secure_cookies=secure_cookies)
    state = open_state(settings)
    if create_admin and not state.accounts.users():
        one_time = state.accounts.create_user(os_principal(), create_admin, {"admin"}, set())
        out.print(f"first admin: [bold]{create_admin}[/]  one-time password: [bold]{one_time}[/]")
        out.print("(shown once; it must be changed at first sign-in)")
    if host not in ("127.0.0.1", "::1", "localhost"):
        console.print(f"[yellow]listening on {host}: put a TLS reverse proxy in front (--secure-cookies)[/]")
    console.print(f"sekimori web: http://{host}:{port}/")
    web_app = create_app(settings, state)
    if warm:
        from sekimori.web.warm import warm_caches

        def told(part: str, seconds: float) -> None:
            console.print(f"[dim]ready: {part} ({seconds:.1f} s)[/]")

        threading.Thread(target=warm_caches, args=(web_app, told), name="sekimori-warm", daemon=True).start()
    uvicorn.run(
        web_app,
        host=host,
        port=port,
        proxy_headers=forwarded_allow_ips is not None,
        forwarded_allow_ips=forwarded_allow_ips,
        server_header=False,
        log_level="info",
    )
