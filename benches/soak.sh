#!/usr/bin/env bash
# The soak under faults (benches/examples/soak.rs): a hyper server on
# tasklane under wrk for SECS seconds while the same process resets
# clients mid-request, holds slowloris connections, bursts past its
# descriptor limit, and cancels, aborts and panics tasks; then checks that
# tasks, descriptors and RSS came back and that no request was answered
# twice. Exits non-zero on a failed check.
#
# Usage: benches/soak.sh [SECS]          (default 30; docs/benchmarks.md has
#                                         a 600-second run)
# Environment: CONNS (wrk -c, default 32), WORKERS (default 2).
# Installs wrk with apt-get if it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${1:-30}"
case "$secs" in
  '' | *[!0-9]*) echo "usage: $0 [SECS]" >&2; exit 2 ;;
esac

if ! command -v wrk >/dev/null; then
  echo "== installing wrk" >&2
  apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi

cargo build -q --release -p tasklane-benches --example soak
"${CARGO_TARGET_DIR:-target}/release/examples/soak" --secs "$secs" \
  --conns "${CONNS:-32}" --workers "${WORKERS:-2}"
