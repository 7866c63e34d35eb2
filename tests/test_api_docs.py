"""docs/api.md runs: its ```python blocks, in order, in one namespace, print what the
```text block after each shows.

Run from the repository root, as the page says. ``python tests/test_api_docs.py --write``
rewrites the shown outputs after a deliberate change; the test fails on any other drift.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "api.md"
BLOCK = re.compile(r"^```python\n(.*?)^```\n(?:\n```text\n(.*?)^```\n)?", re.S | re.M)


def run_blocks() -> list[tuple[re.Match[str], str]]:
    """Each python block's match and what it printed, run in order in one namespace."""
    text = PAGE.read_text(encoding="utf-8")
    namespace: dict[str, object] = {"__name__": "api_docs"}
    out = []
    old = os.getcwd()
    os.chdir(ROOT)
    try:
        for match in BLOCK.finditer(text):
            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer):
                exec(compile(match.group(1), f"{PAGE.name} block", "exec"), namespace)
            out.append((match, buffer.getvalue()))
    finally:
        os.chdir(old)
    return out


def test_every_python_block_prints_what_the_page_shows() -> None:
    ran = run_blocks()
    assert len(ran) >= 6
    for match, printed in ran:
        if match.group(2) is None:
            assert printed == "", f"a block that prints needs a ```text block:\n{match.group(1)}"
        else:
            assert printed == match.group(2), match.group(1)


def write() -> None:
    text = PAGE.read_text(encoding="utf-8")
    pieces, last = [], 0
    for match, printed in run_blocks():
        pieces.append(text[last : match.start()])
        block = f"```python\n{match.group(1)}```\n"
        if printed:
            block += f"\n```text\n{printed}```\n"
        pieces.append(block)
        last = match.end()
    pieces.append(text[last:])
    PAGE.write_text("".join(pieces), encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        write()
    else:
        raise SystemExit("usage: python tests/test_api_docs.py --write")
