#!/usr/bin/env bash
# Times `provcheck diff` on two copies of a tree against one `check` of
# it (release build), in alternating rounds; prints each run and the
# medians. Usage: scripts/bench-diff.sh TREE [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
tree=${1:?usage: scripts/bench-diff.sh TREE [ROUNDS]}
rounds=${2:-7}
cargo build --release --quiet
bin=$PWD/target/release/provcheck
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -rL "$tree" "$work/a"
cp -rL "$tree" "$work/b"
checks=() diffs=()
for _ in $(seq "$rounds"); do
  start=$(date +%s.%N)
  "$bin" check --format json -o "$work/check.json" "$work/a" >/dev/null 2>&1 || true
  mid=$(date +%s.%N)
  "$bin" diff "$work/a" "$work/b" --format json -o "$work/diff.json" >/dev/null 2>&1 || true
  end=$(date +%s.%N)
  checks+=("$(awk -v a="$start" -v b="$mid" 'BEGIN {printf "%.3f", b - a}')")
  diffs+=("$(awk -v a="$mid" -v b="$end" 'BEGIN {printf "%.3f", b - a}')")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
c=$(median "${checks[@]}")
d=$(median "${diffs[@]}")
echo "check: ${checks[*]}"
echo "diff:  ${diffs[*]}"
echo "median check ${c} s, diff ${d} s, ratio $(awk -v c="$c" -v d="$d" 'BEGIN {printf "%.2f", d / c}')"
