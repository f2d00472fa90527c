#!/usr/bin/env python3
"""Turn bench/stream.sh's JSON into the "Live streaming" section of RESULTS.md.

Rewrites only the text between <!-- bench:stream:start --> and <!-- bench:stream:end -->
(appending the section when missing). Python 3.11 standard library only.
"""

import json
from pathlib import Path

import results_section  # noqa: E402  (bench/ is the script's folder)

KEY, TITLE = "stream", "Live streaming (issue 6)"


def section(out: Path) -> str:
    meta = dict(l.split("=", 1) for l in (out / "meta.env").read_text().splitlines() if "=" in l)
    r = json.loads((out / "stream.json").read_text())
    t1, tn, l1, ln = r["throughput_1"], r["throughput_n"], r["latency_1"], r["latency_n"]
    ok = lambda good: "met" if good else "**NOT met**"  # noqa: E731
    return "\n".join([
        f"Run on {meta['date']}: {meta['cpus']} CPUs ({meta['cpu_model']}), commit {meta['commit']}, "
        f"node {meta['node']}, load average {meta['loadavg']} at start. Reproduce: `bash bench/stream.sh` "
        "(raw JSON in `bench/out/stream/`).",
        "",
        "One release daemon on 127.0.0.1; clients are npm `socket.io-client` over WebSocket, all in "
        "one Node process (so with many clients the client side is part of what is measured). "
        "Output is batched by the daemon (64 KiB or 4 ms) and sent as UTF-8 text.",
        "",
        "| figure | 1 client | " + f"{tn['clients']} clients |",
        "| --- | ---: | ---: |",
        f"| throughput, {t1['mib_written']} MiB written flat out (MB/s per client) | "
        f"{t1['mb_per_s_per_client_min']:.0f} | {tn['mb_per_s_per_client_min']:.1f} (slowest) |",
        f"| … all clients together (MB/s) | {t1['mb_per_s_total']:.0f} | {tn['mb_per_s_total']:.0f} |",
        f"| write → message delay, p50 (ms) | {l1['p50_ms']:.1f} | {ln['p50_ms']:.1f} |",
        f"| write → message delay, p99 (ms) | {l1['p99_ms']:.1f} | {ln['p99_ms']:.1f} |",
        f"| … samples | {l1['samples']:,} | {ln['samples']:,} |",
        "",
        f"Targets: at least 100 MB/s to one client: {ok(t1['mb_per_s_per_client_min'] >= 100)}; "
        f"p99 under 20 ms with {ln['clients']} clients: {ok(ln['p99_ms'] < 20)}. "
        + ("Every client received every byte. " if tn["bytes_per_client"] == tn["mib_written"] * 1024 * 1024
         and t1["bytes_per_client"] == t1["mib_written"] * 1024 * 1024
         else "**Some client received fewer bytes than were written (it was skipped ahead).** ")
        +
        "Most of the median delay is the 4 ms batching window.",
    ])


if __name__ == "__main__":
    results_section.main(__doc__.splitlines()[0], KEY, TITLE, section)
