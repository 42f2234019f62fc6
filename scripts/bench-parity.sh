#!/usr/bin/env bash
# Times `provcheck parity` on two copies of a tree against one `check` of
# it (release build), in alternating rounds; prints each run and the
# medians. Usage: scripts/bench-parity.sh TREE [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
tree=${1:?usage: scripts/bench-parity.sh TREE [ROUNDS]}
rounds=${2:-7}
cargo build --release --quiet
bin=$PWD/target/release/provcheck
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -rL "$tree" "$work/staging"
cp -rL "$tree" "$work/production"
checks=() parities=()
for _ in $(seq "$rounds"); do
  start=$(date +%s.%N)
  "$bin" check --format json -o "$work/check.json" "$work/staging" >/dev/null 2>&1 || true
  mid=$(date +%s.%N)
  "$bin" parity "$work/staging" "$work/production" --all --format json -o "$work/parity.json" >/dev/null 2>&1 || true
  end=$(date +%s.%N)
  checks+=("$(awk -v a="$start" -v b="$mid" 'BEGIN {printf "%.3f", b - a}')")
  parities+=("$(awk -v a="$mid" -v b="$end" 'BEGIN {printf "%.3f", b - a}')")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
c=$(median "${checks[@]}")
p=$(median "${parities[@]}")
echo "check:  ${checks[*]}"
echo "parity: ${parities[*]}"
echo "median check ${c} s, parity ${p} s, ratio $(awk -v c="$c" -v p="$p" 'BEGIN {printf "%.2f", p / c}')"
