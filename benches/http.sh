#!/usr/bin/env bash
# The same hyper "Hello, World!" HTTP/1.1 server (benches/examples/http_hello.rs)
# on tasklane and on tokio, 2 workers each, loaded by wrk in interleaved
# rounds (the order alternates each round) at each connection count. Prints
# the median requests/s, p50 and p99 latency per runtime and the
# tasklane/tokio ratios, and saves every wrk output under
# target/bench-runs/http/.
#
# Usage: benches/http.sh [ROUNDS]          (default 5 rounds)
# Environment: CONNS (default "64 256"), DURATION (wrk -d, default 5s),
#              WORKERS (server workers, default 2), WRK_THREADS (default 1).
# Installs wrk with apt-get if it is missing. Every server it starts is
# killed when it exits.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds="${1:-5}"
conns="${CONNS:-64 256}"
duration="${DURATION:-5s}"
workers="${WORKERS:-2}"
wrk_threads="${WRK_THREADS:-1}"
case "$rounds" in
  '' | *[!0-9]* | 0) echo "usage: $0 [ROUNDS>0]" >&2; exit 2 ;;
esac

if ! command -v wrk >/dev/null; then
  echo "== installing wrk" >&2
  apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi

cargo build -q --release -p tasklane-benches --example http_hello
bin="${CARGO_TARGET_DIR:-target}/release/examples/http_hello"
out="${CARGO_TARGET_DIR:-target}/bench-runs/http"
rm -rf "$out"
mkdir -p "$out"

server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true; }
trap cleanup EXIT

port=18080
one_run() { # runtime conns round
  local rt=$1 c=$2 r=$3 log
  port=$((port + 1))
  log="$out/server-$rt-c$c-r$r.log"
  "$bin" "$rt" "$port" "$workers" >"$log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 200); do
    grep -q "listening on" "$log" && break
    sleep 0.05
  done
  grep -q "listening on" "$log" || { echo "server $rt did not start" >&2; cat "$log" >&2; exit 1; }
  wrk -t"$wrk_threads" -c"$c" -d"$duration" --latency "http://127.0.0.1:$port/" \
    >"$out/wrk-$rt-c$c-r$r.txt"
  kill "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

for c in $conns; do
  for r in $(seq 1 "$rounds"); do
    if ((r % 2)); then order="tasklane tokio"; else order="tokio tasklane"; fi
    for rt in $order; do
      echo "== c=$c round $r/$rounds: $rt" >&2
      one_run "$rt" "$c" "$r"
    done
  done
done

python3 - "$out" $conns <<'PY'
import re, statistics, sys, pathlib
out = pathlib.Path(sys.argv[1])
conns = sys.argv[2:]
unit = {"us": 1e-3, "ms": 1.0, "s": 1e3}
def parse(path):
    text = path.read_text()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    lat = {}
    for pct, val, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", text, re.M):
        lat[pct] = float(val) * unit[u]
    errors = re.search(r"Socket errors:.*|Non-2xx.*", text)
    return rps, lat["50"], lat["99"], errors.group(0) if errors else ""
print(f"{'conns':>5} {'runtime':>8} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8}   (medians of rounds)")
for c in conns:
    med = {}
    for rt in ("tasklane", "tokio"):
        runs = [parse(p) for p in sorted(out.glob(f"wrk-{rt}-c{c}-r*.txt"))]
        for r in runs:
            if r[3]:
                print(f"  warning: {rt} c={c}: {r[3]}")
        med[rt] = [statistics.median(r[i] for r in runs) for i in range(3)]
        rps_all = " ".join(f"{r[0]:.0f}" for r in runs)
        print(f"{c:>5} {rt:>8} {med[rt][0]:>10.0f} {med[rt][1]:>8.3f} {med[rt][2]:>8.3f}   rounds: {rps_all}")
    t, k = med["tasklane"], med["tokio"]
    print(f"{c:>5} {'ratio':>8} {t[0]/k[0]:>10.3f} {t[1]/k[1]:>8.3f} {t[2]/k[2]:>8.3f}   tasklane/tokio")
PY
