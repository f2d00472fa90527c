"""Writes the reload section of bench/RESULTS.md from bench/out/reload (bench/reload.sh)."""

from __future__ import annotations

import json
from pathlib import Path

from results_section import main, read_meta


def section(out: Path) -> str:
    data = json.loads((out / "reload.json").read_text())
    meta = read_meta(out / "meta.env")
    lines = [
        f"Run on {meta.get('date')}: {meta.get('nproc')} CPUs, kernel {meta.get('kernel')}, "
        f"commit {meta.get('commit')}, load average {meta.get('loadavg')} at start"
        + (f"; pm2 {meta['pm2']}" if "pm2" in meta else "; pm2 not installed")
        + ". Reproduce: `bash bench/reload.sh` (raw JSON in `bench/out/reload/`).",
        "",
        "Release build. Four instances of an app that takes 0.5 s to start listening, under a request loop",
        "(one connection at a time, 2 ms apart), replaced by each command; failed requests are",
        "refused, reset or empty answers from the command's start to 1 s after it returned",
        "(median of 3 rounds).",
        "",
        "| command | failed requests | answered | wall time (s) | rounds (failed) |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for name, result in data.items():
        rounds = ", ".join(str(r["failed"]) for r in result["rounds"])
        lines.append(
            f"| `{name}` | {result['failed']:g} | {result['ok']:g} | {result['seconds']:.2f} | {rounds} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main(__doc__, "reload", "Zero-downtime reload", section)
