"""PID-reuse torture, run as PID 1 of a fresh PID namespace (`unshare -pf --mount-proc`).

For every door that kills by pid (CLI `procward kill --start-ticks`, gRPC
`KillProcess(expected_start_ticks)` through the Python client, MCP `kill_process` over
stdio, socket.io `process:kill` with `expectedStartTicks`), again and again:

1. start a victim (`sleep 1000`) and look it up through the door (its `start_ticks`);
2. kill and reap the victim, write `pid - 1` to /proc/sys/kernel/ns_last_pid and start a
   successor, which gets the victim's pid (retried when another process took it);
3. ask the door to kill the victim by pid with the ticks it saw (and, every other time,
   also the victim's start second, which the successor shares most of the time: the case
   a seconds-only check lets through);
4. count a wrong kill if the successor died, and check the call was refused saying the
   start_ticks differ.

Only processes this driver started are signalled; when it exits, the namespace ends and
the kernel kills anything left in it. Prints one JSON line of counts last.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc
import procward
import socketio
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

BIN = os.environ["PROCWARD_BIN"]
PER_DOOR = int(os.environ.get("PW_REUSES_PER_DOOR", "30"))
# Of each door's reuses, at least this many must share the victim's start second.
SAME_SECOND_PER_DOOR = PER_DOOR * 3 // 4
MAX_ATTEMPTS = PER_DOOR * 6
HZ = os.sysconf("SC_CLK_TCK")


def stat(pid: int) -> tuple[str, int] | None:
    """(state, start ticks) of pid, or None when it does not exist."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text.rsplit(")", 1)[1].split()
    return fields[0], int(fields[19])


def boot_time() -> int:
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("btime "):
            return int(line.split()[1])
    raise RuntimeError("no btime in /proc/stat")


BOOT = boot_time()


def seconds(ticks: int) -> int:
    """Unix seconds of a start time in ticks, as procward computes start_time."""
    return BOOT + ticks // HZ


def sleeper() -> subprocess.Popen:
    return subprocess.Popen(["sleep", "1000"], stdin=subprocess.DEVNULL)


def end(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def successor_at(pid: int) -> subprocess.Popen | None:
    """A new `sleep` holding `pid` (freed by the caller), or None when others took it."""
    for _ in range(20):
        Path("/proc/sys/kernel/ns_last_pid").write_text(str(pid - 1))
        proc = sleeper()
        if proc.pid == pid:
            return proc
        end(proc)
    return None


class Counts:
    def __init__(self) -> None:
        self.reuses = 0
        self.same_second = 0
        self.wrong_kills = 0
        self.refused = 0
        self.unclear = []  # refusals whose message does not say what differed
        self.seen_wrong = 0  # door showed other ticks than /proc
        self.same_tick = 0  # successor in the victim's 10 ms tick: cannot be told apart
        self.missed = 0  # another process took the freed pid

    def as_dict(self) -> dict:
        return {k: v for k, v in vars(self).items() if k != "unclear"} | {"unclear": self.unclear[:3]}


async def torture(door: str, see, kill) -> Counts:
    """Reuse loop for one door. `see(pid)` -> start_ticks the door shows;
    `kill(pid, ticks, secs)` -> (refused, message)."""
    counts = Counts()
    attempts = 0
    while (counts.reuses < PER_DOOR or counts.same_second < SAME_SECOND_PER_DOOR) and attempts < MAX_ATTEMPTS:
        attempts += 1
        victim = sleeper()
        pid = victim.pid
        seen = await see(pid)
        real = stat(pid)[1]
        if seen != real:
            counts.seen_wrong += 1
        # At least one tick between victim and successor (the resolution of start_ticks).
        await asyncio.sleep(0.015)
        end(victim)
        successor = successor_at(pid)
        if successor is None:
            counts.missed += 1
            continue
        try:
            now = stat(pid)
            if now is None or now[1] == seen:
                counts.same_tick += 1
                continue
            counts.reuses += 1
            same_second = seconds(now[1]) == seconds(seen)
            counts.same_second += same_second
            secs = seconds(seen) if counts.reuses % 2 == 0 else None
            refused, message = await kill(pid, seen, secs)
            # A kill request waits for the exit, so a signal would have landed by now.
            after = stat(pid)
            if successor.poll() is not None or after is None or after[1] != now[1] or after[0] in "ZX":
                counts.wrong_kills += 1
            elif refused:
                counts.refused += 1
                if "start_ticks" not in message:
                    counts.unclear.append(message)
            else:
                counts.unclear.append(f"not refused: {message}")
        finally:
            end(successor)
    print(f"{door}: {json.dumps(counts.as_dict())}", flush=True)
    return counts


def cli_door(env: dict):
    async def run(*args: str) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            BIN, *args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = await proc.communicate()
        return proc.returncode, out.decode(), err.decode()

    first = True

    async def see(pid: int) -> int:
        nonlocal first
        if not first:
            return stat(pid)[1]
        first = False
        code, out, err = await run("ps", "--json", "--name", "sleep")
        assert code == 0, err
        return next(p["start_ticks"] for p in json.loads(out) if p["pid"] == pid)

    async def kill(pid: int, ticks: int, secs: int | None) -> tuple[bool, str]:
        args = ["kill", str(pid), "--start-ticks", str(ticks)]
        if secs is not None:
            args += ["--start-time", str(secs)]
        code, out, err = await run(*args)
        return code == 2, err + out

    return see, kill


def grpc_door(client: procward.ProcessManagerServiceClient):
    async def see(pid: int) -> int:
        return (await client.get_process_info(pid)).start_ticks

    async def kill(pid: int, ticks: int, secs: int | None) -> tuple[bool, str]:
        try:
            result = await client.kill_process(pid, expected_start_ticks=ticks, expected_start_time=secs)
        except grpc.aio.AioRpcError as e:
            return e.code() == grpc.StatusCode.FAILED_PRECONDITION, e.details() or ""
        return False, str(result)

    return see, kill


def mcp_door(session: ClientSession):
    def text(result) -> str:
        return "\n".join(getattr(block, "text", "") for block in result.content)

    async def see(pid: int) -> int:
        result = await session.call_tool("get_process_info", {"pid": pid})
        assert not result.is_error and result.structured_content, text(result)
        return result.structured_content["start_ticks"]

    async def kill(pid: int, ticks: int, secs: int | None) -> tuple[bool, str]:
        args = {"pid": pid, "expected_start_ticks": ticks}
        if secs is not None:
            args["expected_start_time"] = secs
        result = await session.call_tool("kill_process", args)
        return bool(result.is_error), text(result)

    return see, kill


def socketio_door(client: socketio.AsyncClient):
    first = True

    async def see(pid: int) -> int:
        # The list is the daemon's periodic sample: a new process shows up within seconds.
        # Checked once (it must show /proc's ticks); later rounds read /proc directly so
        # that victim and successor still start within the same second.
        nonlocal first
        if not first:
            return stat(pid)[1]
        first = False
        for _ in range(100):
            ack = await client.call("processes:list", {"name": "sleep"}, timeout=10)
            assert ack["ok"], ack
            row = next((p for p in ack["processes"] if p["pid"] == pid), None)
            if row is not None:
                return row["start_ticks"]
            await asyncio.sleep(0.1)
        raise AssertionError(f"pid {pid} never appeared in processes:list")

    async def kill(pid: int, ticks: int, secs: int | None) -> tuple[bool, str]:
        payload = {"pid": pid, "expectedStartTicks": ticks}
        if secs is not None:
            payload["expectedStartTime"] = secs
        ack = await client.call("process:kill", payload, timeout=30)
        return not ack.get("ok"), ack.get("error") or ack.get("message", "")

    return see, kill


@contextlib.contextmanager
def daemon(home: Path, env: dict):
    proc = subprocess.Popen([BIN, "daemon", "--listen", "127.0.0.1:0"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not (home / "tcp.json").exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the daemon did not start")
            time.sleep(0.02)
        yield json.loads((home / "tcp.json").read_text())["address"]
    finally:
        subprocess.run([BIN, "daemon", "stop"], env=env, capture_output=True, timeout=30)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def main() -> int:
    assert os.getpid() == 1, "run me as PID 1 of a new PID namespace (unshare -pf --mount-proc)"
    with tempfile.TemporaryDirectory(prefix="procward-reuse-") as tmp:
        home = Path(tmp)
        env = {**os.environ, "PROCWARD_HOME": str(home), "XDG_CONFIG_HOME": str(home / "config"), "NO_COLOR": "1"}
        env.pop("PROCWARD_CONFIG", None)
        results = {}
        with daemon(home, env) as address:
            results["cli"] = await torture("cli", *cli_door(env))
            async with procward.ProcessManagerServiceClient(procward.connect_from_home(home), timeout=30) as client:
                results["grpc"] = await torture("grpc", *grpc_door(client))
            params = StdioServerParameters(command=BIN, args=["mcp", "--allow-kill", "any"], env=env)
            async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
                await session.initialize()
                results["mcp"] = await torture("mcp", *mcp_door(session))
            client = socketio.AsyncClient(reconnection=False)
            token = (home / "token").read_text().strip()
            await client.connect(f"http://{address}", auth={"token": token}, transports=["websocket"], wait_timeout=10)
            try:
                results["socketio"] = await torture("socketio", *socketio_door(client))
            finally:
                await client.disconnect()
    total = {key: sum(getattr(c, key) for c in results.values())
             for key in ("reuses", "same_second", "wrong_kills", "refused", "seen_wrong", "same_tick", "missed")}
    total["unclear"] = [m for c in results.values() for m in c.unclear][:5]
    total["doors"] = {door: c.reuses for door, c in results.items()}
    print("TOTAL " + json.dumps(total), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
