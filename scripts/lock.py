"""Write requirements.lock: every package requirements.txt needs, resolved by pip and pinned (``make lock``).

The lock is for the supported platform only, Linux x86_64 and CPython 3.11, and is resolved on it, by this
machine's pip with its own configuration (index, find-links, constraints), so what it pins is what such a machine
installs. Packages installed with ``--no-deps`` (their metadata pins versions nothing else can meet) are not
resolved here and are not in the lock; setup installs them from their own file after it.

Run it after changing requirements.txt: ``make lock`` (or ``.venv/bin/python scripts/lock.py``).
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "requirements.txt"
LOCK = ROOT / "requirements.lock"
PLATFORM = ("Linux", "x86_64", (3, 11))

HEADER = """\
# requirements.lock: every package that requirements.txt needs, pinned, for Linux x86_64 and CPython 3.11.
# Generated from requirements.txt by pip's resolver (this machine's index, find-links and constraints); do not edit.
# Refresh it after changing requirements.txt, on Linux x86_64 with CPython 3.11:
#     make lock        (that is: .venv/bin/python scripts/lock.py)
# scripts/setup.sh installs it (pip install -r requirements.lock); packages installed with --no-deps are not in it.
"""


def main() -> int:
    """Resolve requirements.txt with pip (a dry run that installs nothing) and write the pins to the lock."""
    here = (platform.system(), platform.machine(), sys.version_info[:2])
    if sys.implementation.name != "cpython" or here != PLATFORM:
        print(f"lock: the lock is for CPython 3.11 on Linux x86_64; this is {sys.implementation.name} "
              f"{here[2][0]}.{here[2][1]} on {here[0]} {here[1]}: run it on the supported platform", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.json"
        subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
                        "--report", str(report), "-r", str(REQUIREMENTS)], check=True)
        resolved = json.loads(report.read_text(encoding="utf-8"))["install"]
    pins = [(item["metadata"]["name"], item["metadata"]["version"]) for item in resolved]
    lines = [f"{name}=={version}" for name, version in sorted(pins, key=lambda pin: pin[0].lower())]
    LOCK.write_text(HEADER + "\n".join(lines) + "\n", encoding="utf-8")
    print(f"lock: wrote {len(lines)} pins to {LOCK.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
