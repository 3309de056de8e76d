#!/usr/bin/env bash
# Runs the rt_compare and timers benchmarks K times (default 3), saves each run's
# medians to target/bench-runs/run-<i>.json, then prints the median over
# runs of each median, with tasklane/tokio and tasklane/smol ratios.
#
# Usage: benches/run.sh [K] [-- extra criterion args]
# The TASKLANE_BENCH_* variables (see benches/benches/rt_compare.rs) are
# passed through, e.g. TASKLANE_BENCH_WORKERS=4 benches/run.sh 5
set -euo pipefail

cd "$(dirname "$0")/.."
k="${1:-3}"
shift || true
[ "${1:-}" = "--" ] && shift
case "$k" in
  '' | *[!0-9]* | 0) echo "usage: $0 [K>0] [-- criterion args]" >&2; exit 2 ;;
esac

target="${CARGO_TARGET_DIR:-target}"
out="$target/bench-runs"
mkdir -p "$out"
rm -f "$out"/run-*.json

runs=()
for i in $(seq 1 "$k"); do
  echo "== rt_compare run $i of $k" >&2
  start=$(date +%s)
  cargo bench -p tasklane-benches --bench rt_compare --bench timers -- "$@"
  python3 benches/ratios.py --since "$start" --save "$out/run-$i.json" >/dev/null
  runs+=("$out/run-$i.json")
done

echo
python3 benches/ratios.py --runs "${runs[@]}"
