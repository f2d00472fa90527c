"""The app's commands through `procward-desktop invoke` (the same handlers the window
calls): the kill policy with a daemon, bad input, and elevation through a pkexec stand-in
exiting 126 and 127, run as an unprivileged user (needs root to create it; skipped
otherwise)."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from desktop_support import APP, PROCWARD, free_port, procward, start_listener, wait_until


def invoke(home: Path, name: str, args: dict | None = None, **run) -> tuple[int, dict | list | str]:
    command = [str(APP), "invoke", name] + ([json.dumps(args)] if args is not None else [])
    done = subprocess.run(
        command,
        env=dict(os.environ, PROCWARD_HOME=str(home), **run.pop("env", {})),
        capture_output=True,
        text=True,
        timeout=60,
        **run,
    )
    try:
        return done.returncode, json.loads(done.stdout)
    except json.JSONDecodeError:
        return done.returncode, done.stderr


def start_ticks(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])


def test_get_ports_is_the_seed_contract(home, children):
    port = free_port()
    listener = start_listener(port)
    children.append(listener)
    code, ports = invoke(home, "get_ports")
    assert code == 0
    mine = [p for p in ports if p["port"] == port]
    assert mine and mine[0]["pid"] == listener.pid and mine[0]["process_name"] == "python3"
    assert set(mine[0]) >= {"protocol", "local_address", "port", "pid", "process_name", "user", "uid"}


def test_a_recycled_pid_is_refused_and_the_right_one_killed(home, children):
    port = free_port()
    listener = start_listener(port)
    children.append(listener)
    ticks = start_ticks(listener.pid)
    code, result = invoke(home, "kill_process", {"pid": listener.pid, "startTicks": ticks + 1})
    assert code == 1 and result["status"] == "Refused", result
    assert listener.poll() is None
    code, result = invoke(home, "kill_process", {"pid": listener.pid, "startTicks": ticks})
    assert code == 0 and result["status"] == "Success", result
    assert listener.wait(10) == -15


@pytest.mark.parametrize(
    "args, words",
    [
        ({"pid": 1}, "init"),
        ({"pid": 0}, "PID 0"),
        ({"pid": -1}, "-1"),
        ({"pid": 2**31}, "2147483648"),
    ],
)
def test_protected_pids_are_refused(home, args, words):
    code, result = invoke(home, "kill_process", args)
    assert code == 1 and result["status"] == "Refused" and words in result["message"], result


def test_malformed_calls_are_errors(home):
    for name, args, words in [
        ("kill_process", {}, "pid"),
        ("kill_process", {"pid": "12"}, "pid"),
        ("kill_process", {"pid": 12, "startTicks": -3}, "startTicks"),
        ("explode", {}, "unknown command"),
        ("managed_action", {"name": "web", "action": "delete"}, "unknown action"),
    ]:
        code, err = invoke(home, name, args)
        assert code != 0 and words in err, (name, args, err)


def test_no_such_process(home, children):
    gone = subprocess.Popen(["true"])
    gone.wait()
    code, result = invoke(home, "kill_process", {"pid": gone.pid})
    assert code == 1 and result["status"] == "NotFound", result


def test_a_managed_pid_killed_by_the_app_is_stopped_not_resurrected(home):
    port = free_port()
    script = f"import socket,time; s=socket.socket(); s.bind(('127.0.0.1',{port})); s.listen(); time.sleep(600)"
    procward(home, "start", "web", "--restart", "always", "--", "python3", "-c", script)
    pid = json.loads(procward(home, "status", "web", "--json").stdout)["pid"]

    def listed():
        _, overview = invoke(home, "overview")
        return next((r for r in overview["ports"] if r["port"] == port), None) and overview

    overview = wait_until("the managed listener to bind", listed, 10)
    row = next(r for r in overview["ports"] if r["port"] == port)
    assert overview["daemon"] and row["managed"] == "web" and row["confirm"], row
    code, result = invoke(home, "kill_process", {"pid": pid, "startTicks": row["start_ticks"]})
    assert code == 0 and result["status"] == "Success" and "supervisor" in result["message"], result
    time.sleep(2)  # a restart policy of "always" would have brought it back by now
    status = json.loads(procward(home, "status", "web", "--json").stdout)
    assert status["state"] == "stopped", status
    audit = procward(home, "audit", "--json").stdout
    assert "desktop" in audit, audit


# --- elevation: an unprivileged user, a root-owned target, pkexec stand-ins ----------------

USER = "procward-test"


def unprivileged_user():
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run as an unprivileged user")
    try:
        pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER], check=True)
    entry = pwd.getpwnam(USER)
    return entry.pw_uid, entry.pw_gid


@pytest.mark.parametrize("code, words", [(126, "dismissed"), (127, "exit 127")])
def test_pkexec_exits_are_reported_and_nothing_is_signalled(code, words):
    uid, gid = unprivileged_user()
    target = subprocess.Popen(["sleep", "300"])  # root's, started by this test
    fake = Path(tempfile.mkdtemp(prefix="pw-pkexec-"))
    try:
        os.chmod(fake, 0o755)
        (fake / "pkexec").write_text(f"#!/bin/sh\necho 'fake pkexec: exit {code}' >&2\nexit {code}\n")
        os.chmod(fake / "pkexec", 0o755)
        home = Path(tempfile.mkdtemp(prefix="pw-desk-user-"))
        os.chown(home, uid, gid)
        done = subprocess.run(
            ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", str(APP), "invoke",
             "kill_process_elevated", json.dumps({"pid": target.pid, "startTicks": start_ticks(target.pid)})],
            env={"PATH": f"{fake}:/usr/bin:/bin", "PROCWARD_HOME": str(home), "PROCWARD_HELPER": str(PROCWARD)},
            capture_output=True, text=True, timeout=60,
        )
        result = json.loads(done.stdout)
        assert done.returncode == 1 and result["status"] == "Failed", (result, done.stderr)
        assert words in result["message"] and "nothing was signalled" in result["message"], result
        assert target.poll() is None, "the target must be left running"
        # Without elevation the same user is told so.
        plain = subprocess.run(
            ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", str(APP), "invoke",
             "kill_process", json.dumps({"pid": target.pid})],
            env={"PATH": "/usr/bin:/bin", "PROCWARD_HOME": str(home)}, capture_output=True, text=True, timeout=60,
        )
        assert json.loads(plain.stdout)["status"] == "PermissionDenied", plain.stdout
        assert target.poll() is None
    finally:
        target.kill()
        target.wait()
        shutil.rmtree(fake, ignore_errors=True)
