"""The browser the portal tests drive: Debian's Chromium, and a loud failure when CI lacks it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


async def test_portal_chromium_renders_chinese(browser):
    page = await browser.new_page()
    try:
        await page.set_content("<p id=t style='font-size:40px'>舟山市产业创新中心</p>")
        width = await page.locator("#t").evaluate("e => e.getBoundingClientRect().width")
        assert width > 9 * 30  # nine wide glyphs: a CJK font is installed (fonts-noto-cjk)
    finally:
        await page.close()


def _run_without_chromium(require: bool) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CHROMIUM_PATH": "/nonexistent/chromium"}
    env.pop("CENTERS_REQUIRE_BROWSER", None)
    if require:
        env["CENTERS_REQUIRE_BROWSER"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/portal/test_portal_browser.py::test_portal_chromium_renders_chinese"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=240)


def test_portal_tests_fail_loudly_without_chromium_when_required():
    required = _run_without_chromium(require=True)
    assert required.returncode == 1, required.stdout[-2000:]
    assert "CENTERS_REQUIRE_BROWSER=1 and Chromium not found" in required.stdout
    relaxed = _run_without_chromium(require=False)
    assert relaxed.returncode == 0 and "1 skipped" in relaxed.stdout, relaxed.stdout[-2000:]
