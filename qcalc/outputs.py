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
        import tempfile  # only where a file is written (1.3 ms of start-up)

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
# long-double arithmetic cannot decide (about one in twenty) is formed again with its
# error carried exactly; only what that still cannot decide (an exact tie) takes ``repr``
# itself, as do non-finite and subnormal numbers, and every number where long double is
# not the 64-bit-mantissa kind (then this is only a slower ``repr``).

#: Bytes of one number's cell: a float's sign, "0." and three zeros, 17 digits with a point
#: among them, "e", its sign and three digits, three spare; an integer's sign and 19
#: digits. Four 64-bit words; empty bytes hold 0 and are dropped.
CELL_BYTES = 1 + 2 + 3 + 18 + 1 + 1 + 3 + 3
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
    extended = bool(np.finfo(np.longdouble).nmant >= 63) and sys.byteorder == "little"
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
    within half the gap to the neighbouring double. Where that is too close to call
    (about one number in twenty), y is formed again with the error of the product and
    of the power of ten carried (:func:`_scaled_exactly`), and only a tie within 10⁻⁹ of
    a digit is left undecided."""
    import numpy as np

    _TEN_LD, _POW10, _, _ = _number_tables()
    ld = a.astype(np.longdouble)
    e = np.floor(np.log10(a)).astype(np.int64)
    y = ld * np.take(_TEN_LD, 416 - e)
    off = (y < _TEN_LD[416]).astype(np.int64) - (y >= _TEN_LD[417])
    if off.any():  # floor(log10(a)) one off beside a power of ten
        e -= off
        y = ld * np.take(_TEN_LD, 416 - e)
    r = np.rint(y)
    frac = (y - r).astype(np.float64)  # in [-0.5, 0.5], within _TOL of the truth
    digits, carry, unsure = _choose_digits(a, r.astype(np.uint64), frac, _TOL)
    if unsure.any():
        idx = np.flatnonzero(unsure)
        r, frac = _scaled_exactly(ld[idx], e[idx])
        digits[idx], carry[idx], unsure[idx] = _choose_digits(a[idx], r, frac, 1e-9)
    return digits, e + carry, unsure


def _choose_digits(
    a: npt.NDArray[np.float64], d17: npt.NDArray[np.uint64], frac: Any, tol: float
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """The shortest digits of :func:`_shortest_digits` from y = d17 + frac (d17 the
    nearest integer to y, frac within ``tol`` of the truth), whether the digits carried
    into an 18th (then the exponent grows by one), and where ``tol`` cannot decide.

    Rounding y to a multiple of s (100: 15 digits, 10: 16) leaves t = y mod s; the
    nearest multiple is below y when t < s/2, at distance |t|, else above, at s − t. It
    reads back as a when that distance is below half the gap to the neighbouring double,
    the same on both sides but at a power of two (:func:`_choose_lopsided`)."""
    import numpy as np

    _, _POW10, _, _ = _number_tables()
    # The gap to the next double up is a/m, m the 53-bit integer of a's significand.
    # Half a gap, in units of the 17th digit:
    fraction_bits = a.view(np.uint64) & np.uint64(2**52 - 1)
    significand = (fraction_bits | np.uint64(2**52)).view(np.int64).astype(np.float64)
    half = d17.view(np.int64).astype(np.float64) / (2.0 * significand)
    unsure = d17 >= _POW10[17]
    digits = d17
    done: Any = None
    for step in (100, 10):
        q = d17 // np.uint64(step)
        t = (d17 - q * np.uint64(step)).view(np.int64) + frac  # y mod step, in [-½, step − ½)
        up = t > step / 2
        dist = np.where(up, step - t, np.abs(t))
        close = (np.abs(t - step / 2) < tol) | (np.abs(dist - half) <= tol)
        digits, done = _keep(digits, done, unsure, (q + up) * np.uint64(step), dist < half, close)
    lopsided = np.flatnonzero(fraction_bits == 0)
    if lopsided.size:
        digits[lopsided], unsure[lopsided] = _choose_lopsided(
            d17[lopsided], frac[lopsided], half[lopsided], tol
        )
        done[lopsided] = True
    unsure |= ~done & (np.abs(frac) > 0.5 - tol)  # 17 digits: round(y) itself unsure
    carry = digits >= _POW10[17]
    digits = np.where(carry, _POW10[16], digits)
    return digits, carry.astype(np.int64), unsure


def _keep(digits: Any, done: Any, unsure: Any, candidate: Any, fits: Any, close: Any) -> Any:
    """Take ``candidate`` where it ``fits`` and no shorter one did (``done``); mark
    ``unsure`` where it is ``close`` to call and no shorter one did. None: none yet."""
    import numpy as np

    if done is None:
        unsure |= close
        return np.where(fits, candidate, digits), fits
    fresh = ~done
    unsure |= fresh & close
    fits &= fresh
    return np.where(fits, candidate, digits), done | fits


def _choose_lopsided(d17: Any, frac: Any, half_up: Any, tol: float) -> tuple[Any, Any]:
    """:func:`_choose_digits` for powers of two, whose gap below is half the gap above:
    the nearer multiple may not read back where the farther, above, does. Of the two,
    the nearer of those that read back; the digits and where ``tol`` cannot decide."""
    import numpy as np

    unsure = np.zeros(d17.size, dtype=bool)
    digits = d17  # 17 digits: the nearest always reads back
    done: Any = None
    for step in (100, 10):
        q = d17 // np.uint64(step)
        t = (d17 - q * np.uint64(step)).view(np.int64) + frac
        below = np.abs(t)  # the multiple q·step; above y when t < 0
        below_half = np.where(t < 0, half_up, half_up / 2)
        above = step - t
        below_fits, above_fits = below < below_half, above < half_up
        close = (np.abs(below - below_half) <= tol) | (np.abs(above - half_up) <= tol)
        close |= below_fits & above_fits & (np.abs(below - above) < tol)
        take_above = above_fits & (~below_fits | (above < below))
        candidate = (q + take_above) * np.uint64(step)
        digits, done = _keep(digits, done, unsure, candidate, below_fits | above_fits, close)
    return digits, unsure


def _scaled_exactly(ld: Any, e: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.uint64], Any]:
    """y = a·10^(16−e) as its nearest integer and the rest, to about 10⁻¹⁸: the product
    with the long-double power of ten H split exactly (Dekker 1971, Numer. Math. 18, 224:
    p + err = a·H, halves of 32 bits), plus a·(10^k − H) from :func:`_ten_residuals`."""
    import numpy as np

    _TEN_LD, _, _, _ = _number_tables()
    high = _TEN_LD[416 - e]
    split = np.longdouble(2**32 + 1)
    t = split * ld
    a_hi = t - (t - ld)
    a_lo = ld - a_hi
    t = split * high
    h_hi = t - (t - high)
    h_lo = high - h_hi
    p = ld * high
    err = ((a_hi * h_hi - p) + a_hi * h_lo + a_lo * h_hi) + a_lo * h_lo
    r = np.rint(p)
    rest = (p - r) + (err + ld * _ten_residuals()[416 - e])
    step = np.rint(rest)  # the nearest integer moves when p's fraction was near ½
    return (r + step).astype(np.uint64), (rest - step).astype(np.float64)


@functools.cache
def _ten_residuals() -> Any:
    """10^k − H(k) for k from -400 to 399, H(k) the long-double 10^k of
    :func:`_number_tables` (to 40 digits, then rounded to long double)."""
    from decimal import Decimal, localcontext
    from fractions import Fraction

    import numpy as np

    ten = _number_tables()[0]
    rest = []
    with localcontext() as context:
        context.prec = 40
        for k, high in zip(range(-400, 400), ten, strict=True):
            exact = Fraction(10) ** k - Fraction(*high.as_integer_ratio())
            text = str(Decimal(exact.numerator) / Decimal(exact.denominator))
            rest.append(np.longdouble(text))
    return np.array(rest, dtype=np.longdouble)


def _ascii8(v: npt.NDArray[np.uint64]) -> Any:
    """The eight decimal digits of each v < 10^8 as ASCII, packed in a uint64 whose bytes
    in memory (little-endian) run from the most significant digit.

    Lanes split in parallel, each product kept inside its lane: 4 + 4 digits in 32-bit
    lanes (v // 10^4, v % 10^4), 2 + 2 in 16-bit lanes (x·5243 >> 19 is x // 100 for
    x < 10^4), 1 + 1 in 8-bit lanes (x·103 >> 10 is x // 10 for x < 100)."""
    import numpy as np

    u = np.uint64
    head = v // u(10_000)
    x = head | ((v - head * u(10_000)) << u(32))
    hundreds = ((x * u(5243)) >> u(19)) & u(0x0000_007F_0000_007F)
    x = hundreds | ((x - hundreds * u(100)) << u(16))
    tens = ((x * u(103)) >> u(10)) & u(0x000F_000F_000F_000F)
    x = tens | ((x - tens * u(10)) << u(8))
    return x | u(0x3030_3030_3030_3030)


def _digit_bytes(value: npt.NDArray[np.uint64], lead: int) -> U8:
    """The ``lead`` + 16 lowest decimal digits of each integer as ASCII bytes, most
    significant first, in rows of 32 bytes: 8 − ``lead`` zero bytes, the digits,
    then zeros (``lead`` ≤ 3)."""
    import numpy as np

    u = np.uint64
    n = value.size
    words = np.zeros((n, 4), dtype=np.uint64)
    top = value // u(10**16)
    rest = value - top * u(10**16)
    high = rest // u(10**8)
    words[:, 1] = _ascii8(high)
    words[:, 2] = _ascii8(rest - high * u(10**8))
    if lead == 1:  # the top digit, in the last byte of the first word
        words[:, 0] = (top | u(0x30)) << u(56)
    elif lead:  # the top digits, in the last bytes of the first word
        words[:, 0] = (_ascii8(top) >> u(8 * (8 - lead))) << u(8 * (8 - lead))
    return words.view(np.uint8).reshape(n, 32)


def _float_cells(values: npt.NDArray[Any]) -> Any:
    """``repr`` of each float as a cell of four 64-bit words (32 bytes, unused ones 0).

    The sign, "0." and up to three zeros fill bytes 0 to 5, the digits with the point
    among them 6 to 23, the exponent 24 to 28; 29 to 31 stay 0. The digits are laid out
    twice, as digit j in byte 6 + j and as digit j − 1 in it; masks looked up by where
    the point is and how many slots are used pick each byte from one of the two
    (:func:`_cell_tables`), so every row is a handful of whole-word operations."""
    import numpy as np

    _, _, _EXTENDED, _SMALLEST_NORMAL = _number_tables()
    v = np.asarray(values, dtype=np.float64).ravel()
    a = np.abs(v)
    normal = np.isfinite(a) & (a >= _SMALLEST_NORMAL)
    slow = ~normal & (a != 0.0)  # not finite, or subnormal
    if not _EXTENDED:
        slow |= normal
        digits, exponent = np.zeros(v.size, dtype=np.uint64), np.zeros(v.size, dtype=np.int64)
    elif normal.all():
        digits, exponent, slow = _shortest_digits(a)
    elif not slow.any():  # normal numbers and zeros: the zeros as 1.0, then 0 digits
        zero = ~normal
        digits, exponent, slow = _shortest_digits(np.where(zero, 1.0, a))
        digits[zero] = 0
        exponent[zero] = 0
    else:
        digits, exponent = np.zeros(v.size, dtype=np.uint64), np.zeros(v.size, dtype=np.int64)
        idx = np.flatnonzero(normal)
        d, e, unsure = _shortest_digits(a[idx])
        digits[idx] = d
        exponent[idx] = e
        slow[idx[unsure]] = True
    after = _digit_bytes(digits, 1).view(np.uint64)  # digit j − 1 in byte 6 + j
    before = after >> np.uint64(8)  # digit j in byte 6 + j
    # each word takes the next one's first byte; the last word of a row takes the next
    # row's first, which the masks below clear
    before.ravel()[:-1] |= after.ravel()[1:] << np.uint64(56)
    nd = _significant(after)
    e16 = np.clip(exponent, -5, 16).astype(np.int16)
    sci = (e16 < -4) | (e16 >= 16)
    fixed_pos = ~sci & (e16 >= 0)
    # the digits with the point after digit P-1 (none: P = 18); digits shown: S; with
    # the point among them, slots used: L
    point = np.where(fixed_pos, e16 + 1, np.where(sci & (nd > 1), 1, 18)).astype(np.int16)
    shown = np.where(fixed_pos, np.maximum(nd, e16 + 2), nd)
    used = shown + (point < shown)
    take_before, take_after, dot, prefix, suffix = _cell_tables()
    layout = point.astype(np.intp) * 19 + used

    def look_up(table: Any, index: Any) -> Any:
        return np.take(table, index, axis=0)  # (much faster than table[index])

    cell = before & look_up(take_before, layout)
    cell |= after & look_up(take_after, layout)
    cell |= look_up(dot, layout)
    fixed_neg = ~sci & (e16 < 0)
    cell[:, 0] |= look_up(prefix, np.signbit(v) * 5 + np.where(fixed_neg, -e16, 0).astype(np.intp))
    cell[:, 3] = look_up(suffix, np.where(sci, exponent + 400, 0))
    where = np.flatnonzero(slow)
    if where.size:
        texts = [repr(x).encode() for x in v[where].tolist()]
        block = np.frombuffer(b"".join(t.ljust(CELL_BYTES, b"\0") for t in texts), np.uint64)
        cell[where] = block.reshape(-1, 4)
    return cell


def _significant(words: npt.NDArray[np.uint64]) -> Any:
    """Significant digits of each row of :func:`_digit_bytes` (17 digits from byte 7):
    17 less the trailing zeros, at least 1. The last nonzero digit lies in the highest
    nonzero byte of a word xor "00000000", whose place is the exponent of that word as a
    double over 8 (digits are at most 9, so rounding to a double cannot reach the next
    byte)."""
    import numpy as np

    zeros = np.uint64(0x3030_3030_3030_3030)

    def highest_byte(word: Any) -> Any:
        as_double = (word ^ zeros).astype(np.float64).view(np.uint64)
        return ((as_double >> np.uint64(52)).astype(np.int16) - 1023) // 8  # -128: none

    last = highest_byte(words[:, 2])
    nd = np.where(last >= 0, 10 + last, 2 + highest_byte(words[:, 1]))
    return np.maximum(nd, 1).astype(np.int16)


@functools.cache
def _cell_tables() -> tuple[Any, Any, Any, Any, Any]:
    """The word masks and texts of :func:`_float_cells`. For the point after digit P − 1
    (P = 18: no point) and L slots used, row 19·P + L: which bytes of the digits come
    from "digit j in slot j" (before the point), which from "digit j − 1 in slot j"
    (after it), and the point itself. Then the prefix word, by 5·sign + zeros (the number
    of places the first digit lies after the point, 0 when written without "0."), and
    the exponent word, by exponent + 400 (0: none)."""
    import numpy as np

    rows = np.zeros((3, 19 * 19, 32), dtype=np.uint8)
    for p in range(19):
        for used in range(19):
            row = 19 * p + used
            for j in range(used):
                rows[0 if j < p else 2 if j == p else 1, row, 6 + j] = 0xFF
    dot = np.where(rows[2] == 0xFF, np.uint8(_DOT), np.uint8(0))
    prefix = np.zeros((10, 8), dtype=np.uint8)
    for sign in range(2):
        for zeros in range(5):
            start = ("-" if sign else "") + ("0." + "0" * (zeros - 1) if zeros else "")
            prefix[5 * sign + zeros, : len(start)] = np.frombuffer(start.encode(), np.uint8)
    suffix = np.zeros((800, 8), dtype=np.uint8)
    for k in range(-400, 400):
        exponent = f"e{k:+03d}".encode()
        suffix[k + 400, : len(exponent)] = np.frombuffer(exponent, np.uint8)
    suffix[0] = 0
    words = [t.view(np.uint64).reshape(t.shape[0], -1) for t in (rows[0], rows[1], dot)]
    return (
        words[0],
        words[1],
        words[2],
        prefix.view(np.uint64).ravel(),
        suffix.view(np.uint64).ravel(),
    )


def _int_cells(values: npt.NDArray[Any]) -> npt.NDArray[np.uint64]:
    """``str`` of each integer as a cell of four 64-bit words: the sign in byte 0, the
    digits in 1 to 19, leading zeros and bytes 20 to 31 zero."""
    import numpy as np

    v = np.asarray(values, dtype=np.int64).ravel()
    mag = np.abs(v).astype(np.uint64)  # -2**63 wraps to 2**63: still right
    words = _digit_bytes(mag, 3)
    chars = words[:, 5:24]  # 19 digits
    cell = np.zeros((v.size, 32), dtype=np.uint8)
    cell[:, 0] = np.where(v < 0, np.uint8(_MINUS), np.uint8(0))
    first = np.argmax(chars[:, :18] != _ZERO, axis=1)  # 18 where all are zero: keep one
    first = np.where(chars[np.arange(v.size), first] == _ZERO, 18, first)
    np.copyto(cell[:, 1:20], chars)
    np.copyto(cell[:, 1:20], np.uint8(0), where=np.arange(19) < first[:, None])
    return cell.view(np.uint64)


def text_rows(columns: Sequence[npt.NDArray[Any]], prefixes: Sequence[bytes], end: bytes) -> bytes:
    """Rows of text: for each row, each column's text after its prefix, then ``end``.

    Floats are written as ``repr`` writes them (the shortest digits that read back as the
    same number), integers as ``str``: CSV is ``prefixes = [b"", b","…]``, ``end = b"\\n"``.
    """
    import numpy as np

    n = int(columns[0].size) if columns else 0
    cells = [
        _int_cells(c) if np.issubdtype(np.asarray(c).dtype, np.integer) else _float_cells(c)
        for c in columns
    ]
    tails = [*prefixes[1:], end]
    if columns and not prefixes[0] and all(len(t) <= 3 for t in tails):
        # What follows a cell fits in its last three bytes (CSV): rows of whole words.
        words = np.empty((n, 4 * len(cells)), dtype=np.uint64)
        for k, (cell, tail) in enumerate(zip(cells, tails, strict=True)):
            words[:, 4 * k : 4 * k + 4] = cell
            words[:, 4 * k + 3] |= np.uint64(int.from_bytes(tail, "little") << 40)
        return words.tobytes().translate(None, b"\0")
    total = CELL_BYTES * len(cells) + sum(len(p) for p in prefixes) + len(end)
    buf = np.zeros((n, total), dtype=np.uint8)
    at = 0
    for cell, prefix in zip(cells, prefixes, strict=True):
        buf[:, at : at + len(prefix)] = np.frombuffer(prefix, np.uint8)
        at += len(prefix)
        buf[:, at : at + CELL_BYTES] = cell.view(np.uint8)
        at += CELL_BYTES
    buf[:, at:] = np.frombuffer(end, np.uint8)
    return buf.tobytes().translate(None, b"\0")
