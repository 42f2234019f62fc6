#!/usr/bin/env bash
# Renders the inspection report of fixtures/ and takes the picture the
# README shows, docs/inspect-report.png, with headless Chromium (Debian's
# `chromium` package; set CHROMIUM to use another binary).
set -euo pipefail
cd "$(dirname "$0")/.."

chromium=${CHROMIUM:-/usr/bin/chromium}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The fixtures hold findings and broken files, so inspect exits 1 or 2;
# the report is written all the same.
cargo run --quiet -- inspect fixtures --title "Fixtures: example inspection" \
  --output "$work/report.html" 2>/dev/null || true
test -s "$work/report.html"

mkdir -p docs
timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic \
  --no-first-run --disable-background-networking --disable-component-update \
  --disable-sync --hide-scrollbars --user-data-dir="$work/profile" \
  --window-size=1280,1800 --screenshot="$PWD/docs/inspect-report.png" \
  "file://$work/report.html" 2>/dev/null
echo "wrote docs/inspect-report.png"
