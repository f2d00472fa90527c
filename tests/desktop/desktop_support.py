"""A headless desktop for procward-desktop: Xvfb, a private D-Bus session bus, a
StatusNotifierWatcher stand-in (no panel runs here), and a client of the tray's menu over
`com.canonical.dbusmenu` (GetLayout to read it, Event to click an item).

Everything runs on its own: the display is chosen by Xvfb (-displayfd), the bus is a
private dbus-daemon, and every process started here is ended by pid at teardown.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from dbus_fast import Message, MessageType, PropertyAccess, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.service import ServiceInterface, dbus_property, method, signal as dbus_signal

ROOT = Path(__file__).resolve().parents[2]
APP = Path(os.environ.get("PROCWARD_DESKTOP_BIN", ROOT / "desktop/target/debug/procward-desktop"))
PROCWARD = Path(os.environ.get("PROCWARD_BIN", ROOT / "target/debug/procward"))
ARTIFACTS = ROOT / "tests/desktop/artifacts"


def wait_until(what: str, check, timeout: float = 15.0, every: float = 0.1):
    """Polls `check()` until it returns a true value, or fails naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


async def async_wait_until(what: str, check, timeout: float = 15.0, every: float = 0.2):
    """`wait_until` for coroutine checks."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(every)


def end(process: subprocess.Popen) -> None:
    """Ends a process this suite started (TERM, then KILL), and reaps it."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Xvfb:
    """A virtual X display of its own."""

    def __init__(self) -> None:
        read, write = os.pipe()
        self.process = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
            pass_fds=[write],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(write)
        with os.fdopen(read) as pipe:
            number = pipe.readline().strip()
        assert number, "Xvfb did not report its display"
        self.display = f":{number}"

    def close(self) -> None:
        end(self.process)


class SessionBus:
    """A private D-Bus session bus."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            ["dbus-daemon", "--session", "--nofork", "--print-address=1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.address = self.process.stdout.readline().strip()
        assert self.address, "dbus-daemon did not print its address"

    def close(self) -> None:
        end(self.process)


class Watcher(ServiceInterface):
    """`org.kde.StatusNotifierWatcher`, as a panel provides it: items register here."""

    def __init__(self) -> None:
        super().__init__("org.kde.StatusNotifierWatcher")
        self.items: list[tuple[str, str]] = []
        self.sender: str | None = None

    @method()
    def RegisterStatusNotifierItem(self, service: "s"):  # noqa: F821, N802
        # The sender is read by the message handler below (methods do not see it).
        self.items.append((self.sender or "", service))
        self.StatusNotifierItemRegistered(f"{self.sender}{service}")

    @method()
    def RegisterStatusNotifierHost(self, service: "s"):  # noqa: F821, N802
        pass

    @dbus_property(access=PropertyAccess.READ)
    def RegisteredStatusNotifierItems(self) -> "as":  # noqa: F821, N802
        return [f"{sender}{path}" for sender, path in self.items]

    @dbus_property(access=PropertyAccess.READ)
    def IsStatusNotifierHostRegistered(self) -> "b":  # noqa: F821, N802
        return True

    @dbus_property(access=PropertyAccess.READ)
    def ProtocolVersion(self) -> "i":  # noqa: F821, N802
        return 0

    @dbus_signal()
    def StatusNotifierItemRegistered(self, item) -> "s":  # noqa: F821, N802
        return item

    @dbus_signal()
    def StatusNotifierHostRegistered(self):  # noqa: N802
        return None


class Tray:
    """The tray item of the app: its menu read and clicked over dbusmenu."""

    def __init__(self, bus: MessageBus, sender: str, item_path: str) -> None:
        self.bus = bus
        self.sender = sender
        self.item_path = item_path
        self.menu_path: str | None = None

    async def call(self, path: str, interface: str, member: str, signature: str = "", body=None):
        reply = await self.bus.call(
            Message(
                destination=self.sender,
                path=path,
                interface=interface,
                member=member,
                signature=signature,
                body=body or [],
            )
        )
        if reply.message_type == MessageType.ERROR:
            raise AssertionError(f"{member}: {reply.error_name}: {reply.body}")
        return reply.body

    async def menu(self) -> str:
        if self.menu_path is None:
            body = await self.call(
                self.item_path,
                "org.freedesktop.DBus.Properties",
                "Get",
                "ss",
                ["org.kde.StatusNotifierItem", "Menu"],
            )
            self.menu_path = body[0].value
        return self.menu_path

    async def layout(self) -> list[dict]:
        """The whole menu as nested {'id', 'label', 'enabled', 'children'} dicts."""
        body = await self.call(
            await self.menu(), "com.canonical.dbusmenu", "GetLayout", "iias", [0, -1, []]
        )
        return [node(child.value) for child in body[1][2]]

    async def find(self, *labels_start: str) -> dict | None:
        """The item reached by following labels (each matched by its beginning)."""
        items = await self.layout()
        found = None
        for want in labels_start:
            found = next((i for i in items if i["label"].startswith(want)), None)
            if found is None:
                return None
            items = found["children"]
        return found

    async def click(self, item: dict) -> None:
        await self.call(
            await self.menu(),
            "com.canonical.dbusmenu",
            "Event",
            "isvu",
            [item["id"], "clicked", Variant("i", 0), int(time.time()) & 0xFFFFFFFF],
        )


# Where libayatana-appindicator exports the item of the tray id "procward".
ITEM_PATH = "/org/ayatana/NotificationItem/tray_icon_tray_app_procward"


def node(raw) -> dict:
    item_id, props, children = raw
    value = lambda key, default: props[key].value if key in props else default  # noqa: E731
    return {
        "id": item_id,
        "label": value("label", "").replace("_", ""),
        "enabled": value("enabled", True),
        "children": [node(child.value) for child in children],
    }


class Desktop:
    """Xvfb + a session bus + the watcher + the app, with one asyncio loop to drive them."""

    def __init__(self, home: Path, watcher: bool = True) -> None:
        self.home = home
        self.loop = asyncio.new_event_loop()
        self.xvfb = Xvfb()
        self.session = SessionBus()
        self.env = dict(
            os.environ,
            DISPLAY=self.xvfb.display,
            DBUS_SESSION_BUS_ADDRESS=self.session.address,
            PROCWARD_HOME=str(home),
            NO_AT_BRIDGE="1",
            GTK_A11Y="none",
            WEBKIT_DISABLE_COMPOSITING_MODE="1",
            LIBGL_ALWAYS_SOFTWARE="1",
        )
        self.bus = self.run(self._connect())
        self.watcher = Watcher()

        def note_sender(message: Message):
            if message.member == "RegisterStatusNotifierItem":
                self.watcher.sender = message.sender
            return None

        if watcher:
            self.bus.add_message_handler(note_sender)
            self.bus.export("/StatusNotifierWatcher", self.watcher)
            self.run(self.bus.request_name("org.kde.StatusNotifierWatcher"))
        self.log = open(home / "desktop.log", "wb")  # noqa: SIM115
        self.app = subprocess.Popen([str(APP)], env=self.env, stdout=self.log, stderr=self.log)
        self.tray = self.run(self._registered() if watcher else self._unregistered())

    async def _connect(self) -> MessageBus:
        return await MessageBus(bus_address=self.session.address).connect()

    async def _registered(self) -> Tray:
        async def registered():
            return self.watcher.items[-1] if self.watcher.items else None

        sender, path = await async_wait_until("the tray item to register", registered, 30)
        return Tray(self.bus, sender, path)

    async def _unregistered(self) -> Tray:
        """Without a watcher nothing registers (libayatana falls back to XEmbed): the
        item is found on the bus by the app's pid, at the path it would have announced."""

        async def call(member, signature="", body=None, destination="org.freedesktop.DBus"):
            return await self.bus.call(
                Message(destination=destination, path="/org/freedesktop/DBus",
                        interface="org.freedesktop.DBus", member=member, signature=signature, body=body or [])
            )

        async def found():
            for name in (await call("ListNames")).body[0]:
                if not name.startswith(":"):
                    continue
                owner = await call("GetConnectionUnixProcessID", "s", [name])
                if owner.message_type != MessageType.ERROR and owner.body[0] == self.app.pid:
                    tray = Tray(self.bus, name, ITEM_PATH)
                    try:
                        await tray.menu()
                    except AssertionError:
                        continue
                    return tray
            return None

        return await async_wait_until("the app's tray item on the bus", found, 30)

    def run(self, coroutine):
        return self.loop.run_until_complete(coroutine)

    def wait_for_item(self, *labels: str, timeout: float = 15.0) -> dict:
        """Waits until the menu shows the item (the app re-reads it every few seconds)."""
        return self.run(
            async_wait_until(f"menu item {labels}", lambda: self.tray.find(*labels), timeout)
        )

    def click(self, *labels: str) -> None:
        """Clicks the item reached by `labels`. The app replaces its menu when what it
        shows changes, and the ids with it: a click on an id that went stale in between
        is refused by dbusmenu (nothing happens), so it is found and clicked again."""
        for attempt in range(3):
            try:
                self.run(self.tray.click(self.wait_for_item(*labels)))
                return
            except AssertionError as e:
                if "does not refer to a menu item" not in str(e) or attempt == 2:
                    raise

    def visible_window(self) -> str | None:
        """The id of the app's visible window named "procward", if any."""
        found = subprocess.run(
            ["xdotool", "search", "--onlyvisible", "--name", "^procward$"],
            env=self.env,
            capture_output=True,
            text=True,
        )
        return found.stdout.split()[0] if found.stdout.split() else None

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / name
        subprocess.run(["import", "-window", "root", str(path)], env=self.env, check=True)
        return path

    def close(self) -> None:
        end(self.app)
        self.log.close()
        self.bus.disconnect()
        self.loop.close()
        self.session.close()
        self.xvfb.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


LISTENER = (
    "import socket, sys, time\n"
    "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen()\n"
    "print('listening', flush=True)\n"
    "time.sleep(600)\n"
)


def start_listener(port: int) -> subprocess.Popen:
    """A python3 listening on 127.0.0.1:port, started (and so owned) by this test."""
    process = subprocess.Popen(
        ["python3", "-c", LISTENER, str(port)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline().strip() == "listening"
    return process


def procward(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(PROCWARD), *args],
        env=dict(os.environ, PROCWARD_HOME=str(home)),
        capture_output=True,
        text=True,
        check=check,
        timeout=60,
    )


def tools_missing() -> list[str]:
    return [t for t in ("Xvfb", "dbus-daemon", "xdotool", "import") if shutil.which(t) is None]
