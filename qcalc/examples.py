"""The scenarios that ship with qcalc, by name (``qcalc stage --example metro-fibre``).

They are the repository's ``scenarios/`` folder, installed as package data: the package
holds ``qcalc/data/scenarios`` as a link to that folder, and the wheel carries a copy of
every ``*.yaml`` in it (and any side file a scenario reads, such as an atmosphere table), so a new
scenario dropped into ``scenarios/`` ships without a line changed. They are found with
:mod:`importlib.resources`, so they work from an installed wheel in any working directory.
"""

from __future__ import annotations

import difflib
from importlib.resources import files
from pathlib import Path

from qcalc.errors import UsageError

#: Suffix of a bundled scenario file.
SUFFIX = ".yaml"


def folder() -> Path:
    """The folder of the bundled scenarios (a real folder: a relative side file such as an
    atmosphere ``table_file`` is read from beside the scenario)."""
    root = files("qcalc") / "data" / "scenarios"
    if not isinstance(root, Path):  # pragma: no cover - pip installs qcalc as files
        raise UsageError(
            f"the bundled scenarios are in {root}, not a folder; install qcalc with pip "
            "(the examples need to be files)"
        )
    return root


def names() -> tuple[str, ...]:
    """The names of the bundled scenarios (file names without ``.yaml``), sorted."""
    return tuple(sorted(p.name[: -len(SUFFIX)] for p in folder().glob(f"*{SUFFIX}")))


def path(name: str) -> Path:
    """The file of the bundled scenario ``name``.

    Raises
    ------
    UsageError
        When no bundled scenario has that name; the message suggests the closest names.
    """
    known = names()
    if name not in known:
        close = difflib.get_close_matches(name, known, n=2, cutoff=0.5)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise UsageError(
            f"--example {name!r} is not a bundled scenario{hint} "
            f"(the examples: {', '.join(known)}; `qcalc examples` describes them)"
        )
    return folder() / f"{name}{SUFFIX}"


def title(name: str) -> str:
    """The scenario's own ``name:`` (its title), read without checking the scenario."""
    from qcalc._yaml import read_file

    data = read_file(str(path(name))).data
    value = data.get("name", "") if isinstance(data, dict) else ""
    return str(value)
