#!/usr/bin/env bash
# One entry point for a fresh Debian machine (root, Python 3.11, maybe no display):
#   ./dev.sh app    set everything up, then open nnstudio with an example project
#   ./dev.sh test   set everything up, then run the whole test suite
# Set-up is idempotent: system packages are installed only when missing, and the virtual
# environment (.venv) is refreshed only when pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")"

# Libraries Qt needs to run (offscreen included) and fonts; see shared/ENVIRONMENT.md.
QT_PACKAGES="libgl1 libegl1 libx11-6 libx11-xcb1 libdbus-1-3 libfontconfig1 libfreetype6 \
libglib2.0-0 libxkbcommon0 fonts-dejavu-core"
# A real X11 window (and Xvfb when there is no screen).
X11_PACKAGES="libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-render-util0 \
libxcb-render0 libxcb-shape0 libxcb-util1 libxcb-xkb1 libxkbcommon-x11-0 libxcb-randr0 \
libxcb-xfixes0 libxcb-sync1 libxcb-xinerama0 xvfb xauth"
PY=${PYTHON:-python3}
# Building the installer in the packaging tests: PyInstaller reads binaries with objdump and
# bundles the shared libpython, which Debian's python3.X does not install by itself.
PYVER=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
BUILD_PACKAGES="binutils libpython$PYVER"
# The sound-dataset tests synthesise spoken words.
TEST_PACKAGES="espeak-ng"

need_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "==> installing Debian packages: ${missing[*]}"
        need_root apt-get update -qq
        DEBIAN_FRONTEND=noninteractive need_root apt-get install -y -qq \
            --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

setup_venv() {
    local extras=$1
    if ! "$PY" -c "import venv, ensurepip" 2>/dev/null; then
        apt_install python3-venv
    fi
    [ -x .venv/bin/python ] || "$PY" -m venv .venv
    local stamp=".venv/.nnstudio-$extras-$(sha256sum pyproject.toml | cut -c1-16)"
    if [ ! -f "$stamp" ]; then
        echo "==> installing Python packages into .venv ($extras)"
        .venv/bin/python -m pip install -q --upgrade pip
        .venv/bin/python -m pip install -q -e ".[$extras]"
        rm -f .venv/.nnstudio-"$extras"-*
        touch "$stamp"
    fi
}

case "${1:-}" in
    app)
        shift
        apt_install $QT_PACKAGES $X11_PACKAGES
        setup_venv test
        if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
            echo "==> no display: running nnstudio on a virtual screen (Xvfb);"
            echo "    a screenshot of the window is written to nnstudio-screenshot.png"
            exec xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/nnstudio \
                --example --screenshot nnstudio-screenshot.png "$@"
        fi
        exec .venv/bin/nnstudio --example "$@"
        ;;
    test)
        shift
        apt_install $QT_PACKAGES $BUILD_PACKAGES $TEST_PACKAGES
        setup_venv test
        export QT_QPA_PLATFORM=offscreen
        # Lint and tests both run, so one run reports everything; either failing fails it.
        lint=0
        .venv/bin/ruff check . || lint=$?
        tests=0
        .venv/bin/python -m pytest "$@" || tests=$?
        [ "$lint" -eq 0 ] || echo "ruff reported problems (see above)" >&2
        exit $(( tests != 0 ? tests : lint ))
        ;;
    *)
        echo "usage: ./dev.sh app | test" >&2
        exit 2
        ;;
esac
