"""bench/starts.sh's report: 50 starts, procward and pueue interleaved round by round.

Reads bench/out/starts/rounds.tsv (round, procward µs, pueue µs) and meta.env; writes the
bench:starts section of RESULTS.md. Python 3.11 standard library only.
"""

from pathlib import Path
from statistics import median

from results_section import main, read_meta


def section(out: Path) -> str:
    meta = read_meta(out / "meta.env")
    rows = [line.split("\t") for line in (out / "rounds.tsv").read_text().splitlines() if line]
    pw = [int(r[1]) / 1e6 for r in rows]
    pq = [int(r[2]) / 1e6 for r in rows]
    ratios = [a / b for a, b in zip(pw, pq)]
    under = sum(1 for x in ratios if x <= 1)
    verdict = "met" if median(pw) <= median(pq) else "NOT met"
    lines = [
        f"`bash bench/starts.sh` at {meta.get('commit')} ({meta.get('date')}), "
        f"{meta.get('nproc')} CPUs, {meta.get('cpu')}, kernel {meta.get('kernel')}, "
        f"{meta.get('pueue')}, client on {meta.get('client_libc')}.",
        "",
        "| round | procward | pueue | ratio |",
        "| ---: | ---: | ---: | ---: |",
    ]
    lines += [f"| {r[0]} | {a:.3f} s | {b:.3f} s | {a / b:.2f}x |"
              for r, a, b in zip(rows, pw, pq)]
    lines += [
        "",
        f"Medians over {len(rows)} rounds: procward {median(pw):.3f} s, pueue "
        f"{median(pq):.3f} s, ratio of medians **{median(pw) / median(pq):.2f}x**; median "
        f"of the per-round ratios {median(ratios):.2f}x; procward at or under pueue in "
        f"{under} of {len(rows)} rounds. Target (at most pueue's time): **{verdict}**.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main(__doc__, "starts", "50 starts, interleaved with pueue (issue 11)", section)
