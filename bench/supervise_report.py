#!/usr/bin/env python3
"""Turn bench/supervise.sh's JSON into the "Supervisor (issue 3)" section of RESULTS.md.

Reads OUT/meta.env, OUT/reference.json and OUT/{procward,pm2,supervisord,pueue}.json,
then rewrites only the text between <!-- bench:supervise:start --> and
<!-- bench:supervise:end --> in the results file (appending the section under a
"## Supervisor (issue 3)" heading when the markers are missing), so sections written by
other benchmarks survive. Python 3.11 standard library only.
"""

import argparse
import json
import re
from pathlib import Path

KEY, TITLE = "supervise", "Supervisor (issue 3)"
PEERS = ["pm2", "supervisord", "pueue"]
TOOLS = ["procward"] + PEERS
INTRO = """# procward benchmarks

Each section below is written by a script under `bench/` from a real run on the
machine it names. A script rewrites only the text between its own
`<!-- bench:NAME:start -->` / `<!-- bench:NAME:end -->` markers and leaves the rest of
this file alone.
"""
# the peers' figures quoted in issue 3 (same machine kind, another day)
ISSUE = {
    "idle_rss": {"pm2": 57.7, "supervisord": 18.1, "pueue": 42.0},
    "starts50": {"pm2": 8.24, "supervisord": 4.97, "pueue": 0.152},
    "list50": {"pm2": 162, "supervisord": 98, "pueue": 4.2},
    "cold": {"pm2": 430, "supervisord": 210, "pueue": 14},
    "flood": {"pm2": 0.72, "supervisord": 0.60, "pueue": 0.54, "seq > file": 0.38},
}


def load_meta(path: Path) -> dict[str, str]:
    meta = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if "=" in line:
                k, v = line.split("=", 1)
                meta[k] = v
    return meta


def get(d, *path):
    for p in path:
        if not isinstance(d, dict) or d.get(p) is None:
            return None
        d = d[p]
    return d


def mb(kb):
    return None if kb is None else kb / 1024


def fmt(v, digits=1, unit=""):
    if v is None:
        return "—"
    return f"{v:,.{digits}f}{unit}"


class Row:
    def __init__(self, label, values, digits=1, note="", peers=PEERS):
        self.label, self.values, self.digits, self.note, self.peers = label, values, digits, note, peers

    def best_peer(self):
        vals = [(self.values[p], p) for p in self.peers if self.values.get(p) is not None]
        return min(vals) if vals else None

    def ratio(self):
        bp = self.best_peer()
        pw = self.values.get("procward")
        if bp is None or pw is None or bp[0] == 0:
            return None
        return pw / bp[0]

    def md(self, tools):
        cells = [fmt(self.values.get(t), self.digits) for t in tools]
        bp = self.best_peer()
        r = self.ratio()
        best = f"{bp[1]} {fmt(bp[0], self.digits)}" if bp else "—"
        rs = "—" if r is None else f"**{r:.2f}x**" if r <= 1 else f"{r:.2f}x"
        return f"| {self.label} | " + " | ".join(cells) + f" | {best} | {rs} |"


def check(ok, text):
    if ok is None:
        return f"- **not measured**: {text}"
    return f"- **{'met' if ok else 'NOT met'}**: {text}"


def section(meta: dict, ref: dict, res: dict[str, dict]) -> str:
    tools = [t for t in TOOLS if t in res]
    pw = res.get("procward", {})
    seq_s = ref.get("median_s")

    def col(fn):
        out = {}
        for t in tools:
            try:
                out[t] = fn(res[t])
            except (KeyError, TypeError):
                out[t] = None
        return out

    def flood_ok(r):
        runs = get(r, "flood", "runs") or []
        return bool(runs) and all(x.get("lost") == 0 and x.get("duplicated") == 0
                                  and not x.get("incomplete") for x in runs)

    rows = [
        Row("daemon RSS, idle (MB)", col(lambda r: mb(get(r, "idle", "daemon_rss_kb")))),
        Row("daemon RSS, 50 managed (MB)", col(lambda r: mb(get(r, "at50", "daemon_rss_kb")))),
        Row("daemon PSS, 50 managed (MB)", col(lambda r: mb(get(r, "at50", "daemon_pss_kb")))),
        Row("+ procward's 50 shims: RSS sum / PSS sum (MB)",
            {"procward": None}, note="shims50"),
        Row("daemon RSS, 1,000 managed (MB)", col(lambda r: mb(get(r, "at1000", "daemon_rss_kb")))),
        Row("+ procward's 1,000 shims: RSS sum / PSS sum (MB)", {"procward": None}, note="shims1000"),
        Row("50 starts, one CLI call each (s)", col(lambda r: get(r, "starts50", "median_s")), 3),
        Row("`list`, 50 managed (ms)", col(lambda r: get(r, "list50", "median_ms")), 1),
        Row("`list`, 1,000 managed (ms)", col(lambda r: get(r, "list1000", "median_ms")), 1),
        Row("daemon cold start until it answers (ms)", col(lambda r: get(r, "cold_start", "median_ms")), 1),
        Row(f"{int(meta.get('lines', 2000000)):,} lines in the log (s)", col(lambda r: get(r, "flood", "median_s")), 3),
        Row("… ÷ `seq > file`", col(lambda r: get(r, "flood", "median_s") / seq_s), 2),
        Row("… lines lost or duplicated (sum over runs)",
            col(lambda r: sum((x.get("lost") or 0) + (x.get("duplicated") or 0)
                              for x in get(r, "flood", "runs"))), 0, note="count"),
        Row("daemon CPU, 50 idle (% of a core)", col(lambda r: get(r, "cpu50", "daemon_pct")), 2),
        Row("daemon CPU, 1,000 idle (% of a core)", col(lambda r: get(r, "cpu1000", "daemon_pct")), 2),
        Row("daemon CPU, one process crash-looping (% of a core)", col(lambda r: get(r, "crash", "daemon_pct")), 2),
        # pueue has no stop timeout (`pueue kill` is SIGKILL at once): not a peer here
        Row("TERM-ignoring tree, stop timeout 1 s: stop returned (s)",
            col(lambda r: get(r, "tree", "median_stop_s")), 3, peers=["pm2", "supervisord"]),
        Row("… whole tree dead (s)", col(lambda r: get(r, "tree", "median_dead_s")), 3,
            peers=["pm2", "supervisord"]),
        Row("… processes left behind (max over runs)", col(lambda r: get(r, "tree", "max_survivors")), 0,
            note="count"),
    ]
    head = "| figure | " + " | ".join(f"{t}" for t in tools) + " | best peer | procward ÷ best peer |"
    sep = "| --- | " + " | ".join("---:" for _ in tools) + " | ---: | ---: |"
    lines = [head, sep]
    for row in rows:
        if row.note in ("shims50", "shims1000"):
            key = "at50" if row.note == "shims50" else "at1000"
            h = get(pw, key)
            if not h:
                continue
            cells = [f"{fmt(mb(h['helpers_rss_kb']))} / {fmt(mb(h['helpers_pss_kb']))}"
                     if t == "procward" else "no helpers" for t in tools]
            lines.append(f"| {row.label} | " + " | ".join(cells) + " | — | — |")
            continue
        if all(v is None for v in row.values.values()):
            continue
        if row.note == "count":
            cells = [fmt(row.values.get(t), 0) for t in tools]
            lines.append(f"| {row.label} | " + " | ".join(cells) + " | — | — |")
            continue
        lines.append(row.md(tools))
    table = "\n".join(lines)

    # ---- targets
    def v(*path):
        return get(pw, *path)

    def lt(x, lim):
        return None if x is None else x < lim

    tr = v("tree") or {}
    tree_dead = tr.get("median_dead_s")
    tree_stop = tr.get("median_stop_s")
    tree_worst_dead = max((r["dead_s"] for r in tr.get("runs", []) if r.get("dead_s") is not None), default=None)
    flood_ratio = (v("flood", "median_s") / seq_s) if v("flood", "median_s") and seq_s else None
    flood_runs = v("flood", "runs") or []
    lost = sum(r.get("lost") or 0 for r in flood_runs)
    dup = sum(r.get("duplicated") or 0 for r in flood_runs)
    at50, at1000 = v("at50") or {}, v("at1000") or {}
    cpu1000 = v("cpu1000") or {}
    targets = [
        check(lt(mb(v("idle", "daemon_rss_kb")), 10),
              f"daemon RSS idle under 10 MB: {fmt(mb(v('idle', 'daemon_rss_kb')))} MB."),
        check(lt(mb(at50.get("daemon_rss_kb")), 15),
              f"daemon RSS with 50 managed under 15 MB: {fmt(mb(at50.get('daemon_rss_kb')))} MB "
              f"(the shim spawner and the 50 shims add {fmt(mb(at50.get('helpers_rss_kb')))} MB RSS, "
              f"{fmt(mb(at50.get('helpers_pss_kb')))} MB PSS)."),
        check(lt(mb(at1000.get("daemon_rss_kb")), 100),
              f"daemon RSS with 1,000 managed under 100 MB: {fmt(mb(at1000.get('daemon_rss_kb')))} MB "
              f"(the shim spawner and the 1,000 shims add {fmt(mb(at1000.get('helpers_rss_kb')))} MB RSS, "
              f"{fmt(mb(at1000.get('helpers_pss_kb')))} MB PSS; daemon + shims PSS "
              f"{fmt(mb((at1000.get('daemon_pss_kb') or 0) + (at1000.get('helpers_pss_kb') or 0)))} MB)."),
        check(lt(v("starts50", "median_s"), 0.15),
              f"50 starts under 0.15 s: {fmt(v('starts50', 'median_s'), 3)} s "
              f"({fmt((v('starts50', 'median_s') or 0) / 50 * 1e3, 1)} ms a start)."),
        check(lt(v("list50", "median_ms"), 3), f"`list` with 50 under 3 ms: {fmt(v('list50', 'median_ms'))} ms."),
        check(lt(v("list1000", "median_ms"), 50), f"`list` with 1,000 under 50 ms: {fmt(v('list1000', 'median_ms'))} ms."),
        check(lt(v("cold_start", "median_ms"), 15), f"cold start under 15 ms: {fmt(v('cold_start', 'median_ms'))} ms "
              f"(runs: {', '.join(fmt(x, 1) for x in v('cold_start', 'runs_ms') or [])})."),
        check(None if flood_ratio is None else (flood_ratio <= 1.1 and lost == 0 and dup == 0 and flood_ok(pw)),
              f"{int(meta.get('lines', 2000000)):,} lines in the log within 1.1x of `seq > file`, zero lost: "
              f"{fmt(v('flood', 'median_s'), 3)} s vs {fmt(seq_s, 3)} s = {fmt(flood_ratio, 2)}x; "
              f"lost {lost}, duplicated {dup} over {len(flood_runs)} runs."),
        check(lt(cpu1000.get("daemon_pct"), 1),
              f"daemon CPU with 1,000 idle under 1 % of a core: {fmt(cpu1000.get('daemon_pct'), 2)} % over "
              f"{fmt(cpu1000.get('secs'), 0)} s (the 1,000 shims together: {fmt(cpu1000.get('helpers_pct'), 2)} %)."),
        check(None if tree_dead is None else (tree_worst_dead < tr["stop_timeout_s"] + 0.05 and tr.get("max_survivors") == 0),
              f"TERM-ignoring tree dead at the stop timeout + under 50 ms, nothing orphaned: dead at "
              f"{fmt(tree_dead, 3)} s (median; worst {fmt(tree_worst_dead, 3)} s), `stop` returned at "
              f"{fmt(tree_stop, 3)} s, {tr.get('max_survivors')} left behind."),
    ]
    compared = [r for r in rows if r.ratio() is not None and r.note != "count"]
    behind = [r.label for r in compared if r.ratio() > 1]
    n_cmp = len(compared)
    targets.append(check(not behind, f"ahead of the best peer on each figure: ahead on {n_cmp - len(behind)} of "
                         f"{n_cmp}" + (f"; behind on: {'; '.join(behind)}." if behind else ".")))

    # ---- details
    crash = v("crash") or {}
    flood_tbl = ["| tool | median (s) | ÷ `seq > file` | lines (each run) | first … last | lost | duplicated | runs (s) |",
                 "| --- | ---: | ---: | --- | --- | ---: | ---: | --- |"]
    for t in tools:
        fr = get(res[t], "flood", "runs") or []
        if not fr:
            continue
        m = get(res[t], "flood", "median_s")
        counts = ", ".join(f"{x['lines']:,}" for x in fr)
        flood_tbl.append(
            f"| {t} | {fmt(m, 3)} | {fmt(m / seq_s if m and seq_s else None, 2)} | "
            f"{counts} | {fr[0]['first']} … {fr[0]['last']} | "
            f"{sum(x.get('lost') or 0 for x in fr)} | {sum(x.get('duplicated') or 0 for x in fr)} | "
            f"{', '.join(fmt(x['s'], 3) for x in fr)} |")
    tree_tbl = ["| tool | how it stops | stop returned (s, each run) | tree dead (s, each run) | processes | left behind |",
                "| --- | --- | --- | --- | ---: | --- |"]
    how = {"procward": "`procward stop` (`--stop-timeout 1`)", "pm2": "`pm2 stop` (`--kill-timeout 1000`)",
           "supervisord": "`supervisorctl stop` (`stopwaitsecs=1`, default `stopasgroup=false`)",
           "pueue": "`pueue kill` (SIGKILL at once; pueue has no stop timeout)"}
    for t in tools:
        tr_t = get(res[t], "tree") or {}
        rr = tr_t.get("runs") or []
        if not rr:
            continue
        orphans = sorted({o for r in rr for o in r.get("orphans", [])})
        left = f"{max(r['survivors_after_2s'] for r in rr)}" + (f" (`{'`, `'.join(orphans)}`)" if orphans else "")
        tree_tbl.append(
            f"| {t} | {how[t]} | {', '.join(fmt(r['stop_s'], 3) for r in rr)} | "
            f"{', '.join(fmt(r['dead_s'], 3) if r['dead_s'] is not None else 'never' for r in rr)} | "
            f"{rr[0]['procs']} | {left} |")

    versions = ", ".join(f"{res[t].get('version', t)}" for t in tools)
    skipped = [f"- {k.removeprefix('skipped_')}: {v_}" for k, v_ in meta.items() if k.startswith("skipped_")]
    failed = [f"- {t}: the run failed: `{res[t]['error']}`" for t in tools if res[t].get("error")]
    leftovers = [f"- {t}: {res[t]['leftovers']} of its processes were still alive after its teardown "
                 f"(killed by the sweep): {res[t].get('leftover_cmds')}" for t in tools if res[t].get("leftovers")]
    starts1000 = get(pw, "starts1000") or {}
    per = [f"{t} {fmt(get(res[t], 'starts1000', 's'), 2)} s ({get(res[t], 'starts1000', 'how')})"
           for t in tools if get(res[t], "starts1000", "s") is not None]
    dirty = int(meta.get("dirty", "0") or 0)
    noise, worst_all, steal, redone = [], 0.0, None, []
    for t in tools:
        nz = res[t].get("noise") or {}
        if not nz:
            continue
        worst = max(nz, key=lambda k: nz[k]["foreign_pct"] + nz[k]["steal_pct"])
        worst_all = max(worst_all, nz[worst]["foreign_pct"] + nz[worst]["steal_pct"])
        steal = max([steal or 0.0] + [v["steal_pct"] for v in nz.values()])
        redone += [f"{t} `{k}` ({' → '.join(f'{x:.0f} %' for x in v['attempts'])})"
                   for k, v in nz.items() if len(v["attempts"]) > 1]
        noise.append(f"{t} {nz[worst]['foreign_pct']:.0f} % + steal {nz[worst]['steal_pct']:.0f} % (`{worst}`)")
    noise_line = ""
    if noise:
        noise_line = ("Other work on the machine while each figure was taken (CPU of processes "
                      "outside the benchmark, and CPU time the hypervisor stole, % of both CPUs; worst "
                      "figure per tool): "
                      + "; ".join(noise) + "."
                      + (f" Taken again because others were busy (others' CPU + steal, each attempt): "
                         f"{'; '.join(redone)}." if redone else "")
                      + (" **Above 10 % (others' CPU + steal) somewhere: those figures are skewed; "
                         "run again on a quiet machine.**" if worst_all > 10 else " The machine was otherwise quiet.")
                      + (f" CPU time stolen by the hypervisor: at most {steal:.1f} % during any figure."
                         if steal is not None else ""))
    issue_rows = "; ".join(
        f"{k}: " + ", ".join(f"{p} {x}" for p, x in d.items()) for k, d in ISSUE.items())

    return f"""\
Run on {meta.get('date')}: {meta.get('nproc')} CPUs ({meta.get('cpu')}), {meta.get('mem_total_mb')} MB,
kernel {meta.get('kernel')}, load average {meta.get('loadavg')} at start and {meta.get('loadavg_end')} at the end,
commit {meta.get('commit')}{f' plus {dirty} uncommitted changed files under crates/ and proto/' if dirty else ''};
{versions}; hyperfine {meta.get('hyperfine')}, node {meta.get('node')}, Python {meta.get('python')};
procward's client built on {meta.get('client_libc', 'unknown')} libc (scripts/release.sh).
The measuring part took {meta.get('bench_seconds')} s. Reproduce: `bash bench/supervise.sh`
(`BENCH_PEERS_1000=1` also loads the peers with 1,000 processes; raw JSON in `bench/out/supervise/`).

All tools ran one after the other on the same machine, each with its own temporary home and
nothing else of the benchmark running. {noise_line} Lower is better everywhere; "best peer" is the lowest
of pm2, supervisord and pueue (for the stop rows pm2 and supervisord only: `pueue kill`
sends SIGKILL at once and has no stop timeout); a ratio under 1 (bold) means procward is
ahead. "—": not measured, or nothing to compare (a peer at 0).

{table}

`seq 1 {int(meta.get('lines', 2000000)):,} > file` alone: {fmt(seq_s, 3)} s (median of {len(ref.get('runs_s', []))}).
Crash loop (procward): {crash.get('restarts')} restarts during the {fmt(crash.get('secs'), 0)} s window, state
`{crash.get('state')}` at its end (backoff 1 s doubling; pm2 restarts at once and gives up after 15,
supervisord with `autorestart=true startsecs=0` restarts at once without limit; pueue has no restart policy).
Going from 50 to 1,000 managed processes: {'; '.join(per) if per else '—'}.
procward `delete` of all {pw.get('delete_all_count', '—')} processes: {fmt(pw.get('delete_all_s'), 2)} s.

### Targets (issue 3, procward)

{chr(10).join(targets)}

### 2,000,000 lines from `seq` until all are in the log

The time runs from the start command to the moment the log files hold every byte of
`seq`'s output; each run's log is then compared with `seq`'s output (procward's rotated
files `stdout.log.N … stdout.log` are read in order: the default 10 MiB rotation splits
this output in two).

{chr(10).join(flood_tbl)}

### Stopping a TERM-ignoring tree

`sh -c "trap '' TERM; sleep 3600 & sleep 3600; wait"` (the `sleep`s inherit the ignored
TERM), stop timeout 1 s. "Dead" is when the last process of the tree (the shell and both
`sleep`s, recorded by pid and start time before the stop) is gone; "left behind" counts
those still alive 2 s after the stop command returned (the benchmark kills them then).

{chr(10).join(tree_tbl)}

### How the figures are taken

- RSS and PSS: `/proc/PID/status` VmRSS and `/proc/PID/smaps_rollup` Pss of the daemon
  (procward daemon, pm2 "God Daemon", supervisord, pueued), median of 5 samples over 1 s,
  1 s after the processes are up. procward runs one `procward shim` per managed process
  (a process that holds the pipes and writes the logs): their RSS counts the shared pages
  of the procward binary in every shim, PSS shares them out, so the PSS sum is the honest
  extra memory. The managed `sleep`s themselves are counted for no tool.
- Starts: a `sh -e` script of 50 lines, one start command each, timed whole; median of
  {meta.get('start_runs')} runs (everything deleted between runs). procward `start NAME -- sleep 3600`,
  `pm2 start sleep --name NAME -- 3600`, supervisord: write `conf.d/NAME.conf` then
  `supervisorctl update NAME`, `pueue add -- 'sleep 3600'` (unlimited parallel tasks). pueue
  returns once the task is queued and starts it on its next scheduling tick.
- `list`: hyperfine `-N` (2 warm-ups, 10 to 60 runs), median: `procward list --json`,
  `pm2 jlist`, `supervisorctl status`, `pueue status --json`. The peers' 1,000 are only
  measured with `BENCH_PEERS_1000=1`, and pm2 and supervisord then get theirs in bulk
  (one pm2 ecosystem file, one supervisord program with `numprocs`; `pueue add` in a loop).
- Cold start, median of {meta.get('cold_runs')} after one warm-up: procward `daemon --detach` (returns once
  the daemon answers); `pm2 ping` (spawns the God daemon, returns on its pong; includes
  the pm2 CLI's own node start-up); supervisord `-n` launched, then an XML-RPC
  `supervisor.getState` over its Unix socket polled every 1 ms until it answers RUNNING;
  pueued launched, then `pueue status` until it succeeds (each attempt only once the
  socket exists).
- CPU: utime + stime of the daemon's pid from `/proc/PID/stat` over {meta.get('cpu_secs')} s, as % of one
  core (10 ms tick resolution); for procward the shims' ticks are summed separately.
- Lines: `--restart never` (pm2 `--no-autorestart`, supervisord `autorestart=false`) so
  `seq` runs once; log sizes polled every 1 ms; median of {meta.get('flood_runs')} runs.
- The issue's peer figures (same machine kind, another day) for comparison: {issue_rows}.
- Installed with: `npm install --prefix bench/.peers pm2`, `pip install supervisor` (run
  from its real scripts path, not a pyenv shim, whose start-up would add ~100 ms per call),
  `cargo install pueue --locked`.
{chr(10).join(skipped + failed + leftovers)}"""


def upsert(path: Path, body: str) -> None:
    start, end = f"<!-- bench:{KEY}:start -->", f"<!-- bench:{KEY}:end -->"
    text = path.read_text() if path.exists() else INTRO
    block = f"{start}\n{body.rstrip()}\n{end}"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text, count=1)
    else:
        text = text.rstrip("\n") + f"\n\n## {TITLE}\n\n{block}\n"
    path.write_text(text)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out-dir", type=Path, default=Path("bench/out/supervise"))
    p.add_argument("--results", type=Path, default=Path("bench/RESULTS.md"))
    a = p.parse_args()
    meta = load_meta(a.out_dir / "meta.env")
    ref = json.loads((a.out_dir / "reference.json").read_text())
    res = {}
    for t in TOOLS:
        f = a.out_dir / f"{t}.json"
        if f.exists():
            res[t] = json.loads(f.read_text())
    upsert(a.results, section(meta, ref, res))


if __name__ == "__main__":
    main()
