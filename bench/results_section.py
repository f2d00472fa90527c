"""Shared by the bench report scripts: rewrite one section of RESULTS.md.

A section is the text between `<!-- bench:KEY:start -->` and `<!-- bench:KEY:end -->`;
everything else in the file is left alone. A missing section is appended under
`## TITLE`. Python 3.11 standard library only.
"""

import argparse
import re
from pathlib import Path
from typing import Callable


def read_meta(path: Path) -> dict[str, str]:
    """The `KEY=VALUE` lines of a benchmark's meta.env, as a dict."""
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def write_section(results: Path, key: str, title: str, body: str) -> None:
    """Replaces (or appends) section `key` of `results` with `body`."""
    start, end = f"<!-- bench:{key}:start -->", f"<!-- bench:{key}:end -->"
    text = results.read_text() if results.exists() else "# procward benchmarks\n"
    block = f"{start}\n{body}\n{end}"
    if start in text and end in text:
        text = re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + f"\n\n## {title}\n\n{block}\n"
    results.write_text(text)


def main(description: str, key: str, title: str, section: Callable[[Path], str]) -> None:
    """The command line every report shares: `REPORT OUT_DIR RESULTS_MD`."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("out", type=Path, help="the benchmark's raw output folder")
    parser.add_argument("results", type=Path, help="RESULTS.md to update")
    args = parser.parse_args()
    write_section(args.results, key, title, section(args.out))
