#!/usr/bin/env bash
# Idempotent setup: system packages (PortAudio, Qt runtime libraries), a virtual environment in the checkout,
# and motet installed into it. Works offline once it has run.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(libportaudio2 libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3
              libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0 libxcb-randr0
              libxcb-render-util0 libxcb-image0 fluid-soundfont-gm libfluidsynth3)

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
    for p in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
fi
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "motet setup: installing system packages: ${missing[*]}"
        (apt-get install -y -q "${missing[@]}" >/dev/null 2>&1) || \
            (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q "${missing[@]}" >/dev/null 2>&1) || \
            echo "motet setup: warning: could not install ${missing[*]} (offline?); continuing" >&2
    else
        echo "motet setup: please run: sudo apt-get install -y ${missing[*]}" >&2
    fi
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=.venv/.motet-installed
want=$(cat pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "motet setup: installing Python packages into .venv"
    .venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
    log=.venv/motet-pip.log
    if ! .venv/bin/python -m pip install -q -e ".[test]" >"$log" 2>&1; then
        tail -n 30 "$log" >&2
        echo "motet setup: pip install failed (full log: $log)" >&2
        exit 1
    fi
    echo "$want" > "$stamp"
fi
