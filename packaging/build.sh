#!/usr/bin/env bash
# Build the self-contained Linux app folder dist/motet/ from this checkout, then smoke-test it.
#   bash packaging/build.sh          # uses .venv (made by ./run.sh or ./test.sh), adds PyInstaller to it
# Result: dist/motet/motet (the app), dist/motet/motet.desktop, dist/motet/motet.png, dist/motet/install.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    bash scripts/setup.sh
fi
.venv/bin/python -m pip show pyinstaller >/dev/null 2>&1 || .venv/bin/python -m pip install -q "pyinstaller>=6"
start=$(date +%s)
.venv/bin/pyinstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build/pyinstaller \
    packaging/motet.spec
cp packaging/motet.desktop dist/motet/motet.desktop
cp assets/icons/motet-256.png dist/motet/motet.png
cat > dist/motet/install.sh <<'INSTALL'
#!/usr/bin/env bash
# Install the desktop entry and icon for this user (the app stays in this folder).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p ~/.local/share/applications ~/.local/share/icons/hicolor/256x256/apps
sed "s|^Exec=motet|Exec=$here/motet|" "$here/motet.desktop" > ~/.local/share/applications/motet.desktop
cp "$here/motet.png" ~/.local/share/icons/hicolor/256x256/apps/motet.png
echo "installed: ~/.local/share/applications/motet.desktop"
INSTALL
chmod +x dist/motet/install.sh
echo "built dist/motet in $(( $(date +%s) - start )) s, size $(du -sh dist/motet | cut -f1)"
bash packaging/smoke.sh dist/motet/motet
