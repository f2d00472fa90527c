"""Writes the terminal UI's section of RESULTS.md from bench/out/top/ (NAME-RUN.json)."""

import json
import statistics
from pathlib import Path

from results_section import main, read_meta

# The targets.
TARGET_IDLE_CPU = 1.0
TARGET_REDRAW_MS = 5.0


def runs(out: Path, name: str) -> list[dict]:
    """Every run's JSON for `name`, in run order."""
    files = sorted(out.glob(f"{name}-*.json"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    return [json.loads(f.read_text()) for f in files]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def each(values: list[float], fmt: str = "{:.2f}") -> str:
    return ", ".join(fmt.format(v) for v in values)


def section(out: Path) -> str:
    meta = read_meta(out / "meta.env")
    top, htop = runs(out, "top"), runs(out, "htop")
    idle, keys = runs(out, "frames_idle"), runs(out, "frames_keys")
    ms = lambda us: us / 1000  # noqa: E731
    top_cpu = [r["idle_cpu_percent"] for r in top]
    htop_cpu = [r["idle_cpu_percent"] for r in htop]
    lines = [
        f"Run on {meta.get('date')}: {meta.get('nproc')} CPUs ({meta.get('cpu')}), kernel {meta.get('kernel')},",
        f"load average {meta.get('loadavg')} at start, {meta.get('processes')} processes (with",
        f"{meta.get('sleepers')} extra sleepers), commit {meta.get('commit')}, {meta.get('htop')}.",
        "Reproduce: `bash bench/top.sh` (raw JSON in `bench/out/top/`). Release build in a 120x40",
        f"tmux pane, 1 s refresh, no daemon; CPU is utime + stime of every thread over {meta.get('seconds')} s",
        f"after 3 s of warm-up. {len(top)} runs, top then htop in each; figures are medians, each",
        "run's in brackets. A frame's time is `terminal.draw` (layout, widgets, diff, write).",
        "",
        "| figure | procward top | htop -d 10 | ratio (top / htop) | target |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    top_rss = median([r["rss_kib"] / 1024 for r in top])
    if htop:
        ratios = [t / h if h else float("inf") for t, h in zip(top_cpu, htop_cpu)]
        htop_rss = median([r["rss_kib"] / 1024 for r in htop])
        lines.append(
            f"| idle CPU (% of a core) | {median(top_cpu):.2f} ({each(top_cpu)}) | {median(htop_cpu):.2f} ({each(htop_cpu)}) "
            f"| {median(ratios):.2f}x | <= {TARGET_IDLE_CPU:.0f} |"
        )
        lines.append(f"| RSS (MiB) | {top_rss:.1f} | {htop_rss:.1f} | {top_rss / htop_rss:.2f}x | |")
    else:
        lines.append(f"| idle CPU (% of a core) | {median(top_cpu):.2f} ({each(top_cpu)}) | not installed | | <= {TARGET_IDLE_CPU:.0f} |")
        lines.append(f"| RSS (MiB) | {top_rss:.1f} | | | |")
    for label, frames in (("idle", idle), ("100 key presses", keys)):
        count = sum(f["frames"] for f in frames)
        p50 = [ms(f["p50_us"]) for f in frames]
        p95 = [ms(f["p95_us"]) for f in frames]
        top_max = [ms(f["max_us"]) for f in frames]
        lines.append(
            f"| redraw, {label} ({count} frames; ms, p50 / p95 / max) | {median(p50):.2f} / {median(p95):.2f} / "
            f"{median(top_max):.2f} (max {each(top_max)}) | | | <= {TARGET_REDRAW_MS:.0f} |"
        )
    threads: dict[str, list[float]] = {}
    for r in top:
        for name, pct in r.get("threads_cpu_percent", {}).items():
            threads.setdefault(name, []).append(pct)
    met = median(top_cpu) <= TARGET_IDLE_CPU
    lines += [
        "",
        "Where top's CPU goes (% of a core, by thread, median): "
        + ", ".join(f"{name} {median(pcts):.2f}" for name, pcts in sorted(threads.items()))
        + ". `top-system` is the collector (the /proc walk of every process and the CPU and",
        "memory reading, once a second); `procward` is the UI loop (events, drawing).",
        f"The 1 % target is {'met' if met else 'not met'}. Most of what is left is the kernel writing",
        "`/proc/PID/stat` for every process once a second: the collector keeps each process's",
        "`/proc/PID` and `stat` open between refreshes (one `pread` and one `fstat` per process,",
        "no path walk), reads a command line once per process instance (again on an `exec`, and",
        "every 16 refreshes), and parses only the stat fields it shows. htop 3.2 (strace) opens",
        "`/proc/PID` and its `task/` directory (to list threads) and opens, reads and closes",
        "`stat` and `statm` of every process on every refresh.",
        "",
        "The first frame of each run (before any data) and the frame that first fills the",
        "screen are included in max. htop's redraw time is not exposed, so only its CPU is compared.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main(__doc__, "top", "Terminal UI (issue 16)", section)
