"""The tray, driven as a panel would: its menu read over com.canonical.dbusmenu
(GetLayout), items found by their labels and clicked (Event), with real listeners this
test started, and a real daemon where the test needs managed processes."""

from __future__ import annotations

import json
import subprocess
import time

from desktop_support import Desktop, free_port, procward, start_listener, wait_until


def test_kill_from_the_tray_ends_the_listener(desktop, children):
    port = free_port()
    listener = start_listener(port)
    children.append(listener)
    label = f":{port} python3 ({listener.pid})"
    kill = desktop.wait_for_item(label, "Kill")
    assert kill["enabled"]
    desktop.click(label, "Kill")
    # SIGTERM from the kill, as the core's kill sends first.
    assert wait_until("the listener to exit", lambda: listener.poll() is not None, 10)
    assert listener.returncode == -15
    # The menu drops the port at its next refresh.
    wait_until("the port to leave the menu", lambda: desktop.run(desktop.tray.find(label)) is None, 10)


def test_the_menu_lists_ports_and_the_apps_items(desktop, children):
    port = free_port()
    listener = start_listener(port)
    children.append(listener)
    desktop.wait_for_item(f":{port} python3 ({listener.pid})")
    labels = [item["label"] for item in desktop.run(desktop.tray.layout())]
    for expected in ("Open procward", "Refresh", "Quit"):
        assert expected in labels, labels
    # No daemon runs for this home: no managed processes entry.
    assert not any(label.startswith("Managed processes") for label in labels), labels


def test_open_shows_the_window_with_the_ports_table(desktop, children):
    port = free_port()
    listener = start_listener(port)
    children.append(listener)
    assert desktop.visible_window() is None, "the window starts hidden in the tray"
    desktop.click("Open procward")
    window = wait_until("the window to show", desktop.visible_window, 20)
    assert window
    time.sleep(2)  # let WebKit paint the table
    shot = desktop.screenshot("desktop-window.png")
    colours = subprocess.run(
        ["identify", "-format", "%k", str(shot)], capture_output=True, text=True, check=True
    )
    assert int(colours.stdout) > 16, "the screenshot is blank"
    # The listener is untouched by opening the window.
    assert listener.poll() is None


def test_a_managed_listener_asks_first_and_stops_through_the_daemon(desktop, home):
    port = free_port()
    script = (
        "import socket,time; s=socket.socket(); "
        "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); "
        f"s.bind(('127.0.0.1',{port})); s.listen(); time.sleep(600)"
    )
    procward(home, "start", "web", "--restart", "always", "--", "python3", "-c", script)

    def status():
        return json.loads(procward(home, "status", "web", "--json").stdout)

    pid = status()["pid"]
    label = f":{port} python3 ({pid}) [web]"
    # A managed holder: Kill in the tray only opens the window's confirmation.
    desktop.click(label, "Kill")
    window = wait_until("the confirmation window", desktop.visible_window, 20)
    time.sleep(1)
    desktop.screenshot("desktop-confirm.png")
    assert status()["state"] == "running" and status()["pid"] == pid
    # Confirmed (focus is on Cancel: Tab to Kill, Enter), it is stopped through the
    # daemon's kill policy, and its "always" restart policy does not bring it back.
    subprocess.run(
        ["xdotool", "windowfocus", "--sync", window, "key", "--clearmodifiers", "Tab", "Return"],
        env=desktop.env,
        check=True,
    )
    wait_until("web to stop", lambda: status()["state"] == "stopped", 15)
    time.sleep(2)
    assert status()["state"] == "stopped", status()

    # The managed processes submenu starts it again, and stops it.
    desktop.click("Managed processes", "web: stopped", "Start")
    wait_until("web to run again", lambda: status()["state"] == "running", 15)
    desktop.click("Managed processes", "web: running", "Stop")
    wait_until("web to stop from the tray", lambda: status()["state"] == "stopped", 15)


def test_without_a_status_notifier_host_the_app_runs_and_its_menu_works(home, children):
    # No watcher on the bus: libayatana-appindicator falls back to the XEmbed tray; the
    # app keeps running and its menu still answers over dbusmenu.
    desktop = Desktop(home, watcher=False)
    try:
        assert not desktop.watcher.items
        port = free_port()
        listener = start_listener(port)
        children.append(listener)
        desktop.click(f":{port} python3 ({listener.pid})", "Kill")
        assert wait_until("the listener to exit", lambda: listener.poll() is not None, 10)
        assert desktop.app.poll() is None
    finally:
        desktop.close()
