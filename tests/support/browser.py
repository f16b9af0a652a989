"""Debian's headless Chromium driven by Playwright for Python, for the tests that need a real
browser (tests/web/test_browser.py, tests/reconcile/test_openrefine.py).

Chromium comes from Debian (`.ci/run` installs it); Playwright only drives it, so its own
browser download (`playwright install`) is never needed. Where Chromium, Playwright or (for
tests that load our pages) the built assets are missing, `chromium()` fails the test when
GROS_REQUIRE_BROWSER=1 or CI is set (`.ci/run` sets the first) and skips it elsewhere, saying
why: a developer's machine may legitimately lack a browser.
"""
from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]


def missing(assets: bool) -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not CHROMIUM.exists() and not shutil.which("chromium"):
        return "Debian's chromium is not installed (apt-get install chromium; .ci/run does it)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    if assets:
        from gros.web.rendering import assets_built
        if not assets_built():
            return "the browser assets are not built (make install)"
    return None


@contextmanager
def chromium(assets: bool = True):
    """A launched headless Chromium (Playwright's Browser), closed afterwards; `assets`: the
    tests load our pages, so the built browser assets must be there too."""
    reason = missing(assets)
    if reason:
        if os.environ.get("GROS_REQUIRE_BROWSER") == "1" or os.environ.get("CI"):
            pytest.fail(f"{reason}; GROS_REQUIRE_BROWSER=1 or CI is set, so the browser tests must run")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM if CHROMIUM.exists() else shutil.which("chromium")), args=ARGS)
        try:
            yield browser
        finally:
            browser.close()
