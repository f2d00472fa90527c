"""Every ```python example in README.md that ends in asyncio.run(main()) runs as written,
as a script against a real daemon (PROCWARD_HOME points at it)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from conftest import Daemon

README = Path(__file__).resolve().parents[1] / "README.md"


def examples() -> list[str]:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    return [b for b in blocks if "asyncio.run(main())" in b]


def run_example(daemon: Daemon, index: int, tmp_path: Path) -> str:
    code = examples()[index]
    script = tmp_path / f"example{index + 1}.py"
    script.write_text(code)
    done = subprocess.run(
        [sys.executable, str(script)],
        env=daemon.env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, (
        f"example {index + 1} failed:\n{done.stdout}\n{done.stderr}\ndaemon:\n{daemon.stderr()}"
    )
    return done.stdout


def test_readme_examples_present() -> None:
    assert len(examples()) == 5  # 2 and 3 share one script


def test_example_top5(daemon: Daemon, tmp_path: Path) -> None:
    out = run_example(daemon, 0, tmp_path).splitlines()
    assert 1 <= len(out) <= 5
    cpus = [float(re.search(r"([\d.]+)%", line).group(1)) for line in out]
    assert cpus == sorted(cpus, reverse=True)


def test_example_http_server(daemon: Daemon, tmp_path: Path) -> None:
    out = run_example(daemon, 1, tmp_path)
    pid = int(re.search(r"started (\d+)", out).group(1))
    daemon.track(pid)
    assert "Serving HTTP" in out
    assert '"GET / HTTP/1.1" 200' in out
    lines = out.splitlines()
    # `for line in await pw.get_logs(...): print(line)` prints the text itself.
    assert any(line.startswith("Serving HTTP on 127.0.0.1 port") for line in lines), out
    assert any(line.startswith("[stdout] Serving HTTP") for line in lines), out
    assert "success: True" in out


def test_example_monitor(daemon: Daemon, tmp_path: Path) -> None:
    out = run_example(daemon, 2, tmp_path).splitlines()
    assert len(out) == 3 and all(line.startswith("cpu") for line in out)


def test_example_errors(daemon: Daemon, tmp_path: Path) -> None:
    out = run_example(daemon, 3, tmp_path).splitlines()
    assert out[0].startswith("NOT_FOUND")
    assert out[1].startswith("refused:")
    assert out[2].startswith("INVALID_ARGUMENT")


def test_example_queue(daemon: Daemon, tmp_path: Path) -> None:
    out = run_example(daemon, 4, tmp_path).splitlines()
    assert out[:3] == ["hello from job 1", "bye", "job 1: completed, exit 0"], out
    assert out[3:9] == [
        "job 2: queued (attempt 0)",
        "job 2: running (attempt 1)",
        "job 2: delayed (attempt 1)",
        "job 2: queued (attempt 1)",
        "job 2: running (attempt 2)",
        "job 2: failed (attempt 2)",
    ], out
    assert out[9] == "reason: attempt 2 of 2: exit 3", out
    assert out[10] == "cancel: cancelled", out
    assert out[11].startswith("INVALID_ARGUMENT ") and "no-such-group" in out[11], out
    assert out[12] == "removed [1, 2, 3]", out
    assert len(out) == 13, out
