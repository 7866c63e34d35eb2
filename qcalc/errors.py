"""Typed errors raised by the library; only the CLI turns them into messages and exit codes."""

from __future__ import annotations

import difflib


class QcalcError(Exception):
    """Base class of every error qcalc raises on purpose."""


class ScenarioError(QcalcError):
    """A scenario file that cannot be read or does not follow the format.

    The message names the place (``file:line:column``), the field path, the value and
    what was expected, so a user can fix the file without reading code.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.field = field
        super().__init__(self.__str__())

    @property
    def location(self) -> str:
        parts = [self.file or "<scenario>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def __str__(self) -> str:
        field = f"{self.field}: " if self.field else ""
        return f"{self.location}: {field}{self.message}"


class UsageError(QcalcError):
    """Command-line arguments that cannot be used (bad flag value, missing option)."""


class NotModelledError(QcalcError):
    """A scenario asks for something qcalc does not model yet; said plainly, no number made up."""


def suggest(key: str, options: list[str] | tuple[str, ...]) -> str:
    """'; did you mean …?' for a close option, the same word in another case first."""
    same = [o for o in options if o.lower() == key.lower()]
    close = same or difflib.get_close_matches(key, list(options), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def bug_in_file(path: str, exc: BaseException) -> str:
    """What a report says of a file whose evaluation met a bug in qcalc (a batch or an
    HTML report goes on with the other files)."""
    return (
        f"{path}: {type(exc).__name__}: {exc}. This is a bug in qcalc; please report it "
        "with this file"
    )
