"""What the browser tests share: Debian's Chromium and chromedriver (required when
SEKIMORI_REQUIRE_SERVERS is set, else the test is skipped), the app served by uvicorn on a free loopback
port, and a headless Chromium that keeps the browser console for the tests to read."""

from __future__ import annotations

import hashlib
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

import pytest
import uvicorn

from sekimori.report import find_japanese_font

if TYPE_CHECKING:
    from selenium.webdriver import Chrome

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


def require_browser(chromium: Path = CHROMIUM, chromedriver: Path = CHROMEDRIVER) -> None:
    missing = [str(p) for p in (chromium, chromedriver) if not p.exists()]
    if not missing:
        return
    reason = f"{', '.join(missing)} absent (apt-get install chromium chromium-driver)"
    if os.environ.get("SEKIMORI_REQUIRE_SERVERS"):
        pytest.fail(f"SEKIMORI_REQUIRE_SERVERS is set but {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """``app`` served by uvicorn on loopback, in a thread; its base URL while the block runs."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def chromium(downloads: Path | None = None, height: int = 1000) -> Chrome:
    """A headless Chromium whose console messages the test can read (``driver.get_log("browser")``);
    ``downloads``: where it saves downloads without asking. Its fonts are the one installed from PyPI
    with sekimori (the machine's may be none: Chromium's renderer dies without a font)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size=1400,{height}",
    ):
        options.add_argument(arg)
    if downloads is not None:
        prefs = {"download.default_directory": str(downloads), "download.prompt_for_download": False}
        options.add_experimental_option("prefs", prefs)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    env = {**os.environ, "FONTCONFIG_FILE": str(_fontconfig())}
    return webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER), env=env))


def left(element: Any) -> Callable[[object], bool]:
    """A condition for ``WebDriverWait.until``: ``element``'s page has been left (the element is stale).
    Selenium's ``staleness_of`` counts only StaleElementReferenceException; Chromium also answers "Node
    with given id does not belong to the document" while the next page loads, a WebDriverException."""
    from selenium.common.exceptions import WebDriverException

    def gone(_driver: object) -> bool:
        try:
            element.is_enabled()
        except WebDriverException:
            return True
        return False

    return gone


def allow_downloads(driver: Chrome, folder: Path) -> None:
    """Tell ``driver`` through DevTools to save downloads into ``folder`` without asking, beside the prefs
    :func:`chromium` sets (which a headless Chromium does not always honour)."""
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(folder)})


def downloaded(folder: Path, name: str) -> Callable[[object], Path | None]:
    """A condition for ``WebDriverWait.until``: ``folder / name`` once Chromium has written it whole (it
    writes a ``.crdownload`` and renames it when done), else None."""

    def done(_driver: object) -> Path | None:
        target = folder / name
        if target.is_file() and not any(folder.glob("*.crdownload")):
            return target
        return None

    return done


def _fontconfig() -> Path:
    """A fontconfig file naming only the folder of the Japanese font sekimori installs (written once per
    font folder: another checkout's environment gets its own)."""
    fonts = find_japanese_font().parent
    key = hashlib.sha256(str(fonts).encode()).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / f"sekimori-test-fonts-{os.getuid()}-{key}"
    conf = folder / "fonts.conf"
    if not conf.exists():
        folder.mkdir(exist_ok=True)
        text = (
            f'<?xml version="1.0"?>\n<fontconfig><dir>{escape(str(fonts))}</dir>'
            f"<cachedir>{escape(str(folder / 'cache'))}</cachedir></fontconfig>\n"
        )
        partial = conf.with_suffix(f".{os.getpid()}")
        partial.write_text(text, encoding="utf-8")
        partial.replace(conf)  # whole or absent, whichever test writes it
    return conf
