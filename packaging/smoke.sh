#!/usr/bin/env bash
# Start the built app offscreen on the demo, let it open the recording, take a screenshot and quit;
# fails unless the window came up with the demo open.
#   bash packaging/smoke.sh [dist/motet/motet]
set -euo pipefail
app="${1:-dist/motet/motet}"
out="$(mktemp -d)"
export QT_QPA_PLATFORM=offscreen HOME="$out" XDG_STATE_HOME="$out/state" XDG_CONFIG_HOME="$out/config"
log="$out/log.txt"
if ! timeout 180 "$app" gui --quit-after 15 --screenshot "$out/window.png" >"$log" 2>&1; then
    cat "$log"; echo "smoke: FAILED (the app did not exit cleanly)"; exit 1
fi
grep -q "motet gui: up, 'choir-demo.flac" "$log" || { cat "$log"; echo "smoke: FAILED (demo not open)"; exit 1; }
[ -s "$out/window.png" ] || { echo "smoke: FAILED (no screenshot)"; exit 1; }
grep "motet gui: up" "$log"
echo "smoke: OK (screenshot $out/window.png)"
