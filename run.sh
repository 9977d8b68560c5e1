#!/usr/bin/env bash
# Set up (first time) and launch motet on the bundled demo recording (or FILE).
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
exec .venv/bin/motet gui "$@"
