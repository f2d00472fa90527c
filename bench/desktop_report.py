"""Writes the desktop app's section of RESULTS.md from bench/out/desktop/."""

import json
from pathlib import Path

from results_section import main, read_meta

# The reference for a minimal Tauri tray app on this kind of machine.
REFERENCE_BINARY_MIB = 6.0
REFERENCE_RSS_MB = 150.0


def section(out: Path) -> str:
    meta = read_meta(out / "meta.env")
    build = json.loads((out / "build.json").read_text())
    d = json.loads((out / "desktop.json").read_text())
    tray, window = d["tray_only"], d["window_shown"]
    rss_mb = lambda mib: mib * 1.048576  # noqa: E731
    cold = build["cold_build_s"]
    lines = [
        f"Run on {meta.get('date')}: {meta.get('nproc')} CPUs ({meta.get('cpu')}), kernel {meta.get('kernel')},",
        f"load average {meta.get('loadavg')} at start, commit {meta.get('commit')}, WebKitGTK {meta.get('webkit')}.",
        "Reproduce: `bash bench/desktop.sh` (raw JSON in `bench/out/desktop/`). Headless: Xvfb, a private",
        "D-Bus session and a StatusNotifierWatcher stand-in; memory and CPU are the app's whole tree",
        "(the app and WebKit's processes).",
        "",
        "| figure | procward-desktop | reference (minimal Tauri tray app) | ratio |",
        "| --- | ---: | ---: | ---: |",
        f"| cold release build, 2 cores (s) | {cold:.0f} | ~600 | {cold / 600:.2f}x |" if cold else "| cold release build (s) | not measured | ~600 | |",
        f"| stripped binary (MiB) | {d['binary_mib']:.1f} | ~{REFERENCE_BINARY_MIB:.0f} | {d['binary_mib'] / REFERENCE_BINARY_MIB:.2f}x |",
        f"| RSS, tray only (MB) | {rss_mb(tray['rss_mib']):.0f} ({tray['processes']} processes; app {rss_mb(tray['app_rss_mib']):.0f}) | ~{REFERENCE_RSS_MB:.0f} | {rss_mb(tray['rss_mib']) / REFERENCE_RSS_MB:.2f}x |",
        f"| PSS, tray only (MB) | {rss_mb(tray['pss_mib']):.0f} | | |",
        f"| RSS, window shown (MB) | {rss_mb(window['rss_mib']):.0f} ({window['processes']} processes) | ~{REFERENCE_RSS_MB:.0f} | {rss_mb(window['rss_mib']) / REFERENCE_RSS_MB:.2f}x |",
        f"| PSS, window shown (MB) | {rss_mb(window['pss_mib']):.0f} | | |",
        f"| idle CPU, tray only (% of a core) | {tray['idle_cpu_percent']:.2f} | | |",
        f"| idle CPU, window shown (% of a core) | {window['idle_cpu_percent']:.2f} | | |",
        f"| new listener until listed in the tray (s, p50 / max) | {d['listed_after_s']['p50']:.2f} / {d['listed_after_s']['max']:.2f} | | |",
        f"| Kill clicked in the tray until the listener exited (ms, p50 / max) | {d['kill_click_to_exit_ms']['p50']:.1f} / {d['kill_click_to_exit_ms']['max']:.1f} | | |",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main(__doc__, "desktop", "Desktop app (issue 14)", section)
