"""Every command the README and docs/ show runs, and prints what they show.

A ```console block holds ``$ qcalc …`` lines, each followed by the output it prints
(with ``COLUMNS=80``, from the repository root). ``python tests/test_docs.py --write``
rewrites those outputs after a deliberate change; the test fails on any other drift.
Commands in ```sh blocks run too, and must exit 0 or 1 (1: an ``expect`` check failed,
shown on purpose).
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```(console|sh)\n(.*?)^```", re.S | re.M)


def blocks(page: Path) -> list[tuple[str, str, int]]:
    """(kind, body, offset of the body) of every console and sh block of a page."""
    text = page.read_text(encoding="utf-8")
    return [(m.group(1), m.group(2), m.start(2)) for m in BLOCK.finditer(text)]


def console_examples(body: str) -> list[tuple[str, str]]:
    """(command, shown output) pairs of a console block."""
    examples: list[tuple[str, list[str]]] = []
    for line in body.splitlines():
        if line.startswith("$ "):
            examples.append((line[2:], []))
        elif examples:
            examples[-1][1].append(line)
    return [(cmd, "\n".join(out).rstrip("\n")) for cmd, out in examples]


def run(command: str) -> tuple[int, str]:
    """Run one ``qcalc …`` command line in-process, as a user at an 80-column terminal."""
    from qcalc.cli import app

    words = shlex.split(command)
    assert words[0] == "qcalc", f"only qcalc commands are run: {command}"
    old = os.getcwd()
    os.chdir(ROOT)
    try:
        result = CliRunner().invoke(app, words[1:], env={"COLUMNS": "80", "CI": "1"})
    finally:
        os.chdir(old)
    return result.exit_code, (result.stdout + result.stderr).rstrip("\n")


def cases() -> list[tuple[str, str, str]]:
    out = []
    for page in PAGES:
        for kind, body, _ in blocks(page):
            if kind == "console":
                out += [(page.name, cmd, shown) for cmd, shown in console_examples(body)]
            else:
                out += [
                    (page.name, line.strip(), "")
                    for line in body.splitlines()
                    if line.strip().startswith("qcalc ")
                ]
    return out


@pytest.mark.parametrize(("page", "command", "shown"), cases())
def test_shown_commands_print_what_they_show(page: str, command: str, shown: str) -> None:
    code, output = run(command)
    assert code in (0, 1), f"{page}: `{command}` exited {code}:\n{output}"
    if shown:
        assert [line.rstrip() for line in output.splitlines()] == shown.splitlines(), (
            f"{page}: `{command}` no longer prints what the page shows; after a deliberate "
            "change run: python tests/test_docs.py --write"
        )


def write() -> None:
    """Rewrite the shown output of every console example."""
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for kind, body, start in reversed(blocks(page)):
            if kind != "console":
                continue
            lines = []
            for command, _ in console_examples(body):
                _, output = run(command)
                lines += [f"$ {command}", *(line.rstrip() for line in output.splitlines())]
            new = "\n".join(lines) + "\n"
            text = text[:start] + new + text[start + len(body) :]
        page.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        sys.path.insert(0, str(ROOT))
        write()
    else:
        raise SystemExit("usage: python tests/test_docs.py --write")


def test_models_page_names_functions_that_exist():
    import importlib

    text = (ROOT / "docs" / "models.md").read_text(encoding="utf-8")
    named = re.findall(r"`(\w+)\.(\w+)`", text)
    assert named
    for module, function in named:
        for package in ("qcalc.physics", "qcalc.protocols"):
            try:
                found = importlib.import_module(f"{package}.{module}")
            except ModuleNotFoundError:
                continue
            assert hasattr(found, function), f"docs/models.md: {module}.{function} is gone"
            break
        else:
            raise AssertionError(f"docs/models.md: no module {module}")
