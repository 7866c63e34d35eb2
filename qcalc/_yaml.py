"""Safe, position-aware YAML reading for scenario files.

PyYAML's safe loader is used to compose the node tree; this module then builds plain
Python values itself so that it can
- refuse duplicate keys (PyYAML silently keeps the last one),
- refuse tags outside the YAML core schema (``!!python/object`` and friends),
- bound the work an alias bomb ("billion laughs") can cause,
- bound the size and nesting depth of a document,
- remember the line and column of every value, so errors can point at it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from qcalc.errors import ScenarioError

#: Largest scenario file read. [bytes]
MAX_FILE_BYTES = 10 * 1024 * 1024
#: Deepest nesting of mappings and sequences accepted.
MAX_DEPTH = 64
#: Most values a document may expand to once aliases are followed (alias-bomb guard).
MAX_NODES = 200_000

_CORE_TAGS = {
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}

Path = tuple[str | int, ...]

#: libyaml's C parser when PyYAML was built with it (composing is most of a small
#: scenario's run time), else the pure-Python one; both are the safe loader.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_YAML12_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)$")


@dataclass
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


class _Builder:
    def __init__(self, loader: Any, file: str) -> None:
        self.loader = loader
        self.doc = Document(data=None, file=file)
        self.count = 0

    def fail(self, node: yaml.Node, path: Path, message: str) -> ScenarioError:
        line, column = _mark(node)
        return ScenarioError(
            message, file=self.doc.file, line=line, column=column, field=dotted(path) or None
        )

    def build(self, node: yaml.Node, path: Path, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise self.fail(
                node,
                path,
                f"the document expands to more than {MAX_NODES:,} values (an alias bomb?); "
                "expected a scenario of ordinary size",
            )
        if depth > MAX_DEPTH:
            raise self.fail(node, path, f"nesting deeper than {MAX_DEPTH} levels is not accepted")
        self.doc.marks.setdefault(path, _mark(node))
        if node.tag not in _CORE_TAGS:
            raise self.fail(
                node,
                path,
                f"the tag {shown(node.tag)} is not allowed; scenarios use plain YAML values only",
            )
        if isinstance(node, yaml.MappingNode):
            return self.build_mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        if (
            node.tag == "tag:yaml.org,2002:str"
            and not getattr(node, "style", None)
            and _YAML12_FLOAT.match(str(node.value))
        ):
            # YAML 1.2 reads 1e9 and 1.0e-6 as numbers; PyYAML (YAML 1.1) reads them as text.
            return float(node.value)
        try:
            return self.loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, OverflowError) as exc:
            raise self.fail(
                node, path, f"cannot read the value {shown(node.value)}: {shown(str(exc), 120)}"
            ) from None

    def build_mapping(self, node: yaml.MappingNode, path: Path, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise self.fail(
                    key_node, path, "merge keys (<<) are not supported; use `defaults:` instead"
                )
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail(key_node, path, "a mapping key must be a plain name")
            if key_node.tag not in _CORE_TAGS:
                raise self.fail(
                    key_node,
                    path,
                    f"the tag {shown(key_node.tag)} is not allowed; scenarios use plain YAML "
                    "values only",
                )
            key = str(key_node.value)
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


def read_document(text: str, file: str) -> Document:
    """Compose ``text`` with the YAML safe loader into a :class:`Document`.

    Raises
    ------
    ScenarioError
        For anything that is not a single YAML document of core-schema values.
    """
    if len(text.encode("utf-8", errors="replace")) > MAX_FILE_BYTES:
        raise ScenarioError(
            f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; "
            "expected a scenario of ordinary size",
            file=file,
        )
    if "\x00" in text:
        raise ScenarioError("the file holds NUL bytes; expected a YAML text file", file=file)
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
            raise ScenarioError(f"malformed YAML: {exc}", file=file) from None
        except RecursionError:
            raise ScenarioError(
                f"nesting deeper than {MAX_DEPTH} levels is not accepted", file=file
            ) from None
        if node is None:
            raise ScenarioError("the file is empty; expected a scenario mapping", file=file)
        builder = _Builder(loader, file)
        builder.doc.data = builder.build(node, (), 0)
        return builder.doc
    finally:
        loader.dispose()


def read_file(path: str) -> Document:
    """Read a scenario file: size-checked, UTF-8, one YAML document."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ScenarioError("no such file", file=path) from None
    except IsADirectoryError:
        raise ScenarioError("is a folder; expected a scenario file", file=path) from None
    except OSError as exc:
        raise ScenarioError(f"cannot be read: {exc.strerror}", file=path) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError(
            f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; "
            "expected a scenario of ordinary size",
            file=path,
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            f"is not UTF-8 text (byte {exc.start}); expected a YAML text file", file=path
        ) from None
    return read_document(text, path)
