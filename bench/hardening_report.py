#!/usr/bin/env python3
"""Turn bench/hardening.sh's JSON into the "Hardening" section of RESULTS.md.

Rewrites only the text between <!-- bench:hardening:start --> and
<!-- bench:hardening:end --> (appending the section when missing). Python 3.11 standard
library only.
"""

import json
from pathlib import Path

import results_section  # noqa: E402  (bench/ is the script's folder)

KEY, TITLE = "hardening", "Hardening (issue 10)"


def reuse_lines(out: Path) -> list[str]:
    path = out / "reuse.json"
    if not path.exists():
        return ["PID reuse: skipped (needs root and a new PID namespace).", ""]
    r = json.loads(path.read_text())
    doors = ", ".join(f"{door} {n}" for door, n in r["doors"].items())
    return [
        "### PID reuse, forced in a fresh PID namespace",
        "",
        f"Reuses tried: **{r['reuses']}** ({doors}); **{r['same_second']}** of them within the "
        f"victim's start second. Wrong kills: **{r['wrong_kills']}**; refused with a message "
        f"naming `start_ticks`: {r['refused']}; successors that started in the victim's own "
        f"10 ms tick (which ticks cannot tell apart): {r.get('same_tick', 0)}. A check by Unix "
        f"seconds alone (every door before `start_ticks`) would have let the "
        f"{r['same_second']} same-second reuses through.",
        "",
    ]


def listener_lines(out: Path) -> list[str]:
    r = json.loads((out / "listener.json").read_text())
    f, loris, part = r["flood"], r["slow_loris"], r["partial_line"]
    mib = lambda kib: f"{kib / 1024:.1f} MiB"  # noqa: E731
    return [
        "### The TCP listener under abuse",
        "",
        f"One release daemon on 127.0.0.1 with `max_connections = {r['max_connections']}` and "
        f"handshake and header-read timeouts of {r['timeout_s']:g} s.",
        "",
        "| figure | value | before issue 10 |",
        "| --- | ---: | ---: |",
        f"| idle connections opened / held / closed at accept | {f['opened']} / {f['held']} / "
        f"{f['closed_at_accept']} | 3,000 held |",
        f"| held silent connections closed, after the flood, p50 / max (s) | {f['silent_closed_after']['p50_s']} / "
        f"{f['silent_closed_after']['max_s']} | never |",
        f"| {loris['count']} slow-loris clients (a header line a second) closed after, p50 / max (s) | "
        f"{loris['p50_s']} / {loris['max_s']} | 40+ |",
        f"| {part['count']} partial request lines closed after, p50 / max (s) | {part['p50_s']} / "
        f"{part['max_s']} | 70+ |",
        f"| `procward list` over the Unix socket, idle / during the flood (ms, median) | "
        f"{r['cli_list_ms_idle']} / {r['cli_list_ms_during_flood']} | froze at 1,100 |",
        f"| daemon RSS idle / during the flood / after | {mib(r['idle']['rss_kib'])} / "
        f"{mib(r['during_flood']['rss_kib'])} / {mib(r['after']['rss_kib'])} | |",
        f"| daemon descriptors idle / during the flood / after | {r['idle']['fds']} / "
        f"{r['during_flood']['fds']} / {r['after']['fds']} | |",
        "",
        "Before-figures are from the issue's own abuse run on the previous release.",
    ]


def section(out: Path) -> str:
    meta = dict(l.split("=", 1) for l in (out / "meta.env").read_text().splitlines() if "=" in l)
    return "\n".join([
        f"Run on {meta['date']}: {meta['cpus']} CPUs ({meta['cpu_model']}), kernel {meta['kernel']}, "
        f"commit {meta['commit']}, load average {meta['loadavg']} at start, open-files limit "
        f"{meta['nofile']}. Reproduce: `bash bench/hardening.sh` (raw JSON in `bench/out/hardening/`).",
        "",
        *reuse_lines(out),
        *listener_lines(out),
    ])


if __name__ == "__main__":
    results_section.main(__doc__.splitlines()[0], KEY, TITLE, section)
