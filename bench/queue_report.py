"""Writes the queue section of bench/RESULTS.md from bench/out/queue (bench/queue.sh)."""

from __future__ import annotations

import json
from pathlib import Path

from results_section import main


def fmt(value, digits=1):
    return "—" if value is None else f"{value:.{digits}f}"


def ratio(a, b):
    return "—" if a is None or not b else f"{a / b:.2f}x"


def target(ok: bool, text: str) -> str:
    return f"- **{'met' if ok else 'NOT met'}**: {text}"


def section(out: Path) -> str:
    meta = dict(l.split("=", 1) for l in (out / "meta.env").read_text().splitlines() if "=" in l)
    r = json.loads((out / "results.json").read_text())
    pw, pq = r["procward"], r.get("pueue", {})
    rows = [
        ("500 adds into an empty queue (s)", pw["adds_s"][0], pq.get("adds_s", [None])[0], 2),
        ("5th batch of 500 adds, queue of 2,000 (s)", pw["adds_s"][4], (pq.get("adds_s") or [None] * 5)[4], 2),
        ("`list --json`, 2,500 queued (ms)", pw["list_2500_ms"], pq.get("list_2500_ms"), 1),
        ("`list --json`, 10,000 queued (ms)", pw.get("list_10k_ms"), None, 1),
        ("daemon RSS, 10,000 queued (MB)", pw.get("rss_10k_mb"), None, 1),
        ("daemon RSS, 10,000 queued, after 18 listings (MB)", pw.get("rss_10k_after_lists_mb"), None, 1),
        ("start latency p50, free slot (ms)", pw["latency_p50_ms"], pq.get("latency_p50_ms"), 1),
        ("start latency p90 (ms)", pw["latency_p90_ms"], pq.get("latency_p90_ms"), 1),
        ("1,000 `true`, parallel 8 (s; procward: median of 3)", pw["throughput_1000_s"], pq.get("throughput_1000_s"), 2),
    ]
    lines = [
        f"Run on {meta.get('date')}: {meta.get('nproc')} CPUs ({meta.get('cpu')}), kernel {meta.get('kernel')},",
        f"load average {meta.get('loadavg')} at start and {meta.get('loadavg_end')} at the end, commit {meta.get('commit')};",
        f"{meta.get('procward')}, {meta.get('pueue', 'pueue not installed')}.",
        "Reproduce: `bash bench/queue.sh` (raw JSON in `bench/out/queue/`). One CLI call per add;",
        "adds go into a paused queue; pueue's figures come from its own `status --json` timestamps.",
        "",
        "| figure | procward | pueue | procward ÷ pueue |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, a, b, digits in rows:
        lines.append(f"| {name} | {fmt(a, digits)} | {fmt(b, digits)} | {ratio(a, b)} |")
    xargs = r["xargs_1000_s"]
    lines.append(f"| `seq 1000 \\| xargs -P 8 -n 1 true` (s; median of 5) | {fmt(xargs, 2)} | | |")
    lines += ["", "### Targets", ""]
    first, fifth = pw["adds_s"][0], pw["adds_s"][4]
    if pq:
        lines.append(target(first <= 0.5 * pq["adds_s"][0],
                            f"500 adds ≤ 0.5x pueue: {first:.2f} s vs {pq['adds_s'][0]:.2f} s ({first / pq['adds_s'][0]:.2f}x); "
                            f"5th batch {fifth:.2f} s vs {pq['adds_s'][4]:.2f} s ({fifth / pq['adds_s'][4]:.2f}x)"))
    lines.append(target(fifth <= 1.2 * first, f"flat: 5th batch ÷ 1st = {fifth / first:.2f} (≤ 1.2)"))
    lines.append(target(pw["latency_p50_ms"] <= 5, f"start latency p50 ≤ 5 ms: {pw['latency_p50_ms']:.1f} ms"))
    if "list_10k_ms" in pw:
        lines.append(target(pw["list_10k_ms"] <= 50, f"`queue list --json` at 10,000 ≤ 50 ms: {pw['list_10k_ms']:.1f} ms"))
        after = pw.get("rss_10k_after_lists_mb")
        lines.append(target(pw["rss_10k_mb"] <= 30, f"daemon RSS at 10,000 ≤ 30 MB: {pw['rss_10k_mb']:.1f} MB"
                            + (f" ({after:.1f} MB after 18 listings of all 10,000: allocator caches)" if after else "")))
    t = pw["throughput_1000_s"]
    runs = pw.get("throughput_1000_runs_s")
    each = f"; runs {', '.join(f'{x:.2f}' for x in runs)} s" if runs else ""
    lines.append(target(t <= 1.5 * xargs, f"1,000 jobs, parallel 8 ≤ 1.5x `xargs -P 8`: {t:.2f} s vs {xargs:.2f} s ({t / xargs:.2f}x{each})"))
    return "\n".join(lines)


if __name__ == "__main__":
    main(__doc__, "queue", "Job queue (issue 12)", section)
