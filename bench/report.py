#!/usr/bin/env python3
"""Turn bench/run.sh's hyperfine JSON into the "Inspection" section of RESULTS.md.

Reads OUT/meta.env, OUT/ps.json and OUT/ports.json, then rewrites only the text
between <!-- bench:inspect:start --> and <!-- bench:inspect:end --> in the results
file (creating the file or appending the section when missing), so sections written
by other benchmarks survive. Python 3.11 standard library only.
"""

import argparse
import json
import re
from pathlib import Path

KEY, TITLE = "inspect", "Inspection (issue 2)"
INTRO = """# procward benchmarks

Each section below is written by a script under `bench/` from a real run on the
machine it names. A script rewrites only the text between its own
`<!-- bench:NAME:start -->` / `<!-- bench:NAME:end -->` markers and leaves the rest of
this file alone. Reproduce everything with `bash bench/run.sh` from the repository
root (times are hyperfine medians; ratios are medians divided by the reference's).
"""


def load_meta(path: Path) -> dict[str, str]:
    meta = {}
    for line in path.read_text().splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            meta[k] = v
    return meta


def load_group(path: Path) -> dict[str, dict]:
    """command name -> hyperfine result, times in milliseconds."""
    out = {}
    for r in json.loads(path.read_text())["results"]:
        ms = {k: r[k] * 1000 for k in ("mean", "stddev", "median", "min", "max")}
        out[r["command"]] = ms | {"runs": len(r["times"])}
    return out


def table(group: dict[str, dict], ref: str) -> str:
    rows = [
        "| command | median (ms) | mean ± σ (ms) | min … max (ms) | runs | vs `" + ref + "` |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    base = group[ref]["median"]
    for name, r in group.items():
        rows.append(
            f"| `{name}` | {r['median']:.1f} | {r['mean']:.1f} ± {r['stddev']:.1f} "
            f"| {r['min']:.1f} … {r['max']:.1f} | {r['runs']} | {r['median'] / base:.2f}x |"
        )
    return "\n".join(rows)


def check(ok: bool, text: str) -> str:
    return f"- **{'met' if ok else 'NOT met'}**: {text}"


def section(meta: dict[str, str], ps: dict, ports: dict) -> str:
    interval = float(meta["pw_interval_ms"])
    pw_ps = ps["procward ps --json"]["median"]
    pw_ps10 = ps["procward ps --json --interval 10ms"]["median"]
    ps_aux = ps["ps aux"]["median"]
    pw_ports = ports["procward ports --json"]["median"]
    ss = ports["ss -ltnup"]["median"]
    lsof = ports["lsof -i -P -n"]["median"]
    helper = json.loads(meta["listeners_helper"])
    procs_note = (
        "`procs` includes its own CPU sample (about 100 ms)."
        if meta["have_procs"] == "1"
        else "`procs` was not installed, so it was skipped (`BENCH_INSTALL_PROCS=1` installs it)."
    )
    checks = [
        check(pw_ports <= ss, f"`procward ports --json` ≤ `ss -ltnup`: {pw_ports:.1f} ms vs "
              f"{ss:.1f} ms ({pw_ports / ss:.2f}x)."),
        check(pw_ports <= lsof / 5, f"`procward ports --json` ≤ `lsof -i -P -n` / 5: {pw_ports:.1f} ms "
              f"vs {lsof / 5:.1f} ms (lsof {lsof:.1f} ms; lsof ÷ procward = {lsof / pw_ports:.1f})."),
        check(pw_ps - interval <= 1.5 * ps_aux,
              f"`procward ps --json` − {interval:.0f} ms sample ≤ 1.5 × `ps aux`: "
              f"{pw_ps - interval:.1f} ms vs {1.5 * ps_aux:.1f} ms "
              f"({(pw_ps - interval) / ps_aux:.2f}x `ps aux`)."),
    ]
    return f"""\
Run on {meta['date']}: {meta['nproc']} CPUs ({meta['cpu']}), kernel {meta['kernel']},
load average {meta['loadavg']} at start, commit {meta['commit']}, hyperfine {meta['hyperfine']}
(`-N`, 3 warm-ups, at least {meta['runs']} runs, output to /dev/null).
Reproduce: `bash bench/run.sh`.

### Processes

{meta['procs_at_start']} processes at the start ({meta['extra_procs']} of them extra `sleep`s started by the
benchmark; {meta.get('procs_at_ps_end', '?')} at the end). Rows reported: `procward ps` {meta['rows_procward_ps']},
`ps aux` {meta['rows_ps_aux']}. `procward ps` samples CPU for `--interval` ({interval:.0f} ms by default);
the `--interval 10ms` row shows the cost without most of that wait. {procs_note}

{table(ps, "ps aux")}

### Ports

{helper['total']} extra loopback listeners open ({', '.join(f"{v} {k}" for k, v in helper['counts'].items())});
{meta['listeners_ss']} listening TCP / bound UDP sockets on the machine in all (per `ss -ltnuH`).
Rows reported: `procward ports` {meta['rows_procward_ports']}, `ss -ltnup` {meta['rows_ss']},
`lsof -i -P -n` {meta['rows_lsof']} (lsof also lists connected sockets).

{table(ports, "ss -ltnup")}

### Targets

{chr(10).join(checks)}
- For reference, `procward ps --json --interval 10ms` − 10 ms is {pw_ps10 - 10:.1f} ms
  ({(pw_ps10 - 10) / ps_aux:.2f}x `ps aux`).
- Figures in the issue (121 processes, 11 listeners, another machine): `ps aux` 6.2 ms,
  `procs` 110.9 ms, `ss -ltnp` 3.6 ms, `lsof -nP -i` 7.0 ms."""


def upsert(path: Path, body: str) -> None:
    start, end = f"<!-- bench:{KEY}:start -->", f"<!-- bench:{KEY}:end -->"
    text = path.read_text() if path.exists() else INTRO
    block = f"{start}\n{body}\n{end}"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text, count=1)
    else:
        text = text.rstrip("\n") + f"\n\n## {TITLE}\n\n{block}\n"
    path.write_text(text)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out-dir", type=Path, default=Path("bench/out"))
    p.add_argument("--results", type=Path, default=Path("bench/RESULTS.md"))
    a = p.parse_args()
    meta = load_meta(a.out_dir / "meta.env")
    body = section(meta, load_group(a.out_dir / "ps.json"), load_group(a.out_dir / "ports.json"))
    upsert(a.results, body)


if __name__ == "__main__":
    main()
