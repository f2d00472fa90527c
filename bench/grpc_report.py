#!/usr/bin/env python3
"""Turn bench/grpc.sh's JSON into the "gRPC API" section of RESULTS.md.

Rewrites only the text between <!-- bench:grpc:start --> and <!-- bench:grpc:end -->
(appending the section when missing). Python 3.11 standard library only.
"""

import json
from pathlib import Path

import results_section  # noqa: E402  (bench/ is the script's folder)

KEY, TITLE = "grpc", "gRPC API (issue 4)"
P99_TARGET_MS = 5.0
MONITOR_TARGET_PCT = 2.0


def load(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def verdict(ok: bool) -> str:
    return "met" if ok else "**NOT met**"


def section(out: Path) -> str:
    m = results_section.read_meta(out / "meta.env")
    rust, python, mon = load(out / "rust.json"), load(out / "python.json"), load(out / "monitor.json")
    ps = load(out / "ps.json")
    ps_ms = ps["results"][0]["median"] * 1000 if ps else None
    rows = []
    for name, r in (("Rust (tonic)", rust), ("Python (grpcio aio)", python)):
        if r:
            scale = f"{ps_ms / r['p50_ms']:.0f}x faster" if ps_ms else "—"
            rows.append(f"| {name} | {r['calls']:,} | {r['processes']} | {r['p50_ms']:.2f} | "
                        f"{r['p99_ms']:.2f} | {r['mean_ms']:.2f} | {scale} |")
    worst_p99 = max((r["p99_ms"] for r in (rust, python) if r), default=float("nan"))
    loaded = mon.get("loaded_cpu_percent", float("nan"))
    cost = loaded - mon.get("idle_cpu_percent", 0.0)
    per_sub = mon.get("samples_per_subscriber", {})
    lines = [
        f"Run on {m.get('date')}: {m.get('cpus')} CPUs ({m.get('cpu_model')}), kernel {m.get('kernel')}, "
        f"commit {m.get('commit')}, {m.get('processes')} processes on the machine "
        f"(300 of them extra `sleep`s), load average {m.get('loadavg_start')} at start and "
        f"{m.get('loadavg_end')} at the end; {m.get('python')}. "
        "Reproduce: `bash bench/grpc.sh` (raw JSON in `bench/out/grpc/`).",
        "",
        "One release daemon serves gRPC on 127.0.0.1 with the bearer token checked on every "
        "call, as a real client meets it. `ListProcesses` returns every process from the "
        "daemon's shared sample (refreshed once a second while clients ask), so a call costs "
        "no `/proc` walk.",
        "",
        "| ListProcesses, sequential calls | calls | processes per answer | p50 (ms) | p99 (ms) | mean (ms) "
        f"| vs `ps aux` ({ps_ms:.1f} ms median) |" if ps_ms else
        "| ListProcesses, sequential calls | calls | processes per answer | p50 (ms) | p99 (ms) | mean (ms) | vs `ps aux` |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        *rows,
        "",
        f"Target p99 under {P99_TARGET_MS:.0f} ms: {verdict(worst_p99 < P99_TARGET_MS)} "
        f"(worst p99 {worst_p99:.2f} ms).",
        "",
        f"| MonitorSystem | daemon CPU (% of one core) | daemon RSS (MiB) |",
        "| --- | ---: | ---: |",
        f"| no subscribers ({mon.get('window_s')} s) | {mon.get('idle_cpu_percent')} | "
        f"{mon.get('rss_kib_before', 0) / 1024:.1f} |",
        f"| {mon.get('subscribers')} subscribers at {mon.get('interval_s')} s | {loaded} | "
        f"{mon.get('rss_kib_loaded', 0) / 1024:.1f} |",
        f"| after they cancelled | {mon.get('after_cancel_cpu_percent')} | {mon.get('rss_kib_after', 0) / 1024:.1f} |",
        "",
        f"Each subscriber got {per_sub.get('min')}–{per_sub.get('max')} samples in the "
        f"{mon.get('window_s')} s window (expected {mon.get('samples_expected_per_subscriber')}); "
        f"{mon.get('subscribers_with_errors')} subscribers saw an error. All subscribers share one "
        "sampler; each stream only ever holds the newest sample. "
        f"Target: {mon.get('subscribers')} subscribers cost under {MONITOR_TARGET_PCT:.0f} % of a core: "
        f"{verdict(cost < MONITOR_TARGET_PCT)} ({cost:.2f} % above idle).",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    results_section.main(__doc__.splitlines()[0], KEY, TITLE, section)
