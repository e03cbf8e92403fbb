#!/usr/bin/env bash
# Set up a fresh machine: system FluidSynth (where missing), a virtual environment in .venv, and the package.
# Used by `make setup`; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

apt_install() {
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if [ "${1:-}" = "--browser" ]; then
    # The report's and the explorer's browser tests (JupyterLab and `auralisation explore`, through Playwright)
    # open pages in headless Chromium; they skip (with a reason) where none can be installed. Playwright comes
    # from requirements.txt and drives this chromium: never run `playwright install`.
    if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
        if command -v apt-get >/dev/null 2>&1; then
            echo "setup: installing Debian's chromium for the browser tests (report, explorer)"
            apt_install chromium || echo "setup: warning: chromium could not be installed; the browser tests will skip" >&2
        else
            echo "setup: no apt-get: the browser tests (report, explorer) will skip unless chromium is on PATH" >&2
        fi
    fi
    exit 0
fi

have_fluidsynth() {
    ldconfig -p 2>/dev/null | grep -q 'libfluidsynth\.so' && return 0
    ls /opt/homebrew/lib/libfluidsynth* /usr/local/lib/libfluidsynth* >/dev/null 2>&1
}

if ! have_fluidsynth; then
    echo "setup: FluidSynth library not found; installing it (and the FluidR3 General MIDI soundfont)"
    if command -v apt-get >/dev/null 2>&1; then
        apt_install libfluidsynth3 fluid-soundfont-gm
    elif command -v brew >/dev/null 2>&1; then
        brew install fluid-synth
    else
        echo "setup: error: cannot install FluidSynth on this system automatically." >&2
        echo "       Install the FluidSynth library (libfluidsynth) with your package manager, then run again." >&2
        exit 1
    fi
fi

if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' || {
        echo "setup: error: Python 3.10 or newer is needed (found $("$PYTHON" --version)); set PYTHON=/path/to/python3.x" >&2
        exit 1
    }
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r requirements.txt
.venv/bin/python -m pip install -q --no-deps -r requirements-nodeps.txt
.venv/bin/python -m pip install -q --no-deps -e .
touch .venv/.installed
echo "setup: done (.venv ready)"
