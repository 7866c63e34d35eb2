"""Writing what qcalc prints: safe text for every format, and files that never lose data.

Two concerns live here, both at the edge where text leaves qcalc:

**Text that cannot be injected.** Names come from scenario files and file names from the
file system; either may hold characters that forge report lines. Scenario texts with
control characters are refused at load (:mod:`qcalc._yaml`); file names cannot be, so
everything printed passes through here:

- control characters (C0 but tab and line feed, DEL, C1, the Unicode line separators and
  the bidirectional overrides) and undecodable bytes of file names are shown as escapes
  (``\\x1b``, ``\\u202e``) in text, as ``\\u001b`` in JSON and as ``\\x1b`` in XML values;
  a table, Markdown, CSV or JUnit cell holds no line break at all;
- nothing printed can be read as a CI workflow command: GitHub Actions runs any line that
  starts with ``::`` after leading white space (``::error::…``, ``::add-mask::…``) and any
  line holding ``##[`` (its legacy form, ``##[stop-commands]`` among them). Such a line
  start gets a zero-width space (U+200B, not white space to the runner) and ``##[``
  becomes ``##\\u005b`` in JSON, ``##&#91;`` in XML and ``##`` U+200B ``[`` elsewhere —
  the same characters on screen, and the same data to a JSON or XML reader;
- CSV text cells that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``,
  tab, carriage return first) get a leading ``'`` (OWASP, "CSV Injection");
- Markdown cells escape the characters that make links, images, HTML and cell breaks.

**Outputs that never lose data.** :func:`write_output` writes a temporary file beside the
target and renames it over the target only once everything was written, so a full disk,
a read-only folder or an interrupted run leaves the previous file as it was; it refuses
an output that is one of the command's inputs (symlinks and hard links followed) or a
FIFO; ``-`` is stdout. A closed or full stdout is an :class:`OutputError` (exit 2).
"""

from __future__ import annotations

import errno
import functools
import io
import os
import re
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qcalc.errors import QcalcError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    U8 = npt.NDArray[np.uint8]


class OutputError(QcalcError):
    """An output that cannot be written (or would overwrite an input); exit code 2."""


#: Characters shown as escapes: C0 controls but tab and line feed, DEL, C1 controls, the
#: Unicode line and paragraph separators, the bidirectional overrides and isolates
#: (CVE-2021-42574), and lone surrogates (undecodable bytes of a file name).
_CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
#: The same and tab and line feed: what a one-line cell may not hold.
_CONTROL_IN_CELL = re.compile(
    "[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
#: Characters XML 1.0 cannot hold at all (section 2.2), beyond the controls above.
_NOT_XML = re.compile("[\ufffe\uffff]")
#: A line the GitHub Actions runner reads as a workflow command (``::`` after white space).
_COMMAND_LINE = re.compile(r"^(\s*)::", re.MULTILINE)
_LEGACY_COMMAND = "##["
_ZWSP = "\u200b"


def _escape(char: str) -> str:
    """``\\x1b`` for a control, ``\\xff`` for an undecodable byte, ``\\u202e`` otherwise."""
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape: the byte of a file name
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with every control character shown as an escape; tab and line feed kept."""
    return _CONTROL.sub(lambda m: _escape(m.group()), text)


def one_line(text: object) -> str:
    """``str(text)`` for a table cell or an attribute: no control character, no line break."""
    return _CONTROL_IN_CELL.sub(lambda m: _escape(m.group()), str(text))


def display_path(path: str | os.PathLike[str]) -> str:
    """A path as a message shows it: undecodable bytes and controls as escapes."""
    return one_line(os.fspath(path))


def _defang_commands(text: str, legacy: str) -> str:
    text = _COMMAND_LINE.sub(lambda m: f"{m.group(1)}{_ZWSP}::", text)
    return text.replace(_LEGACY_COMMAND, legacy)


def safe_text(text: str) -> str:
    """Plain text, a table, CSV or Markdown, ready to print: controls escaped (tab and
    line feed kept), no workflow command."""
    return _defang_commands(printable(text), f"##{_ZWSP}[")


def safe_json(text: str) -> str:
    """JSON text ready to print: the same data, with every control character, lone
    surrogate and ``##[`` written as a JSON escape (they occur only inside strings)."""
    text = _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return _defang_commands(text, "##\\u005b")


def safe_xml(text: str) -> str:
    """Serialised XML ready to print: ``##[`` as a character reference (values were
    escaped by :func:`xml_value` before serialising)."""
    return _defang_commands(text, "##&#91;")


def xml_value(text: object) -> str:
    """A value for an XML attribute or text node: one line, only characters XML 1.0 allows."""
    return _NOT_XML.sub(lambda m: _escape(m.group()), one_line(text))


def safe_for(text: str) -> str:
    """:func:`safe_json` for a JSON document, :func:`safe_xml` for XML, else :func:`safe_text`."""
    head = text.lstrip()[:6]
    if head.startswith("<?xml"):
        return safe_xml(text)
    if head[:1] in ("{", "[") and text.rstrip().endswith(("}", "]")):
        return safe_json(text)
    return safe_text(text)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """A CSV cell: numbers as they are, text on one line and never a spreadsheet formula."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        text = one_line("" if value is None else value)
        return "'" + text if text.startswith(_FORMULA_START) else text
    return value


_MARKDOWN_SPECIAL = re.compile(r"([\\|`*\[\]<>])")


def markdown_cell(text: object) -> str:
    """A Markdown table cell: one line; backslash, pipe, backtick, ``*``, brackets and angle
    brackets escaped, so a name can make no cell break, link, image or HTML."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", one_line(text))


# ----------------------------------------------------------------------------- streams


class ClosedStream(io.TextIOBase):
    """Stands in for a standard stream that was closed when qcalc started (``>&-``):
    not a terminal, and every write fails as the closed descriptor would."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.stream_name = name

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, f"{self.stream_name} is closed")


def ensure_streams() -> None:
    """Replace a closed stdout or stderr (None in Python) by a :class:`ClosedStream`, so
    a closed stdout is an :class:`OutputError` (exit 2), never an AttributeError."""
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(
                sys, name, ClosedStream(f"standard {'output' if name == 'stdout' else 'error'}")
            )


def _silence(stream_name: str) -> None:
    """After a failed write: point the stream's descriptor at /dev/null, so the buffered
    rest is not written (and fails again) when the interpreter exits."""
    stream = getattr(sys, stream_name)
    try:
        fd = stream.fileno()
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, fd)
        os.close(null)
    except (AttributeError, OSError, ValueError):
        pass


def _write_stream(stream_name: str, text: str) -> None:
    stream = getattr(sys, stream_name)
    what = "standard output" if stream_name == "stdout" else "standard error"
    if stream is None:
        raise OutputError(f"{what} is closed; write the report with --output FILE")
    try:
        try:
            stream.write(text)
        except UnicodeEncodeError:
            encoding = getattr(stream, "encoding", None) or "utf-8"
            stream.write(text.encode(encoding, "backslashreplace").decode(encoding))
        stream.flush()
    except (OSError, ValueError) as exc:
        _silence(stream_name)
        reason = getattr(exc, "strerror", None) or str(exc)
        raise OutputError(f"cannot write to {what}: {reason}") from None


def write_stdout(text: str) -> None:
    """Print ``text`` (made safe for its format by :func:`safe_for`) on stdout.

    Raises
    ------
    OutputError
        When stdout is closed, full (``> /dev/full``) or a closed pipe.
    """
    _write_stream("stdout", safe_for(text))


def write_stderr(text: str) -> bool:
    """Print a message on stderr (controls escaped, no workflow command); False when stderr
    cannot take it (nothing else can be done about that)."""
    try:
        _write_stream("stderr", safe_text(text))
    except OutputError:
        return False
    return True


# ----------------------------------------------------------------------------- files


def _identity(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def check_target(
    target: str | os.PathLike[str],
    inputs: Iterable[str | os.PathLike[str]] = (),
    folders: Iterable[str | os.PathLike[str]] = (),
    others: Iterable[str | os.PathLike[str]] = (),
    option: str = "--output",
) -> None:
    """Refuse an output that would destroy an input or cannot be a file.

    Parameters
    ----------
    target : path
        Where the output goes.
    inputs : paths
        Files the command reads; the target may not be one of them (same file after
        following symlinks, or a hard link to it).
    folders : paths
        Folders the command reads every scenario of; a scenario-named target inside one
        would be read as a scenario by the next run.
    others : paths
        Other outputs of the same command (``--plot`` beside ``--output``).
    option : str
        The option that named the target, for the message.

    Raises
    ------
    OutputError
        Naming the target, the input it would overwrite, and what to do instead.
    """
    shown = display_path(target)
    here = _identity(os.fspath(target))
    real = os.path.realpath(target)
    for source in inputs:
        if (here is not None and here == _identity(os.fspath(source))) or real == (
            os.path.realpath(source)
        ):
            raise OutputError(
                f"{option} {shown} is the input {display_path(source)}; writing it would "
                "destroy the input: choose another output file"
            )
    for other in others:
        if real == os.path.realpath(other):
            raise OutputError(
                f"{option} {shown} is also the other output of this command; give each "
                "output its own file"
            )
    if Path(real).suffix.lower() in (".yaml", ".yml"):
        for folder in folders:
            base = os.path.realpath(folder)
            if os.path.commonpath([base, real]) == base:
                raise OutputError(
                    f"{option} {shown} is a scenario-named file inside the input folder "
                    f"{display_path(folder)}; the next run would read it as a scenario: "
                    "write it elsewhere or give it another suffix"
                )
    try:
        mode = os.stat(real).st_mode
    except OSError:
        return  # a new file: its folder is checked when the file is written
    if stat.S_ISDIR(mode):
        raise OutputError(f"{option} {shown} is a folder; expected a file name or - for stdout")
    if not (stat.S_ISREG(mode) or stat.S_ISCHR(mode)):
        kind = "a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a special file"
        raise OutputError(
            f"{option} {shown} is {kind}; qcalc writes reports to regular files (or - for "
            "stdout, which can be piped)"
        )


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def replacing(target: str | os.PathLike[str], option: str = "--output") -> Iterator[str]:
    """Yield a temporary path beside ``target`` (same suffix); on success rename it over
    ``target``, on any failure remove it and leave ``target`` as it was.

    A symlink target keeps being a symlink: the file it points to is replaced. A
    character device (``/dev/null``) is yielded as it is: it holds no previous data.

    Raises
    ------
    OutputError
        When the folder cannot take a new file (read-only, missing, full).
    """
    shown = display_path(target)
    real = os.path.realpath(target)
    try:
        existing = os.stat(real)
    except OSError:
        existing = None
    if existing is not None and stat.S_ISCHR(existing.st_mode):
        try:
            yield real
        except OSError as exc:
            raise OutputError(
                f"{option} {shown}: cannot write the output: {exc.strerror or exc}"
            ) from None
        return
    folder, name = os.path.split(real)
    suffix = Path(name).suffix
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{name}.", suffix=f".tmp{suffix}", dir=folder)
    except OSError as exc:
        raise OutputError(
            f"{option} {shown}: cannot write in {display_path(folder or '.')}: "
            f"{exc.strerror or exc}"
        ) from None
    os.close(fd)
    try:
        yield temp
        mode = stat.S_IMODE(existing.st_mode) if existing else 0o666 & ~_umask()
        os.chmod(temp, mode)
        os.replace(temp, real)
    except BaseException as exc:
        try:
            os.unlink(temp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            kept = "; the previous file is unchanged" if existing is not None else ""
            raise OutputError(
                f"{option} {shown}: cannot write the output: {exc.strerror or exc}{kept}"
            ) from None
        raise


def write_output(
    text: str,
    target: str | os.PathLike[str] | None,
    inputs: Sequence[str | os.PathLike[str]] = (),
    folders: Sequence[str | os.PathLike[str]] = (),
    option: str = "--output",
) -> None:
    """Write ``text`` to ``target`` atomically, or to stdout for None or ``-``.

    The text is made safe for its format (:func:`safe_for`) and ends with a line break.

    Raises
    ------
    OutputError
        For an output that is an input, a FIFO or a folder, or that cannot be written
        (the previous file is then unchanged).
    """
    body = text if text.endswith("\n") else text + "\n"
    if target is None or os.fspath(target) == "-":
        write_stdout(body)
        return
    check_target(target, inputs, folders, option=option)
    data = safe_for(body).encode("utf-8", "backslashreplace")
    with replacing(target, option) as temp:
        with open(temp, "wb") as handle:
            handle.write(data)
            handle.flush()
            if stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                os.fsync(handle.fileno())


@contextmanager
def streamed_output(
    target: str | os.PathLike[str] | None,
    inputs: Sequence[str | os.PathLike[str]] = (),
    folders: Sequence[str | os.PathLike[str]] = (),
    option: str = "--output",
) -> Iterator[Callable[[bytes], None]]:
    """Yield ``write(data)`` for an output written piece by piece, as it is computed.

    A file is written as :func:`write_output` writes one (a temporary file renamed over
    the target only when every piece was written; the previous file survives any
    failure); None or ``-`` is stdout. The pieces are bytes already made safe for their
    format by the caller (:func:`safe_text`, :func:`safe_json`).

    Raises
    ------
    OutputError
        As :func:`write_output`.
    """
    if target is None or os.fspath(target) == "-":
        stream = sys.stdout
        buffer = getattr(stream, "buffer", None)

        def to_stdout(data: bytes) -> None:
            try:
                if buffer is not None:
                    stream.flush()
                    buffer.write(data)
                else:
                    stream.write(data.decode("utf-8"))
            except (OSError, ValueError) as exc:
                _silence("stdout")
                reason = getattr(exc, "strerror", None) or str(exc)
                raise OutputError(f"cannot write to standard output: {reason}") from None

        yield to_stdout
        try:
            stream.flush()
        except (OSError, ValueError) as exc:
            _silence("stdout")
            reason = getattr(exc, "strerror", None) or str(exc)
            raise OutputError(f"cannot write to standard output: {reason}") from None
        return
    check_target(target, inputs, folders, option=option)
    with replacing(target, option) as temp:
        with open(temp, "wb") as handle:

            def to_file(data: bytes) -> None:
                handle.write(data)

            yield to_file
            handle.flush()
            if stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                os.fsync(handle.fileno())


# ----------------------------------------------------------------------------- numbers as text
#
# A sweep of 10^8 points is 10^8 rows of CSV: ``repr`` of each float in Python costs about
# a microsecond, more than the model. The functions below write the same text with numpy,
# a chunk of rows at a time: the digits ``repr`` chooses (the shortest that read back as
# the same float, the nearest of them) from long-double arithmetic, and the layout
# ``repr`` gives them (``0.0001``, ``1e-05``, ``50.0``, ``1e+16``). A number the
# long-double arithmetic cannot decide (about one in twenty) takes ``repr`` itself, as do
# non-finite and subnormal numbers, and every number where long double is no wider than
# double (then this is only a slower ``repr``).

#: Byte slots of one float cell: sign, "0.", three zeros, 17 digits with a point among
#: them, "e", its sign and three digits. Empty slots hold 0 and are dropped.
FLOAT_SLOTS = 1 + 2 + 3 + 18 + 1 + 1 + 3
#: Byte slots of one integer cell: sign and 19 digits.
INT_SLOTS = 20
_ZERO, _DOT, _MINUS = ord("0"), ord("."), ord("-")
#: Error of y = a·10^(16−e) in long double, in units of its last digit (about 2 of its
#: last bits), with a margin: within it the fast path defers to ``repr``.
_TOL = 0.03


@functools.cache
def _number_tables() -> tuple[Any, Any, bool, float]:
    """10^k for k from -400 to 399 (each correctly rounded to long double), 10^k as
    uint64 for k ≤ 17, whether long double carries 64 bits of mantissa, the smallest
    normal double."""
    import numpy as np

    ten = np.array([np.longdouble(f"1e{k}") for k in range(-400, 400)], dtype=np.longdouble)
    pow10 = np.array([10**k for k in range(18)], dtype=np.uint64)
    extended = bool(np.finfo(np.longdouble).nmant >= 63)
    return ten, pow10, extended, float(np.finfo(np.float64).tiny)


def _shortest_digits(
    a: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """For finite normal a > 0: the digits of ``repr(a)`` as a 17-digit integer D (padded
    with zeros), the decimal exponent e (a ≈ D·10^(e−16)), and where the long-double
    arithmetic cannot decide (those take ``repr``).

    ``repr`` gives the shortest digits that read back as a, the nearest of them when
    several do. y = a·10^(16−e) is formed once in long double (64-bit mantissa, within
    0.02 of y); its correctly rounded 17, 16 and 15 leading digits follow from
    round(y) and y − round(y) in integers. Fifteen digits or fewer always survive a
    round trip, so the shortest is the 15 digits less trailing zeros when they read back
    as a, else 16, else 17 (which always do). A candidate reads back as a when it lies
    within half the gap to the neighbouring double."""
    import numpy as np

    _TEN_LD, _POW10, _, _ = _number_tables()
    ld = a.astype(np.longdouble)
    e = np.floor(np.log10(a)).astype(np.int64)
    y = ld * _TEN_LD[416 - e]
    off = (y < _TEN_LD[416]).astype(np.int64) - (y >= _TEN_LD[417])
    if off.any():  # floor(log10(a)) one off beside a power of ten
        e -= off
        y = ld * _TEN_LD[416 - e]
    r = np.rint(y)
    frac = (y - r).astype(np.float64)  # in [-0.5, 0.5], within _TOL of the truth
    d17 = r.astype(np.uint64)
    unsure = d17 >= _POW10[17]
    with np.errstate(over="ignore"):
        up = np.nextafter(a, np.inf) - a
    down = a - np.nextafter(a, 0.0)
    up = np.where(np.isinf(up), down, up)  # above the largest double: as below
    # half a gap to the neighbouring double, in units of the 17th digit
    count = d17.astype(np.float64) / 2
    half_up, half_down = up / a * count, down / a * count
    digits = d17.copy()
    done = np.zeros(a.size, dtype=bool)
    for step in (np.uint64(100), np.uint64(10)):
        q = d17 // step
        rem = (d17 - q * step).astype(np.int64)
        mid = int(step) // 2
        rounded_up = (rem > mid) | ((rem == mid) & (frac > 0))
        unsure |= ~done & (rem == mid) & (np.abs(frac) < _TOL)
        candidate = (q + rounded_up) * step
        delta = (candidate.astype(np.int64) - d17.astype(np.int64)) - frac
        half = np.where(delta < 0, half_down, half_up)
        dist = np.abs(delta)
        unsure |= ~done & (np.abs(dist - half) <= _TOL)
        fits = ~done & (dist < half)
        digits = np.where(fits, candidate, digits)
        done |= fits
    unsure |= ~done & (np.abs(frac) > 0.5 - _TOL)  # 17 digits: round(y) itself unsure
    carry = digits >= _POW10[17]
    digits = np.where(carry, _POW10[16], digits)
    return digits, e + carry, unsure


def _digit_rows(digits: npt.NDArray[np.uint64], count: int) -> list[U8]:
    """The ``count`` lowest decimal digits of each integer as ASCII, most significant
    first (in groups of nine, so the arithmetic runs on 32-bit integers)."""
    import numpy as np

    out: list[U8] = []
    rest64 = digits.astype(np.uint64)
    billion = np.uint64(10**9)
    ten = np.uint32(10)
    while count > 0:
        width = min(9, count)
        high = rest64 // billion
        group = (rest64 - high * billion).astype(np.uint32)
        rest64 = high
        rows = []
        for _ in range(width):
            q = group // ten
            rows.append((group - q * ten).astype(np.uint8) + np.uint8(_ZERO))
            group = q
        out[:0] = reversed(rows)
        count -= width
    return out


def float_slots(values: npt.NDArray[Any], out: U8) -> None:
    """Write ``repr`` of each float into ``out`` (shape (FLOAT_SLOTS, n)), one byte a
    slot, unused slots 0: joined with the zeros dropped, each column is the repr."""
    import numpy as np

    _, _, _EXTENDED, _SMALLEST_NORMAL = _number_tables()
    v = np.asarray(values, dtype=np.float64).ravel()
    n = v.size
    a = np.abs(v)
    finite = np.isfinite(a)
    normal = finite & (a >= _SMALLEST_NORMAL)
    digits = np.zeros(n, dtype=np.uint64)
    exponent = np.zeros(n, dtype=np.int64)
    slow = ~finite | (finite & (a > 0) & ~normal)
    if _EXTENDED:
        idx = np.flatnonzero(normal)
        d, e, unsure = _shortest_digits(a[idx])
        digits[idx] = d
        exponent[idx] = e
        slow[idx[unsure]] = True
    else:
        slow |= normal
    chars = _digit_rows(digits, 17)
    # significant digits: 17 less the trailing zeros, at least 1
    nd = np.ones(n, dtype=np.int16)
    for k in range(16, 0, -1):
        nd = np.where((nd == 1) & (chars[k] != _ZERO), np.int16(k + 1), nd)
    e16 = np.clip(exponent, -5, 16).astype(np.int16)
    sci = (e16 < -4) | (e16 >= 16)
    fixed_pos = ~sci & (e16 >= 0)
    fixed_neg = ~sci & (e16 < 0)
    zero = np.uint8(0)
    out[0] = np.where(np.signbit(v), np.uint8(_MINUS), zero)
    out[1] = np.where(fixed_neg, np.uint8(_ZERO), zero)
    out[2] = np.where(fixed_neg, np.uint8(_DOT), zero)
    for k in range(3):
        out[3 + k] = np.where(fixed_neg & (e16 < -1 - k), np.uint8(_ZERO), zero)
    # the digits with the point after digit P-1 (none: P = 99); digits shown: S
    point = np.where(fixed_pos, e16 + 1, np.where(sci & (nd > 1), 1, 99)).astype(np.int16)
    shown = np.where(fixed_pos, np.maximum(nd, e16 + 2), nd)
    for j in range(18):
        if j < 17:
            body = np.where((j < point) & (j < shown), chars[j], zero)
        else:
            body = np.zeros(n, dtype=np.uint8)
        if j > 0:
            body = np.where((j > point) & (j - 1 < shown), chars[j - 1], body)
            body = np.where(j == point, np.uint8(_DOT), body)
        out[6 + j] = body
    base = 6 + 18
    out[base] = np.where(sci, np.uint8(ord("e")), zero)
    out[base + 1] = np.where(
        sci, np.where(exponent < 0, np.uint8(_MINUS), np.uint8(ord("+"))), zero
    )
    ea = np.abs(exponent).astype(np.int16)
    out[base + 2] = np.where(
        sci & (ea >= 100), (ea // 100).astype(np.uint8) + np.uint8(_ZERO), zero
    )
    out[base + 3] = np.where(sci, (ea // 10 % 10).astype(np.uint8) + np.uint8(_ZERO), zero)
    out[base + 4] = np.where(sci, (ea % 10).astype(np.uint8) + np.uint8(_ZERO), zero)
    where = np.flatnonzero(slow)
    if where.size:
        texts = [repr(x).encode() for x in v[where].tolist()]
        block = np.frombuffer(b"".join(t.ljust(FLOAT_SLOTS, b"\0") for t in texts), np.uint8)
        out[:, where] = block.reshape(-1, FLOAT_SLOTS).T


def int_slots(values: npt.NDArray[Any], out: U8) -> None:
    """Write ``str`` of each integer into ``out`` (shape (INT_SLOTS, n)), as
    :func:`float_slots` does."""
    import numpy as np

    v = np.asarray(values, dtype=np.int64).ravel()
    mag = np.abs(v).astype(np.uint64)  # -2**63 wraps to 2**63: still right
    chars = _digit_rows(mag, 19)
    out[0] = np.where(v < 0, np.uint8(_MINUS), np.uint8(0))
    lead = np.ones(v.size, dtype=bool)
    for k in range(19):
        lead &= (chars[k] == _ZERO) & (k < 18)
        out[1 + k] = np.where(lead, np.uint8(0), chars[k])


def text_rows(columns: Sequence[npt.NDArray[Any]], prefixes: Sequence[bytes], end: bytes) -> bytes:
    """Rows of text: for each row, each column's text after its prefix, then ``end``.

    Floats are written as ``repr`` writes them (the shortest digits that read back as the
    same number), integers as ``str``: CSV is ``prefixes = [b"", b","…]``, ``end = b"\\n"``.
    """
    import numpy as np

    n = int(columns[0].size) if columns else 0
    widths = [
        INT_SLOTS if np.issubdtype(np.asarray(c).dtype, np.integer) else FLOAT_SLOTS
        for c in columns
    ]
    total = sum(widths) + sum(len(p) for p in prefixes) + len(end)
    buf = np.zeros((total, n), dtype=np.uint8)
    at = 0
    for column, width, prefix in zip(columns, widths, prefixes, strict=True):
        for byte in prefix:
            buf[at] = byte
            at += 1
        if width == INT_SLOTS:
            int_slots(column, buf[at : at + width])
        else:
            float_slots(column, buf[at : at + width])
        at += width
    for byte in end:
        buf[at] = byte
        at += 1
    return buf.T.tobytes().translate(None, b"\0")
