"""Which scenario files a command reads: paths are paths, patterns only when asked for.

An argument that names an existing file or folder is that file or folder, whatever
characters its name holds (``plan[v2].yaml`` is the file of that name, never a pattern
matching ``plan2.yaml``). Patterns are expanded only where the user asks for them: by
the shell, or by ``--glob PATTERN`` (absolute or relative, ``**`` for any depth). Every
file is read once, however many times it is named (a file twice, a folder and a file in
it, a symlink and its target), under the name it was first given.

A folder stands for every ``*.yaml`` and ``*.yml`` file below it (any case: ``*.YAML``
too), sorted, without following symlinked folders (a link cycle cannot loop). Special
files are listed like any other file and refused by the reader with a message (a FIFO
named ``x.yaml`` is reported, never opened for reading and waited on).
"""

from __future__ import annotations

import glob as globbing
import os
from collections.abc import Sequence
from dataclasses import field

from qcalc.errors import ScenarioError
from qcalc.outputs import display_path
from qcalc.records import record

#: Suffixes of scenario files in a folder (compared without case).
SCENARIO_SUFFIXES = (".yaml", ".yml")
_PATTERN_CHARS = "*?["


@record
class Inputs:
    """The files a command reads, and where they came from.

    Attributes
    ----------
    files : list of str
        Every scenario file, once, in the order given (a folder's files sorted).
    folders : list of str
        The folders named (an output inside one must not look like a scenario).
    missing : list of str
        Arguments that name nothing, and patterns that matched nothing, with the reason.
    """

    files: list[str] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)
    missing: list[tuple[str, str]] = field(default_factory=list)


def _folder_files(folder: str) -> list[str]:
    found: list[str] = []
    for top, dirs, names in os.walk(folder, followlinks=False):
        dirs.sort()
        found.extend(os.path.join(top, n) for n in names if n.lower().endswith(SCENARIO_SUFFIXES))
    return sorted(found)


def _key(path: str) -> str:
    """What makes two names the same file: the resolved path (symlinks followed)."""
    try:
        st = os.stat(path)
    except OSError:
        return os.path.realpath(path)
    return f"{st.st_dev}:{st.st_ino}"


def _not_found(path: str) -> str:
    if any(ch in path for ch in _PATTERN_CHARS):
        return (
            "no such file or folder (a pattern is expanded only when asked for: "
            f"--glob {display_path(path)!r}, or let the shell expand it)"
        )
    return "no such file or folder"


def expand(paths: Sequence[str], globs: Sequence[str] = ()) -> Inputs:
    """The scenario files named by ``paths`` (files and folders) and ``globs`` (patterns).

    Returns
    -------
    Inputs
        Files once each, the folders named, and what named nothing (see :class:`Inputs`).
    """
    out = Inputs()
    seen: set[str] = set()

    def add(file: str) -> None:
        key = _key(file)
        if key not in seen:
            seen.add(key)
            out.files.append(file)

    def add_path(path: str) -> bool:
        if os.path.isdir(path):
            out.folders.append(path)
            for file in _folder_files(path):
                add(file)
            return True
        if os.path.lexists(path):
            add(path)
            return True
        return False

    for path in paths:
        if not add_path(path):
            out.missing.append((path, _not_found(path)))
    for pattern in globs:
        matches = sorted(globbing.glob(pattern, recursive=True))
        if not matches:
            out.missing.append((pattern, f"--glob {display_path(pattern)!r} matched nothing"))
        for match in matches:
            add_path(match)
    return out


def expand_or_raise(paths: Sequence[str], globs: Sequence[str] = ()) -> Inputs:
    """:func:`expand`, raising :class:`ScenarioError` for the first path that names nothing."""
    inputs = expand(paths, globs)
    if inputs.missing:
        path, why = inputs.missing[0]
        raise ScenarioError(why, file=path)
    return inputs
