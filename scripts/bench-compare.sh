#!/usr/bin/env bash
# Times a comparing command (`diff` or `parity`) on two copies of a tree
# against one `check` of it (the `dist` build), in alternating rounds; prints
# each run and the medians.
# Usage: scripts/bench-compare.sh diff|parity TREE [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
usage="usage: scripts/bench-compare.sh diff|parity TREE [ROUNDS]"
command=${1:?$usage}
tree=${2:?$usage}
rounds=${3:-7}
case "$command" in
  diff) extra=() ;;
  parity) extra=(--all) ;;
  *) echo "$usage" >&2; exit 2 ;;
esac
cargo build --profile dist --quiet
bin=$PWD/target/dist/provcheck
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -rL "$tree" "$work/a"
cp -rL "$tree" "$work/b"
checks=() compared=()
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", b - a}'; }
for _ in $(seq "$rounds"); do
  start=$(date +%s.%N)
  "$bin" check --format json -o "$work/check.json" "$work/a" >/dev/null 2>&1 || true
  mid=$(date +%s.%N)
  "$bin" "$command" "$work/a" "$work/b" "${extra[@]}" --format json -o "$work/out.json" \
    >/dev/null 2>&1 || true
  end=$(date +%s.%N)
  checks+=("$(elapsed "$start" "$mid")")
  compared+=("$(elapsed "$mid" "$end")")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
c=$(median "${checks[@]}")
m=$(median "${compared[@]}")
echo "check:    ${checks[*]}"
echo "$command: ${compared[*]}"
echo "median check ${c} s, $command ${m} s, ratio $(awk -v c="$c" -v m="$m" 'BEGIN {printf "%.2f", m / c}')"
