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

# The default data is rendered with the FluidR3 General MIDI soundfont (the path auralisation.synth.fluid reads);
# data rendered with another one says so in its manifest.
SOUNDFONT=/usr/share/sounds/sf2/FluidR3_GM.sf2
missing=()
have_fluidsynth || missing+=(libfluidsynth3)
[ -f "$SOUNDFONT" ] || missing+=(fluid-soundfont-gm)
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]} (FluidSynth and the FluidR3 General MIDI soundfont the default data needs)"
    if command -v apt-get >/dev/null 2>&1; then
        apt_install "${missing[@]}"
    elif command -v brew >/dev/null 2>&1; then
        have_fluidsynth || brew install fluid-synth
        [ -f "$SOUNDFONT" ] || echo "setup: warning: no FluidR3_GM soundfont on this system; the default data will be" \
            "rendered with pretty_midi's TimGM6mb (its manifest says so): set AURALISATION_SOUNDFONT to FluidR3_GM.sf2" >&2
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
# requirements.lock pins every package for the supported platform (Linux x86_64, CPython 3.11; `make lock`
# refreshes it); elsewhere the ranges of requirements.txt are resolved afresh.
if .venv/bin/python -c 'import platform, sys; sys.exit(not (platform.system(), platform.machine(), sys.version_info[:2]) == ("Linux", "x86_64", (3, 11)))'; then
    .venv/bin/python -m pip install -q -r requirements.lock
else
    echo "setup: warning: requirements.lock is for Linux x86_64 and CPython 3.11; installing the unpinned ranges of requirements.txt" >&2
    .venv/bin/python -m pip install -q -r requirements.txt
fi
# Outside the resolver (their metadata pins versions nothing else can meet): see requirements-nodeps.txt.
.venv/bin/python -m pip install -q --no-deps -r requirements-nodeps.txt
.venv/bin/python -m pip install -q --no-deps -e .
touch .venv/.installed
echo "setup: done (.venv ready)"
