"""Measures the desktop app (see bench/desktop.sh): size, memory and CPU of its process
tree with the tray only and with the window shown, the tray's refresh delay and the time
from a Kill click to the listener's exit. Writes OUT/desktop.json."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests/desktop"))

from desktop_support import Desktop, free_port, start_listener, wait_until  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def tree(root: int) -> list[int]:
    """`root` and its descendants (WebKit's web and network processes)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def memory(root: int) -> dict:
    """RSS and PSS (MiB) summed over the tree, and the app's own."""
    rss = pss = own_rss = 0
    for pid in tree(root):
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        values = {line.split(":")[0]: int(line.split()[1]) for line in rollup.splitlines()[1:]}
        rss += values.get("Rss", 0)
        pss += values.get("Pss", 0)
        if pid == root:
            own_rss = values.get("Rss", 0)
    return {"processes": len(tree(root)), "rss_mib": rss / 1024, "pss_mib": pss / 1024, "app_rss_mib": own_rss / 1024}


def cpu_ticks(root: int) -> int:
    total = 0
    for pid in tree(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total


def idle_cpu(root: int, seconds: float) -> float:
    """Percent of one core used by the tree over `seconds`."""
    before, start = cpu_ticks(root), time.monotonic()
    time.sleep(seconds)
    return 100.0 * (cpu_ticks(root) - before) / TICKS / (time.monotonic() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--app", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--idle", type=float, default=30.0)
    args = parser.parse_args()
    result: dict = {"binary_mib": args.app.stat().st_size / 2**20}
    home = Path(tempfile.mkdtemp(prefix="pw-bench-desk-"))
    desktop = Desktop(home)
    listeners = []
    try:
        app = desktop.app.pid
        time.sleep(10)
        result["tray_only"] = memory(app)
        result["tray_only"]["idle_cpu_percent"] = idle_cpu(app, args.idle)

        appear, kill = [], []
        for _ in range(5):
            port = free_port()
            started = time.monotonic()
            listener = start_listener(port)
            listeners.append(listener)
            label = f":{port} python3 ({listener.pid})"
            desktop.wait_for_item(label, "Kill", timeout=20)
            appear.append(time.monotonic() - started)
            clicked = time.monotonic()
            desktop.click(label, "Kill")
            wait_until("the listener to exit", lambda: listener.poll() is not None, 10, every=0.002)
            kill.append(time.monotonic() - clicked)
        result["listed_after_s"] = {"p50": statistics.median(appear), "max": max(appear)}
        result["kill_click_to_exit_ms"] = {"p50": statistics.median(kill) * 1000, "max": max(kill) * 1000}

        desktop.click("Open procward")
        wait_until("the window", desktop.visible_window, 30)
        time.sleep(10)
        result["window_shown"] = memory(app)
        result["window_shown"]["idle_cpu_percent"] = idle_cpu(app, args.idle)
    finally:
        for listener in listeners:
            if listener.poll() is None:
                listener.kill()
                listener.wait()
        desktop.close()
    (args.out / "desktop.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
