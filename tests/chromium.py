"""Loading a static page in Debian's headless Chromium, for the tests of the report and the atlas."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

#: Debian's chromium, or None (the tests that need it skip).
CHROMIUM = shutil.which("chromium")

#: Headless, no sandbox (root in CI), nothing fetched in the background, a few seconds of virtual time for scripts.
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--virtual-time-budget=5000",
]

#: Why a Chromium test is skipped.
NO_CHROMIUM = "Debian's `chromium` is not installed (apt-get install -y chromium)"


def run_chromium(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Open ``page`` in headless Chromium with the profile folder ``profile``; its console goes to stderr."""
    return subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *extra,
         page.resolve().as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )
