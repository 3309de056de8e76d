#!/usr/bin/env python3
"""Tabulate the rt_compare benchmark: tasklane vs tokio vs smol.

Reads criterion's target/criterion/<workload>/<runtime>/new/estimates.json
(median.point_estimate, in ns) and prints a Markdown table:

    workload | tasklane | tokio | smol | tasklane/tokio | tasklane/smol

A ratio above 1 means tasklane is slower.

Usage:
    ratios.py                      table of the latest criterion run
    ratios.py --save FILE          ... and save its medians as JSON to FILE
    ratios.py --runs FILE [FILE..] table of the median over saved runs

Stdlib only.
"""

import argparse
import json
import os
import statistics
import sys

WORKLOADS = [
    "spawn_many_local",
    "spawn_many_remote_idle",
    "yield_many",
    "ping_pong",
    "chained_spawn",
    "request_reply",
    "request_reply_think",
    "ct_spawn_many_local",
    "ct_yield_many",
    "ct_ping_pong",
    "mutex_contended",
    "broadcast_fan_out",
    "timer_churn",
    "timer_churn_parallel",
    "timers_10k",
    "tcp_echo",
]
RUNTIMES = ["tasklane", "tokio", "smol"]


def default_criterion_dir():
    """$CRITERION_HOME, else $CARGO_TARGET_DIR/criterion, else <repo>/target/criterion."""
    if os.environ.get("CRITERION_HOME"):
        return os.environ["CRITERION_HOME"]
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(repo, "target")
    if not os.path.isabs(target):
        target = os.path.join(repo, target)
    return os.path.join(target, "criterion")


def read_criterion(criterion_dir, since=None):
    """{workload: {runtime: median ns}} for the results that exist (and, with
    `since`, were written at or after that Unix time)."""
    medians = {}
    for w in WORKLOADS:
        for r in RUNTIMES:
            path = os.path.join(criterion_dir, w, r, "new", "estimates.json")
            try:
                if since is not None and os.path.getmtime(path) < since:
                    continue
                with open(path) as f:
                    est = json.load(f)
            except FileNotFoundError:
                continue
            medians.setdefault(w, {})[r] = float(est["median"]["point_estimate"])
    return medians


def median_of_runs(runs):
    """Per cell, the median over runs of each run's median."""
    out = {}
    for w in WORKLOADS:
        for r in RUNTIMES:
            vals = [run[w][r] for run in runs if r in run.get(w, {})]
            if vals:
                out.setdefault(w, {})[r] = statistics.median(vals)
    return out


def fmt_time(ns):
    if ns is None:
        return "—"
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def fmt_ratio(a, b):
    if a is None or b is None or b == 0:
        return "—"
    return f"{a / b:.2f}"


def table(medians):
    lines = [
        "| workload | tasklane | tokio | smol | tasklane/tokio | tasklane/smol |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for w in WORKLOADS:
        row = medians.get(w, {})
        t, k, s = (row.get(r) for r in RUNTIMES)
        lines.append(
            f"| {w} | {fmt_time(t)} | {fmt_time(k)} | {fmt_time(s)} "
            f"| {fmt_ratio(t, k)} | {fmt_ratio(t, s)} |"
        )
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--criterion-dir", default=None,
                   help="criterion output dir (default: target/criterion)")
    p.add_argument("--save", metavar="FILE",
                   help="also write the medians read from criterion as JSON")
    p.add_argument("--since", type=float, metavar="UNIX_TIME",
                   help="ignore criterion results written before this time")
    p.add_argument("--runs", metavar="FILE", nargs="+",
                   help="saved run JSONs: print the median over them instead")
    args = p.parse_args()

    if args.runs:
        runs = []
        for path in args.runs:
            with open(path) as f:
                runs.append(json.load(f))
        medians = median_of_runs(runs)
        print(f"Median over {len(runs)} run(s) of criterion's median time per iteration.\n")
    else:
        cdir = args.criterion_dir or default_criterion_dir()
        medians = read_criterion(cdir, args.since)
        if not medians:
            print(f"no rt_compare results under {cdir}", file=sys.stderr)
            return 1
        if args.save:
            os.makedirs(os.path.dirname(os.path.abspath(args.save)), exist_ok=True)
            with open(args.save, "w") as f:
                json.dump(medians, f, indent=2, sort_keys=True)
                f.write("\n")
        print("Criterion's median time per iteration (latest run).\n")

    print(table(medians))
    missing = [f"{w}/{r}" for w in WORKLOADS for r in RUNTIMES
               if r not in medians.get(w, {})]
    if missing:
        print(f"\nmissing: {', '.join(missing)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
