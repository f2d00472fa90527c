"""Writes the limits section of bench/RESULTS.md from bench/out/limits (bench/limits.sh)."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from results_section import main, read_meta


def section(out: Path) -> str:
    data = json.loads((out / "limits.json").read_text())
    meta = read_meta(out / "meta.env")
    lines = [
        f"Run on {meta.get('date')}: {meta.get('nproc')} CPUs, kernel {meta.get('kernel')}, "
        f"commit {meta.get('commit')}, load average {meta.get('loadavg')} at start"
        + (f"; pm2 {meta['pm2']}" if "pm2" in meta else "; pm2 not installed")
        + ". Reproduce: `bash bench/limits.sh` (raw JSON in `bench/out/limits/`).",
        "",
        "A memory hog growing about 100 MiB/s (1 MiB every 10 ms) under a 64 MiB limit: the",
        "peak RSS a 2 ms sampler saw, and the time from its crossing 64 MiB to its end (median",
        "of 3 runs); \"over the limit\" is the peak divided by 64 MiB. The hog stops growing at",
        "1 GiB, so a peak of about 1041 MiB means nothing held it before that (pm2 checks memory",
        "every 30 s: its `worker_interval`). The cgroup peak is above 64 MiB because RSS counts",
        "the interpreter's shared file pages, probably charged to the cgroup that read them first.",
        "",
        "| enforced by | peak RSS (MiB) | over the limit | limit to end (ms) | runs (peak MiB) |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    base = None
    for name, runs in data["overshoot"].items():
        peaks = [r["peak_mib"] for r in runs]
        ends = [r["after_limit_ms"] for r in runs if r.get("after_limit_ms") is not None]
        peak = statistics.median(peaks)
        base = base or peak
        mode = runs[0].get("mode", "")
        ended = all(r.get("ended") for r in runs)
        end = f"{statistics.median(ends):.0f}" if ends and ended else "not ended in 30-60 s"
        lines.append(
            f"| {name} ({mode}) | {peak:.1f} | {peak / 64:.2f}x | {end} | "
            f"{', '.join(f'{p:.0f}' for p in peaks)} |"
        )
    s = data["starts"]
    c = data["cpu"]
    lines += [
        "",
        "| figure | with | without | ratio |",
        "| --- | ---: | ---: | ---: |",
        f"| 50 starts, one CLI call each (s): a cgroup unit per process | {s['cgroups on']:.3f} "
        f"| {s['cgroups off']:.3f} | {s['cgroups on'] / s['cgroups off']:.2f}x |",
        f"| daemon CPU, 50 idle processes (% of a core): polled memory limits | "
        f"{c['50 with polled limits']:.2f} | {c['50 without limits']:.2f} | — |",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main(__doc__, "limits", "Resource limits (issue 13)", section)
