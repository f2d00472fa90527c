"""The job queue's MCP tools (queue_add, queue_list, queue_status, queue_logs,
queue_cancel, queue_retry) against a real daemon: a job runs and its output is read,
bad requests are tool errors naming the field and queue nothing, cancel ends a running
job's whole process group, retry queues a failed job again, and a read-only server
offers only the read tools.

Every test cancels the jobs it leaves running before teardown (the home's cleanup does
too, as a second line)."""

from __future__ import annotations

import contextlib

import anyio
import pytest
from mcp_support import alive, eventually, fails, ok, stdio_session, wait_gone

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]

ENDED = {"completed", "failed", "cancelled"}


async def status(session, job_id: int) -> dict:
    data, _ = await ok(session, "queue_status", {"id": job_id})
    return data


async def until_state(session, job_id: int, states: set[str], timeout: float = 20) -> dict:
    async def check():
        data = await status(session, job_id)
        return data if data["state"] in states else None

    return await eventually(check, timeout=timeout)


async def running_pid(session, job_id: int) -> int:
    async def check():
        data = await status(session, job_id)
        return data["pid"] if data["state"] == "running" and data["pid"] else None

    return await eventually(check, timeout=20)


@contextlib.asynccontextmanager
async def cancelled_at_exit(session, ids: list[int]):
    """Cancels every job in `ids` that has not ended when the block exits."""
    try:
        yield
    finally:
        with anyio.CancelScope(shield=True):
            for job_id in ids:
                data = await status(session, job_id)
                if data["state"] not in ENDED:
                    await session.call_tool("queue_cancel", {"id": job_id})


async def test_a_job_runs_and_its_output_is_read(home):
    async with stdio_session(home) as session:
        data, _ = await ok(session, "queue_list")
        assert data["jobs"] == [] and data["total"] == 0

        added, text = await ok(session, "queue_add", {"command": "sh -c 'echo hi'"})
        job_id = added["id"]
        assert isinstance(job_id, int) and job_id > 0
        assert f"job {job_id}" in text
        assert added["command"] == ["sh", "-c", "echo hi"]  # split like start_process
        assert added["group"] == "default" and added["priority"] == 0 and added["max_attempts"] == 3

        done = await until_state(session, job_id, ENDED)
        assert done["state"] == "completed", done
        assert done["exit_code"] == 0
        [attempt] = done["attempts"]
        assert attempt["number"] == 1 and attempt["exit_code"] == 0 and attempt["outcome"] == "exit 0"
        # Not `ended_ms >= started_ms`: the daemon stamps a fast job's start when the shim's
        # report is handled, which can come after the shim stamped its end.
        assert attempt["pid"] > 0 and attempt["started_ms"] and attempt["ended_ms"]
        assert attempt["ran_seconds"] >= 0

        logs, text = await ok(session, "queue_logs", {"id": job_id})
        assert [line["text"] for line in logs["lines"]] == ["hi"]
        assert logs["attempt"] == 1 and logs["truncated"] is False
        assert text.splitlines()[-1] == "hi"

        # The argv form, and a shell line (`$VAR`, a pipe) with env and cwd.
        argv, _ = await ok(session, "queue_add", {
            "command": ["sh", "-c", 'echo "$PW_QUEUE_TEST in $(pwd)" >&2'],
            "env": {"PW_QUEUE_TEST": "queued"}, "cwd": str(home.path), "labels": {"ticket": "ops-1"},
        })
        await until_state(session, argv["id"], {"completed"})
        logs, text = await ok(session, "queue_logs", {"id": argv["id"], "stream": "stderr"})
        assert [line["text"] for line in logs["lines"]] == [f"queued in {home.path}"]
        assert logs["lines"][0]["stream"] == "stderr" and f"err| queued in {home.path}" in text
        logs, _ = await ok(session, "queue_logs", {"id": argv["id"], "stream": "stdout"})
        assert logs["lines"] == []

        listed, text = await ok(session, "queue_list")
        assert [j["id"] for j in listed["jobs"]] == [job_id, argv["id"]]
        assert listed["jobs"][1]["labels"] == {"ticket": "ops-1"}
        assert "2 completed" in text
        listed, _ = await ok(session, "queue_list", {"states": ["running", "failed"]})
        assert listed["jobs"] == []
        listed, text = await ok(session, "queue_list", {"limit": 1})
        assert [j["id"] for j in listed["jobs"]] == [argv["id"]] and listed["more"] == 1
        assert "1 older" in text


async def test_bad_requests_are_tool_errors_naming_the_field_and_queue_nothing(home):
    async with stdio_session(home) as session:
        for args, field in [
            ({"command": ["true"], "priority": -1}, "priority"),
            ({"command": ["true"], "priority": 1001}, "priority"),
            ({"command": ["true"], "group": "nope"}, "group"),
            ({"command": []}, "command"),
            ({"command": ""}, "command"),
            ({"command": ["true"], "attempts": 0}, "attempts"),
            ({"command": ["true"], "backoff": "linear:2s"}, "backoff"),
            ({"command": ["true"], "timeout_seconds": 0.01}, "timeout"),
            ({"command": ["true"], "delay_seconds": -1}, "delay_seconds"),
            ({"command": ["true"], "delay_seconds": 400 * 86400}, "delay"),
            ({"command": ["true"], "after": [999]}, "after"),
            ({"command": ["true"], "cwd": "relative/dir"}, "cwd"),
            ({"command": ["true"], "labels": {"bad key": "v"}}, "labels"),
        ]:
            text = await fails(session, "queue_add", args)
            assert field in text, f"{args}: {text}"
            assert "invalid" in text, f"{args}: {text}"
        text = await fails(session, "queue_add", {"command": ["true"], "priority": -1})
        assert "negative" in text, text
        text = await fails(session, "queue_add", {"command": ["true"], "group": "nope"})
        assert "nope" in text, text

        data, _ = await ok(session, "queue_list")
        assert data["jobs"] == [], f"a refused queue_add queued something: {data['jobs']}"

        for tool in ("queue_status", "queue_logs", "queue_cancel", "queue_retry"):
            text = await fails(session, tool, {"id": 999})
            assert "not found" in text and "999" in text and "queue_list" in text, f"{tool}: {text}"
        text = await fails(session, "queue_list", {"states": ["done"]})
        assert "states" in text and "completed" in text, text
        text = await fails(session, "queue_add", {"command": ["true"], "colour": "red"})
        assert "colour" in text, text


async def test_cancel_ends_a_running_job_and_its_process_group(home):
    async with stdio_session(home) as session:
        added, _ = await ok(session, "queue_add", {"command": ["sleep", "60"]})
        job_id = added["id"]
        # A shell with a background child: cancel must end the whole group.
        tree, _ = await ok(session, "queue_add", {"command": "sleep 61 & echo $!; wait"})
        async with cancelled_at_exit(session, [job_id, tree["id"]]):
            pid = await running_pid(session, job_id)
            assert alive(pid)
            data, text = await ok(session, "queue_cancel", {"id": job_id})
            assert data["state"] == "cancelled" and "cancelled" in text
            assert data["attempts"][0]["pid"] == pid and data["attempts"][0]["ended_ms"]
            assert wait_gone(pid, 5), f"pid {pid} of cancelled job {job_id} is still alive"

            await running_pid(session, tree["id"])

            async def child_pid():
                logs, _ = await ok(session, "queue_logs", {"id": tree["id"]})
                return int(logs["lines"][0]["text"]) if logs["lines"] else None

            child = await eventually(child_pid)
            assert alive(child)
            data, _ = await ok(session, "queue_cancel", {"id": tree["id"]})
            assert data["state"] == "cancelled"
            assert wait_gone(child, 5), f"the background child {child} outlived its cancelled job"

            text = await fails(session, "queue_cancel", {"id": job_id})
            assert "refused" in text and "cancelled" in text, text

            # Retry queues it again (a new attempt), which is cancelled in turn.
            again, text = await ok(session, "queue_retry", {"id": job_id})
            assert again["state"] in {"queued", "running"}, again
            second = await eventually(lambda: _second_attempt_pid(session, job_id))
            assert second != pid and alive(second)
            data, _ = await ok(session, "queue_cancel", {"id": job_id})
            assert data["state"] == "cancelled" and len(data["attempts"]) == 2
            assert wait_gone(second, 5)


async def _second_attempt_pid(session, job_id: int) -> int | None:
    data = await status(session, job_id)
    attempts = data["attempts"]
    if data["state"] == "running" and len(attempts) == 2 and attempts[1]["ended_ms"] is None:
        return attempts[1]["pid"]
    return None


async def test_failed_attempts_are_kept_and_their_logs_read(home):
    async with stdio_session(home) as session:
        added, _ = await ok(session, "queue_add", {
            "command": ["sh", "-c", "echo oops >&2; exit 3"], "attempts": 2, "backoff": "fixed:100ms",
            "timeout_seconds": 30,
        })
        job_id = added["id"]
        done = await until_state(session, job_id, ENDED)
        assert done["state"] == "failed" and done["exit_code"] == 3, done
        assert [a["outcome"] for a in done["attempts"]] == ["exit 3", "exit 3"]
        assert done["backoff"].startswith("fixed:100ms") and done["timeout_seconds"] == 30
        logs, text = await ok(session, "queue_logs", {"id": job_id, "attempt": 1})
        assert logs["attempt"] == 1 and [line["text"] for line in logs["lines"]] == ["oops"]
        assert "err| oops" in text
        text = await fails(session, "queue_logs", {"id": job_id, "attempt": 5})
        assert "not found" in text and "attempt 5" in text, text
        text = await fails(session, "queue_logs", {"id": job_id, "lines": 501})
        assert "lines" in text, text

        fine, _ = await ok(session, "queue_add", {"command": ["true"]})
        await until_state(session, fine["id"], {"completed"})
        text = await fails(session, "queue_retry", {"id": fine["id"]})
        assert "refused" in text and "completed" in text, text

        again, _ = await ok(session, "queue_retry", {"id": job_id})
        assert again["state"] in {"queued", "running", "delayed", "failed"}, again
        done = await until_state(session, job_id, {"failed"})
        assert len(done["attempts"]) == 4, "a retried job gets its full attempts again"


async def test_a_delayed_job_waits_and_is_listed_by_state(home):
    async with stdio_session(home) as session:
        added, text = await ok(session, "queue_add", {
            "command": ["true"], "delay_seconds": 60, "priority": 5, "labels": {"kind": "later"},
        })
        job_id = added["id"]
        async with cancelled_at_exit(session, [job_id]):
            assert added["state"] == "delayed" and added["run_at_ms"] and added["priority"] == 5
            assert "starts in" in text
            listed, _ = await ok(session, "queue_list", {"states": ["delayed"], "group": "default"})
            assert [j["id"] for j in listed["jobs"]] == [job_id]
            listed, text = await ok(session, "queue_list", {"group": "other"})
            assert listed["jobs"] == [] and "No jobs in group other" in text
            logs, text = await ok(session, "queue_logs", {"id": job_id})
            assert logs["lines"] == [] and "not started" in text
            data, _ = await ok(session, "queue_cancel", {"id": job_id})
            assert data["state"] == "cancelled" and data["attempts"] == []


async def test_read_only_hides_queue_add_and_cancel(home):
    async with stdio_session(home) as session:
        added, _ = await ok(session, "queue_add", {"command": ["sh", "-c", "echo seen"]})
        await until_state(session, added["id"], {"completed"})
        sleeper, _ = await ok(session, "queue_add", {"command": ["sleep", "60"]})
        async with cancelled_at_exit(session, [sleeper["id"]]):
            pid = await running_pid(session, sleeper["id"])
            async with stdio_session(home, "--read-only") as reader:
                names = {t.name for t in (await reader.list_tools()).tools}
                assert {"queue_list", "queue_status", "queue_logs"} <= names
                assert not names & {"queue_add", "queue_cancel", "queue_retry"}, names
                for tool, args in [
                    ("queue_add", {"command": ["touch", str(home.path / "nope")]}),
                    ("queue_cancel", {"id": sleeper["id"]}),
                    ("queue_retry", {"id": added["id"]}),
                ]:
                    text = await fails(reader, tool, args)
                    assert "read-only" in text, text
                assert alive(pid), "a read-only queue_cancel ended the job"
                listed, _ = await ok(reader, "queue_list")
                assert [j["id"] for j in listed["jobs"]] == [added["id"], sleeper["id"]]
                logs, _ = await ok(reader, "queue_logs", {"id": added["id"]})
                assert [line["text"] for line in logs["lines"]] == ["seen"]
                data, _ = await ok(reader, "queue_status", {"id": sleeper["id"]})
                assert data["state"] == "running"
            assert not (home.path / "nope").exists()
            await ok(session, "queue_cancel", {"id": sleeper["id"]})
            assert wait_gone(pid, 5)
