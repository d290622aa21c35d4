"""Headless Debian Chromium for the browser tests: where it is, how it starts, and the `browser`
fixture's body (conftest.py). Never a downloaded browser build: no `playwright install` here."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",  # no lookups outside this machine
]
SHOTS = Path(__file__).resolve().parents[1] / "test-output" / "screenshots"
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


def launched_chromium() -> Iterator:
    """A launched browser; the test skips without Chromium, and fails under RECTIFY_REQUIRE_BROWSER=1."""
    if not CHROMIUM.exists():
        if os.environ.get("RECTIFY_REQUIRE_BROWSER") == "1":
            pytest.fail(f"RECTIFY_REQUIRE_BROWSER=1 but {CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield b
        finally:
            b.close()
