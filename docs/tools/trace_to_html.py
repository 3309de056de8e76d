#!/usr/bin/env python3
"""Draw a Chrome trace (Trace Event Format JSON) as a Perfetto-style timeline.

Used to make docs/trace-timeline.png from the trace written by tasklane's
`profile` example, where https://ui.perfetto.dev cannot be reached. It is a
stand-in, not Perfetto: one lane per thread (named from the trace's
`thread_name` metadata), each slice a box on a time axis labelled with its
name when it fits, instant events as small markers (slow polls in red), an
overview of the whole run above a zoomed-in window of it, and a legend with
each slice name's count and total time. The HTML is self-contained (inline
SVG, no script), Python 3 standard library only.

    cargo run -p tasklane --example profile --release -- /tmp/trace.json
    python3 docs/tools/trace_to_html.py /tmp/trace.json -o /tmp/trace.html \
        --png docs/trace-timeline.png

`--png` screenshots the page with headless Chromium (`chromium`,
`chromium-browser` or `google-chrome` on PATH, or `--chromium PATH`).
`--zoom 40:90` picks the zoomed window (milliseconds from the trace's first
entry); by default it is the window of `--zoom-width` ms (default: an eighth
of the run) where the most distinct slice names are wide enough to be read.

Handles `B`/`E` pairs (nested or not) and `X` complete events per thread,
`i`/`I` instants, and `M` thread names; async (`b`/`e`) and other phases are
counted and skipped.
"""

import argparse
import html
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import zlib
from collections import defaultdict

FONT = "DejaVu Sans Mono, Menlo, Consolas, monospace"
FONT_PX = 11
CHAR_W = FONT_PX * 0.602  # advance of DejaVu Sans Mono
WIDTH = 1600
LABEL_W = 170  # thread names
MARGIN = 16
ROW_H = 20  # one nesting level of slices
LANE_GAP = 6
AXIS_H = 22
MARKER_H = 7  # instant-event markers, above the slices

PALETTE = [  # Perfetto-like material colours, in an order where neighbours differ
    "#1565c0", "#2e7d32", "#c62828", "#6a1b9a", "#ef6c00", "#00838f",
    "#ad1457", "#5d4037", "#7cb342", "#283593", "#f9a825", "#00695c",
    "#8e24aa", "#d84315", "#455a64", "#9e9d24", "#0288d1", "#e91e63",
    "#795548", "#3949ab",
]
COLOURS = {}  # slice name -> colour, by order of first appearance


def colour(name):
    if name not in COLOURS:
        n = len(COLOURS)
        COLOURS[name] = (PALETTE[n] if n < len(PALETTE)
                         else PALETTE[zlib.crc32(name.encode()) % len(PALETTE)])
    return COLOURS[name]


def text_colour(fill):
    r, g, b = (int(fill[i:i + 2], 16) for i in (1, 3, 5))
    return "#111" if 0.299 * r + 0.587 * g + 0.114 * b > 150 else "#fff"


def load(path):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    events = data["traceEvents"] if isinstance(data, dict) else data
    threads = {}
    slices = []  # (tid, depth, start_us, end_us, name)
    instants = []  # (tid, ts_us, name, cat)
    open_ = defaultdict(list)
    skipped = defaultdict(int)
    for e in events:
        ph = e.get("ph")
        tid = (e.get("pid", 0), e.get("tid", 0))
        if ph == "M":
            if e.get("name") == "thread_name":
                threads[tid] = e.get("args", {}).get("name", str(tid[1]))
        elif ph == "B":
            open_[tid].append((e["ts"], e.get("name", "?")))
        elif ph == "E":
            if not open_[tid]:
                skipped["E without B"] += 1
                continue
            start, name = open_[tid].pop()
            slices.append((tid, len(open_[tid]), start, e["ts"], name))
        elif ph == "X":
            slices.append((tid, None, e["ts"], e["ts"] + e.get("dur", 0), e.get("name", "?")))
        elif ph in ("i", "I"):
            instants.append((tid, e["ts"], e.get("name", "?"), e.get("cat", "")))
        else:
            skipped["phase " + str(ph)] += 1
    for tid, stack in open_.items():
        if stack:
            skipped["B never ended"] += len(stack)
    # Depths of X events: the number of enclosing slices on the same thread.
    by_tid = defaultdict(list)
    for s in slices:
        by_tid[s[0]].append(s)
    fixed = []
    for tid, ss in by_tid.items():
        ss.sort(key=lambda s: (s[2], -s[3]))
        stack = []
        for s in ss:
            while stack and stack[-1] <= s[2]:
                stack.pop()
            depth = s[1] if s[1] is not None else len(stack)
            stack.append(s[3])
            fixed.append((tid, depth, s[2], s[3], s[4]))
    for tid, *_ in fixed + [(i[0],) for i in instants]:
        threads.setdefault(tid, "thread %s" % tid[1])
    return threads, fixed, instants, dict(skipped)


def thread_order(threads, slices, instants):
    used = {s[0] for s in slices} | {i[0] for i in instants}

    def key(tid):
        name = threads[tid]
        rank = 0 if "worker" in name else 2 if name == "main" else 1
        return (rank, name)

    return sorted(used, key=key)


def nice_step(span_ms, target_ticks):
    raw = span_ms / max(target_ticks, 1)
    mag = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    for m in (1, 2, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def fmt_ms(v, step):
    decimals = max(0, -int(math.floor(math.log10(step)))) if step < 1 else 0
    return "%.*f ms" % (decimals, v)


def pick_zoom(slices, t0, t1, width_ms, plot_w):
    """The window of `width_ms` where the most distinct names are labelled."""
    if width_ms >= (t1 - t0) / 1000:
        return t0, t1
    px_per_us = plot_w / (width_ms * 1000)
    need_us = (4 * CHAR_W + 4) / px_per_us  # room for about 4 characters
    best, best_start = (-1, 0.0), t0
    start = t0
    step = max((t1 - t0) / 400, 1)
    while start + width_ms * 1000 <= t1:
        end = start + width_ms * 1000
        overlaps = [min(s[3], end) - max(s[2], start) for s in slices]
        names = {s[4] for s, o in zip(slices, overlaps) if o >= need_us}
        busy = sum(o for o in overlaps if o > 0)  # then: the fullest window
        if (len(names), busy) > best:
            best, best_start = (len(names), busy), start
        start += step
    return best_start, best_start + width_ms * 1000


class Svg:
    def __init__(self):
        self.parts = []

    def add(self, s):
        self.parts.append(s)

    def text(self, x, y, s, size=FONT_PX, fill="#222", anchor="start", weight="normal"):
        self.add(
            '<text x="%.1f" y="%.1f" font-size="%d" fill="%s" text-anchor="%s" '
            'font-weight="%s">%s</text>' % (x, y, size, fill, anchor, weight, html.escape(s))
        )

    def rect(self, x, y, w, h, fill, extra=""):
        self.add('<rect x="%.2f" y="%.2f" width="%.2f" height="%.2f" fill="%s" %s/>'
                 % (x, y, w, h, fill, extra))

    def line(self, x1, y1, x2, y2, stroke, width=1, extra=""):
        self.add('<line x1="%.2f" y1="%.2f" x2="%.2f" y2="%.2f" stroke="%s" '
                 'stroke-width="%s" %s/>' % (x1, y1, x2, y2, stroke, width, extra))


PANELS = [0]


def draw_panel(svg, y, title, threads, order, slices, instants, origin, w0, w1):
    """One timeline of the window [w0, w1] (µs); returns the y below it."""
    x0 = MARGIN + LABEL_W
    plot_w = WIDTH - x0 - MARGIN
    scale = plot_w / max(w1 - w0, 1e-9)

    def X(t):
        return x0 + (t - w0) * scale

    svg.text(MARGIN, y + 13, title, size=13, weight="bold")
    y += 20
    # Axis.
    span_ms = (w1 - w0) / 1000
    step = nice_step(span_ms, 12)
    svg.rect(x0, y, plot_w, AXIS_H, "#f1f3f4")
    first = math.ceil(((w0 - origin) / 1000) / step) * step
    ticks = []
    v = first
    while origin + v * 1000 <= w1 + 1e-6:
        ticks.append(v)
        v += step
    for v in ticks:
        x = X(origin + v * 1000)
        svg.line(x, y + AXIS_H - 6, x, y + AXIS_H, "#666")
        svg.text(x + 3, y + 14, fmt_ms(v, step), size=10, fill="#444")
    y += AXIS_H
    lanes_top = y
    depth = defaultdict(int)
    for s in slices:
        depth[s[0]] = max(depth[s[0]], s[1] + 1)
    lane_y = {}
    for i, tid in enumerate(order):
        h = MARKER_H + max(depth[tid], 1) * ROW_H + 4
        lane_y[tid] = (y, h)
        svg.rect(MARGIN, y, WIDTH - 2 * MARGIN, h, "#fafafa" if i % 2 else "#ffffff")
        svg.text(MARGIN + 4, y + MARKER_H + 14, threads[tid], size=12, fill="#111")
        y += h + LANE_GAP
    lanes_bottom = y - LANE_GAP
    for v in ticks:  # grid
        x = X(origin + v * 1000)
        svg.line(x, lanes_top, x, lanes_bottom, "#e3e3e3")
    PANELS[0] += 1
    svg.add('<clipPath id="clip%d"><rect x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>'
            '</clipPath><g clip-path="url(#clip%d)">'
            % (PANELS[0], x0, lanes_top, plot_w, lanes_bottom - lanes_top, PANELS[0]))
    for tid, d, start, end, name in slices:
        if end < w0 or start > w1 or tid not in lane_y:
            continue
        ly, _ = lane_y[tid]
        sy = ly + MARKER_H + 2 + d * ROW_H
        xa, xb = max(X(start), x0 - 1), min(X(end), x0 + plot_w + 1)
        w = max(xb - xa, 0.8)
        svg.rect(xa, sy, w, ROW_H - 2, colour(name))
        chars = int((w - 6) // CHAR_W)
        if chars >= 2:
            # Too long: the last path component (`fan-out/child-1` -> `child-1`),
            # else the name cut short, as Perfetto does.
            short = name.rsplit("/", 1)[-1]
            label = (name if len(name) <= chars else short if len(short) <= chars
                     else name[: chars - 1] + "\u2026")
            svg.text(xa + 3, sy + 13, label, fill=text_colour(colour(name)))
    for tid, ts, name, cat in instants:
        if ts < w0 or ts > w1 or tid not in lane_y:
            continue
        ly, lh = lane_y[tid]
        x = X(ts)
        slow = "slow_poll" in cat or name.startswith("slow poll")
        fill = "#d50000" if slow else "#78909c"
        svg.add('<path d="M%.1f %.1f l-3.5 -%d h7 z" fill="%s"/>' % (x, ly + MARKER_H, MARKER_H, fill))
        if slow:
            svg.line(x, ly + MARKER_H, x, ly + lh, "#d50000", 1.5)
            svg.text(x - 4, ly + MARKER_H + 14, name, fill="#d50000", anchor="end", weight="bold")
    svg.add("</g>")
    svg.rect(x0, lanes_top, plot_w, lanes_bottom - lanes_top, "none", 'stroke="#bbb"')
    return y, X, lanes_top, lanes_bottom


def render(path, zoom, zoom_width, source_label):
    threads, slices, instants, skipped = load(path)
    if not slices:
        sys.exit("%s: no slices" % path)
    order = thread_order(threads, slices, instants)
    for s in sorted(slices, key=lambda s: s[2]):
        colour(s[4])
    times = [s[2] for s in slices] + [s[3] for s in slices] + [i[1] for i in instants]
    origin, t1 = min(times), max(times)
    pad = (t1 - origin) * 0.01
    plot_w = WIDTH - 2 * MARGIN - LABEL_W
    if zoom:
        a, b = (float(v) for v in zoom.split(":"))
        z0, z1 = origin + a * 1000, origin + b * 1000
    else:
        width = zoom_width if zoom_width else (t1 - origin) / 1000 / 8
        z0, z1 = pick_zoom(slices, origin, t1, width, plot_w)

    svg = Svg()
    y = MARGIN
    run_ms = (t1 - origin) / 1000
    workers = [t for t in order if "worker" in threads[t]]
    svg.text(MARGIN, y + 16, "tasklane: task timeline of the `profile` example", size=17,
             weight="bold")
    y += 24
    svg.text(MARGIN, y + 12,
             "%s \u00b7 %d slices (one per poll of a task, inside its `task` span) on %d threads "
             "(%d workers) \u00b7 %d instant events \u00b7 %.0f ms"
             % (source_label, len(slices), len({s[0] for s in slices}), len(workers),
                len(instants), run_ms), size=12, fill="#333")
    y += 18
    svg.text(MARGIN, y + 12,
             "Drawn by docs/tools/trace_to_html.py, a Perfetto-style stand-in (not a Perfetto "
             "screenshot): open the same JSON at https://ui.perfetto.dev for the interactive view.",
             size=12, fill="#a00")
    y += 26

    y, X, top, bottom = draw_panel(svg, y, "Whole run", threads, order, slices, instants,
                                   origin, origin - pad, t1 + pad)
    # Where the zoomed window is.
    xa, xb = X(z0), X(z1)
    svg.rect(xa, top, max(xb - xa, 1), bottom - top, "#ffd54f", 'fill-opacity="0.25" stroke="#f9a825"')
    zoom_top = y + 14
    svg.add('<path d="M%.1f %.1f L%.1f %.1f L%.1f %.1f L%.1f %.1f z" fill="#ffd54f" '
            'fill-opacity="0.18"/>' % (xa, bottom, xb, bottom, WIDTH - MARGIN, zoom_top,
                                       MARGIN + LABEL_W, zoom_top))
    y = zoom_top + 4
    y, *_ = draw_panel(svg, y, "Zoomed in: %.1f\u2013%.1f ms (the yellow window above)"
                       % ((z0 - origin) / 1000, (z1 - origin) / 1000),
                       threads, order, slices, instants, origin, z0, z1)

    # Legend: each slice name, its count and total time, busiest first.
    stats = defaultdict(lambda: [0, 0.0, set()])
    for tid, _, start, end, name in slices:
        st = stats[name]
        st[0] += 1
        st[1] += end - start
        st[2].add(threads[tid])
    y += 8
    svg.text(MARGIN, y + 13, "Slices by task (count \u00b7 total time on its threads)", size=13,
             weight="bold")
    y += 22
    cols = 4
    col_w = (WIDTH - 2 * MARGIN) / cols
    items = sorted(stats.items(), key=lambda kv: (-kv[1][1], kv[0]))
    rows = math.ceil(len(items) / cols)
    for i, (name, (n, us, ths)) in enumerate(items):
        cx = MARGIN + (i // rows) * col_w
        cy = y + (i % rows) * 18
        svg.rect(cx, cy + 2, 12, 12, colour(name))
        svg.text(cx + 18, cy + 12, "%-16s %4d \u00b7 %7.2f ms" % (name, n, us / 1000), size=11)
    y += rows * 18 + 4
    svg.add('<path d="M%.1f %.1f l-3.5 -7 h7 z" fill="#78909c"/>' % (MARGIN + 6, y + 12))
    svg.text(MARGIN + 18, y + 12, "instant events (here: a task spawned or completed, on the "
             "thread that saw it)", size=11)
    svg.add('<path d="M%.1f %.1f l-3.5 -7 h7 z" fill="#d50000"/>' % (MARGIN + 806, y + 12))
    svg.text(MARGIN + 818, y + 12, "slow poll (a WARN on target tasklane::slow_poll)", size=11)
    y += 22
    if skipped:
        svg.text(MARGIN, y + 12, "skipped: " + ", ".join("%s \u00d7%d" % kv for kv in skipped.items()),
                 size=11, fill="#a00")
        y += 18
    height = int(y + MARGIN)
    body = "\n".join(svg.parts)
    page = (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>%s</title>\n"
        "<style>html,body{margin:0;padding:0;background:#fff}"
        "svg{display:block;font-family:%s}</style></head><body>\n"
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
        "viewBox=\"0 0 %d %d\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n%s\n"
        "</svg></body></html>\n"
        % (html.escape(source_label), FONT, WIDTH, height, WIDTH, height, body)
    )
    return page, height


def screenshot(html_path, png, height, chromium):
    exe = chromium or next(
        (shutil.which(c) for c in ("chromium", "chromium-browser", "google-chrome")
         if shutil.which(c)), None)
    if not exe:
        sys.exit("no chromium found: pass --chromium PATH, or open the HTML and screenshot it")
    with tempfile.TemporaryDirectory() as profile:
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               "--force-device-scale-factor=1", "--user-data-dir=" + profile,
               "--window-size=%d,%d" % (WIDTH, height),
               "--screenshot=" + os.path.abspath(png), "file://" + os.path.abspath(html_path)]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print("wrote %s (%dx%d)" % (png, WIDTH, height))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("trace", help="Chrome trace JSON (e.g. trace-tasklane.json)")
    ap.add_argument("-o", "--output", help="HTML to write (default: TRACE with .html)")
    ap.add_argument("--png", help="also screenshot the page to this PNG with headless Chromium")
    ap.add_argument("--chromium", help="Chromium executable")
    ap.add_argument("--zoom", help="zoomed window START:END in ms from the first entry")
    ap.add_argument("--zoom-width", type=float, help="width of the automatic zoom window, ms")
    ap.add_argument("--label", help="source named in the caption (default: the trace's file name)")
    args = ap.parse_args()
    out = args.output or os.path.splitext(args.trace)[0] + ".html"
    page, height = render(args.trace, args.zoom, args.zoom_width,
                          args.label or os.path.basename(args.trace))
    with open(out, "w", encoding="utf-8") as f:
        f.write(page)
    print("wrote %s" % out)
    if args.png:
        screenshot(out, args.png, height, args.chromium)


if __name__ == "__main__":
    main()
