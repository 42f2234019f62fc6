#!/usr/bin/env bash
# Time and peak memory of `check` and `inspect` (the `dist` build) on
# trees: wall and CPU seconds and peak resident memory (MiB), the median
# of ROUNDS runs each, `check` and `inspect` in alternating turns.
#
# Usage: scripts/bench-memory.sh [--rounds N] TREE...
#
# The trees of ../shared/bench/README.md and a synthetic monorepo from
# scripts/monorepo.py are what the README's "Performance" figures use:
#   python3 scripts/monorepo.py /tmp/mono --files 100000
#   scripts/bench-memory.sh ../corpora/_views/terraform-all /tmp/mono
# Needs GNU time (/usr/bin/time, Debian's `time` package).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=3
if [ "${1:-}" = "--rounds" ]; then
  rounds=${2:?usage: scripts/bench-memory.sh [--rounds N] TREE...}
  shift 2
fi
[ $# -gt 0 ] || { echo "usage: scripts/bench-memory.sh [--rounds N] TREE..." >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "GNU time is needed: apt-get install time" >&2; exit 2; }
cargo build --profile dist --quiet
bin=$PWD/target/dist/provcheck
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One run: "wall cpu rss_kib" on standard output (GNU time writes a
# line before its figures when the command exits non-zero).
measure() {
  /usr/bin/time -f '%e %U %S %M' -o "$work/time" "$bin" "$@" >/dev/null 2>&1 || true
  tail -n 1 "$work/time" | awk '{printf "%s %.2f %s\n", $1, $2 + $3, $4}'
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf '%-28s %-8s %8s %8s %9s\n' tree command wall_s cpu_s peak_MiB
for tree in "$@"; do
  files=$(find -L "$tree" -type f | wc -l)
  : >"$work/check" && : >"$work/inspect"
  for _ in $(seq "$rounds"); do
    measure check --format json -o "$work/out.json" "$tree" >>"$work/check"
    measure inspect --format json -o "$work/out.json" "$tree" >>"$work/inspect"
  done
  for command in check inspect; do
    wall=$(awk '{print $1}' "$work/$command" | median)
    cpu=$(awk '{print $2}' "$work/$command" | median)
    rss=$(awk '{print $3}' "$work/$command" | median)
    printf '%-28s %-8s %8s %8s %9.0f\n' "$(basename "$tree") ($files)" "$command" \
      "$wall" "$cpu" "$(awk -v k="$rss" 'BEGIN {print k / 1024}')"
  done
done
