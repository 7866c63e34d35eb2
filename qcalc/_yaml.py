"""Safe, position-aware YAML reading for scenario files.

PyYAML's parser composes the node tree; this module then builds plain Python values
itself so that it can
- read scalars by the YAML 1.2 core schema, as the scenario format promises: ``010`` is
  10 (no octal), ``1:30`` is text (no sexagesimal), ``1e9`` is a number, ``yes`` is text,
  and an explicit tag (``!!int``, ``!!float``, ``!!bool``, ``!!null``, ``!!str``) must fit
  its value or the value is refused where it stands,
- refuse tags outside that schema (``!!python/object`` and friends) and any tag on a
  mapping or list (``!!seq {…}`` would otherwise be read as something it is not),
- refuse duplicate keys (PyYAML silently keeps the last one),
- refuse control characters in keys and texts (a name is printed into tables, Markdown,
  CSV and JUnit; an escape sequence or a line break there would forge report lines),
- bound the work an alias bomb ("billion laughs") can cause, and the size, nesting depth
  and scale (nodes, links, demands, path length) of a document (:mod:`qcalc.limits`),
- remember the line and column of every value, so errors can point at it.
"""

from __future__ import annotations

import gc
import math
import os
import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import field
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

from qcalc.errors import ScenarioError
from qcalc.limits import LIMITS
from qcalc.records import record

#: Largest scenario file read. [bytes]
MAX_FILE_BYTES = LIMITS["yaml_bytes"].default
#: Deepest nesting of mappings and sequences accepted.
MAX_DEPTH = LIMITS["yaml_depth"].default
#: Most values a document may expand to once aliases are followed (alias-bomb guard).
MAX_NODES = LIMITS["yaml_values"].default
#: Most digits an integer may be written with, and most bits it may have: Python refuses
#: to convert more than 4,300 decimal digits either way (with a message that names no
#: file or line); below that, the field says what range it expects.
MAX_INT_DIGITS = 4000
MAX_INT_BITS = 13_000  # about 3,900 decimal digits

_CORE = "tag:yaml.org,2002:"
#: Explicit scalar tags of the YAML 1.2 core schema, by what they accept.
_SCALAR_TAGS = {f"{_CORE}{name}" for name in ("null", "bool", "int", "float", "str")}

# The resolver marks what the document did not tag itself; the builder reads those by
# the YAML 1.2 core schema. Explicit tags stay as written and are checked one by one.
_PLAIN = "tag:qcalc:plain"  # an untagged plain scalar: null, bool, int, float or text
_QUOTED = "tag:qcalc:quoted"  # an untagged quoted or block scalar: always text
_MAP = "tag:qcalc:map"
_SEQ = "tag:qcalc:seq"

# YAML 1.2.2, section 10.3.2 (core schema), tag resolution table.
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT10 = re.compile(r"^[-+]?[0-9]+$")
_INT8 = re.compile(r"^0o[0-7]+$")
_INT16 = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_INF = re.compile(r"^[-+]?\.(?:inf|Inf|INF)$")
_NAN = re.compile(r"^\.(?:nan|NaN|NAN)$")
#: Every plain scalar _NULL or _BOOL matches, and its value.
_KEYWORDS: dict[str, bool | None] = {
    **dict.fromkeys(("~", "null", "Null", "NULL", ""), None),
    **dict.fromkeys(("true", "True", "TRUE"), True),
    **dict.fromkeys(("false", "False", "FALSE"), False),
}
#: The first characters of every scalar the number patterns match.
_NUMBER_STARTS = frozenset("0123456789+-.")

#: Characters a text may not hold: C0 controls but tab and line feed, DEL, C1 controls,
#: the Unicode line and paragraph separators and the bidirectional overrides and
#: isolates ("Trojan Source", CVE-2021-42574). A key (a name) may not hold tab or line
#: feed either.
_CONTROL_IN_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_CONTROL_IN_NAME = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")

Path = tuple[str | int, ...]


class _Resolver(BaseResolver):
    """Tags only what the document left untagged, and only as plain, quoted, map or seq."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode:
            return _PLAIN if implicit[0] else _QUOTED
        return _SEQ if kind is yaml.SequenceNode else _MAP


class _PyLoader(Reader, Scanner, Parser, Composer, _Resolver):
    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        _Resolver.__init__(self)


def _loader_class() -> type[Any]:
    """libyaml's C parser when PyYAML was built with it (composing is most of a small
    scenario's run time), else the pure-Python one; neither constructs any object."""
    try:
        from yaml.cyaml import CParser  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - PyYAML without libyaml
        return _PyLoader

    class _CLoader(CParser, _Resolver):  # type: ignore[misc, valid-type]
        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            _Resolver.__init__(self)

    return _CLoader


_LOADER = _loader_class()


def control_character(text: str, *, name: bool = False) -> str | None:
    """The first control character of ``text`` as ``U+001B``, or None when it has none.

    With ``name``, tab and line feed count too (a name is one line of text)."""
    found = (_CONTROL_IN_NAME if name else _CONTROL_IN_TEXT).search(text)
    return None if found is None else f"U+{ord(found.group()):04X}"


@record
class Document:
    """A YAML document as plain Python values plus the position of each value.

    ``marks`` maps a path (keys and list indices from the root) to the 1-based
    (line, column) of that value; ``key_marks`` the same for the key of a mapping entry.
    """

    data: Any
    file: str
    marks: dict[Path, tuple[int, int]] = field(default_factory=dict)
    key_marks: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def error(self, path: Path, message: str, *, at_key: bool = False) -> ScenarioError:
        """A ScenarioError located at ``path`` (its key when ``at_key``)."""
        table = self.key_marks if at_key else self.marks
        probe = path
        while probe not in table and probe:
            probe = probe[:-1]
        line, column = table.get(probe, (None, None))
        return ScenarioError(message, file=self.file, line=line, column=column, field=dotted(path))


def shown(value: Any, limit: int = 60) -> str:
    """``repr(value)`` for a message, cut to ``limit`` characters with the length said."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[: limit - 1]}… ({len(text):,} characters)"


def dotted(path: Path) -> str:
    """``("links", 2, "length_km")`` → ``links[2].length_km``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _tag_name(tag: str) -> str:
    """``!!int`` for the core schema's tags, the tag itself otherwise."""
    return "!!" + tag.removeprefix(_CORE) if tag.startswith(_CORE) else tag


class _Builder:
    def __init__(self, file: str) -> None:
        self.doc = Document(data=None, file=file)
        #: Values built again through an alias (a node of the tree met a second time).
        self.expanded = 0
        self.seen: set[int] = set()
        self.max_values = LIMITS["yaml_values"].value

    def fail(self, node: yaml.Node, path: Path, message: str) -> ScenarioError:
        line, column = _mark(node)
        return ScenarioError(
            message, file=self.doc.file, line=line, column=column, field=dotted(path) or None
        )

    def refuse_tag(self, node: yaml.Node, path: Path) -> ScenarioError:
        return self.fail(
            node,
            path,
            f"the tag {shown(node.tag)} is not allowed; scenarios use plain YAML values only",
        )

    def build(self, node: yaml.Node, path: Path, depth: int) -> Any:
        # An alias is the node of its anchor met again: what aliases expand to is what is
        # built from a node already built. The document's own values are bounded by its
        # size (yaml_bytes); the values its aliases add, by yaml_values.
        if id(node) in self.seen:  # the tree holds every node while it is built: ids last
            self.expanded += 1
            if self.expanded > self.max_values:
                raise self.fail(
                    node,
                    path,
                    f"the document expands to more than {self.max_values:,} values (an "
                    "alias bomb?); expected a scenario of ordinary size"
                    + LIMITS["yaml_values"].how_to_raise,
                )
        else:
            self.seen.add(id(node))
        if depth > MAX_DEPTH:
            raise self.fail(node, path, f"nesting deeper than {MAX_DEPTH} levels is not accepted")
        self.doc.marks.setdefault(path, _mark(node))
        if isinstance(node, yaml.MappingNode):
            if node.tag != _MAP:
                raise self.refuse_tag(node, path)
            return self.build_mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ:
                raise self.refuse_tag(node, path)
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        text = str(node.value)
        if node.tag == _QUOTED:
            return self.text(node, path, text)
        if node.tag == _PLAIN:
            return self.plain(node, path, text)
        if node.tag in _SCALAR_TAGS:
            return self.tagged(node, path, text)
        raise self.refuse_tag(node, path)

    def text(self, node: yaml.Node, path: Path, text: str) -> str:
        found = control_character(text)
        if found is not None:
            raise self.fail(
                node,
                path,
                f"the text {shown(text)} holds the control character {found}; texts in a "
                "scenario may hold no control characters (escape sequences, NUL, "
                "bidirectional overrides)",
            )
        return text

    def integer(self, node: yaml.Node, path: Path, text: str, base: int) -> int:
        digits = text.lstrip("+-")[(0 if base == 10 else 2) :]
        if len(digits) > MAX_INT_DIGITS or (
            base != 10 and int(digits, base).bit_length() > MAX_INT_BITS
        ):
            raise self.fail(
                node,
                path,
                f"is an integer of {len(digits):,} digits; expected a number (no field "
                "takes more than a few digits)",
            )
        value = int(digits, base)
        return -value if text.startswith("-") else value

    def plain(self, node: yaml.Node, path: Path, text: str) -> Any:
        """An untagged plain scalar, read by the YAML 1.2 core schema."""
        if text in _KEYWORDS:  # what _NULL and _BOOL match, looked up at once
            return _KEYWORDS[text]
        if text[0] not in _NUMBER_STARTS:  # no number pattern can match: a text
            return self.text(node, path, text)
        if _INT10.match(text):
            return self.integer(node, path, text, 10)
        if _INT8.match(text):
            return self.integer(node, path, text, 8)
        if _INT16.match(text):
            return self.integer(node, path, text, 16)
        if _FLOAT.match(text) or _INF.match(text) or _NAN.match(text):
            return self.float(text)
        return self.text(node, path, text)

    @staticmethod
    def float(text: str) -> float:
        if _NAN.match(text):
            return math.nan
        if _INF.match(text):
            return -math.inf if text.startswith("-") else math.inf
        return float(text)  # 1e400 is inf, refused by the field with its place

    def tagged(self, node: yaml.Node, path: Path, text: str) -> Any:
        """A scalar with an explicit core tag: the value must be one the tag can hold."""
        tag = node.tag.removeprefix(_CORE)
        if tag == "str":
            return self.text(node, path, text)
        if tag == "null" and _NULL.match(text):
            return None
        if tag == "bool" and _BOOL.match(text):
            return text.lower() == "true"
        if tag == "int":
            for pattern, base in ((_INT10, 10), (_INT8, 8), (_INT16, 16)):
                if pattern.match(text):
                    return self.integer(node, path, text, base)
        if tag == "float" and (
            _FLOAT.match(text) or _INF.match(text) or _NAN.match(text) or _INT10.match(text)
        ):
            if _INT10.match(text) and len(text) > MAX_INT_DIGITS:
                self.integer(node, path, text, 10)  # refused for its length
            return self.float(text)
        expected = {
            "null": "~, null or nothing",
            "bool": "true or false",
            "int": "decimal digits, 0o… (octal) or 0x… (hexadecimal)",
            "float": "a number such as 1.5, 1e9, .inf or .nan",
        }[tag]
        what = "an empty value" if not text else f"the value {shown(text)}"
        raise self.fail(
            node,
            path,
            f"{what} cannot be read as {_tag_name(node.tag)}; expected {expected} "
            "(YAML 1.2 core schema)",
        )

    def build_mapping(self, node: yaml.MappingNode, path: Path, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail(key_node, path, "a mapping key must be a plain name")
            key = str(key_node.value)
            if key_node.tag == _PLAIN and key == "<<":
                raise self.fail(
                    key_node, path, "merge keys (<<) are not supported; use `defaults:` instead"
                )
            if key_node.tag not in (_PLAIN, _QUOTED, f"{_CORE}str"):
                raise self.refuse_tag(key_node, path)
            found = control_character(key, name=True)
            if found is not None:
                raise self.fail(
                    key_node,
                    path,
                    f"the key {shown(key)} holds the control character {found}; a name may "
                    "hold no control characters (line breaks, tabs, escape sequences, NUL)",
                )
            child = (*path, key)
            if key in out:
                first = self.doc.key_marks[child]
                raise self.fail(
                    key_node,
                    child,
                    f"duplicate key {shown(key)} (first given at line {first[0]}); "
                    "each key may appear once",
                )
            self.doc.key_marks[child] = _mark(key_node)
            out[key] = self.build(value_node, child, depth + 1)
        return out


#: Sections whose size :func:`read_document` bounds, with their limit.
_SCALE = {"nodes": "nodes", "links": "links", "demands": "demands"}


def _check_scale(doc: Document) -> None:
    """Refuse a document with more nodes, links, demands or path hops than the limits."""
    data = doc.data
    if not isinstance(data, dict):
        return
    for section, key in _SCALE.items():
        value = data.get(section)
        entry = LIMITS[key]
        if isinstance(value, dict | list) and len(value) > entry.value:
            raise doc.error((section,), entry.refusal(len(value), "holds "))
    demands = data.get("demands")
    hops = LIMITS["path_hops"]
    for i, demand in enumerate(demands if isinstance(demands, list) else []):
        route = demand.get("path") if isinstance(demand, dict) else None
        if isinstance(route, list) and len(route) - 1 > hops.value:
            raise doc.error(("demands", i, "path"), hops.refusal(len(route) - 1, "has "))


def _too_large(file: str) -> ScenarioError:
    entry = LIMITS["yaml_bytes"]
    return ScenarioError(
        f"the file is larger than {entry.value / (1024 * 1024):g} MB; expected a scenario of "
        f"ordinary size{entry.how_to_raise}",
        file=file,
    )


@contextmanager
def paused_collection() -> Iterator[None]:
    """No automatic garbage collection inside: reading a scenario makes a few objects
    per value and frees none, and the collector's passes over them all grew with the
    square of the file (a 10⁴-node, 3·10⁴-link scenario read in 1.7 s without them,
    7.7 s with). Values hold no reference cycles; what a hostile file's recursive alias
    ties into one is collected after, when collection resumes as it was."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def read_document(text: str, file: str) -> Document:
    """Compose ``text`` with the YAML safe parser into a :class:`Document`.

    Raises
    ------
    ScenarioError
        For anything that is not a single YAML document of core-schema values, or that
        exceeds the limits of :mod:`qcalc.limits` (size, depth, values, scale).
    """
    limit = LIMITS["yaml_bytes"].value
    if len(text) > limit or len(text.encode("utf-8", errors="replace")) > limit:
        raise _too_large(file)
    if "\x00" in text:
        raise ScenarioError("the file holds NUL bytes; expected a YAML text file", file=file)
    with paused_collection():
        return _compose(text, file)


def _compose(text: str, file: str) -> Document:
    loader = _LOADER(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            problem = exc.problem or "malformed YAML"
            if "nesting depth" in problem:  # libyaml's own limit, met before ours
                problem = f"nesting deeper than {MAX_DEPTH} levels is not accepted"
            if "expected a single document" in str(exc.context or ""):
                problem = "the file holds several YAML documents; expected exactly one"
            raise ScenarioError(
                f"{problem}",
                file=file,
                line=mark.line + 1 if mark else None,
                column=mark.column + 1 if mark else None,
            ) from None
        except yaml.YAMLError as exc:
            raise ScenarioError(f"malformed YAML: {shown(str(exc), 200)}", file=file) from None
        except RecursionError:
            raise ScenarioError(
                f"nesting deeper than {MAX_DEPTH} levels is not accepted", file=file
            ) from None
        if node is None:
            raise ScenarioError("the file is empty; expected a scenario mapping", file=file)
        builder = _Builder(file)
        builder.doc.data = builder.build(node, (), 0)
        _check_scale(builder.doc)
        return builder.doc
    finally:
        loader.dispose()


_KINDS = (
    (stat.S_ISDIR, "is a folder; expected a scenario file"),
    (stat.S_ISFIFO, "is a named pipe (FIFO), not a regular file; expected a scenario file"),
    (stat.S_ISCHR, "is a character device, not a regular file; expected a scenario file"),
    (stat.S_ISBLK, "is a block device, not a regular file; expected a scenario file"),
    (stat.S_ISSOCK, "is a socket, not a regular file; expected a scenario file"),
)


def special_file(mode: int) -> str | None:
    """Why a file of this ``st_mode`` cannot be read as a scenario, or None for a regular one."""
    for test, why in _KINDS:
        if test(mode):
            return why
    return None if stat.S_ISREG(mode) else "is not a regular file; expected a scenario file"


def read_bytes(path: str, limit: int, too_large: Any) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them.

    The file is opened without blocking and checked with ``fstat`` before a byte is
    read, so a FIFO or a device named like a scenario is refused instead of hanging.
    ``too_large(path)`` makes the error for a file over ``limit`` bytes.

    Raises
    ------
    ScenarioError
        For a missing, unreadable, special or too large file.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise ScenarioError("no such file", file=path) from None
    except IsADirectoryError:
        raise ScenarioError("is a folder; expected a scenario file", file=path) from None
    except OSError as exc:
        raise ScenarioError(f"cannot be read: {exc.strerror}", file=path) from None
    try:
        why = special_file(os.fstat(fd).st_mode)
        if why is not None:
            raise ScenarioError(why, file=path)
        if os.fstat(fd).st_size > limit:
            raise too_large(path)
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise ScenarioError(f"cannot be read: {exc.strerror}", file=path) from None
    finally:
        os.close(fd)
    if size > limit:
        raise too_large(path)
    return b"".join(chunks)


def read_file(path: str) -> Document:
    """Read a scenario file: a regular file, size-checked, UTF-8, one YAML document."""
    raw = read_bytes(path, LIMITS["yaml_bytes"].value, _too_large)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            f"is not UTF-8 text (byte {exc.start}); expected a YAML text file", file=path
        ) from None
    return read_document(text, path)
