"""Dotted field paths (``links.alice-bob.length_km``) resolved in a scenario's raw document.

``qcalc sweep --vary``, :meth:`qcalc.scenario.Scenario.with_changes` and the sampling of
uncertain inputs all name a field the same way and place a value (or an array of values)
at that place in the raw document, which the scenario checker then validates like a file.
This module is the one resolver they share.

A path starts with a section — ``links``, ``nodes``, ``hardware``, ``demands``,
``defaults`` or ``criteria`` — then names the entry (names may hold dots) and the field:

- ``links.<link>.<field>`` and ``links.<link>.<mapping>.<field>`` (e.g. ``atmosphere``),
- ``demands.<demand>.<field>`` and ``demands.<demand>.distillation.rounds``,
- ``nodes.<node>.<field>``, ``nodes.<node>.orbit.<field>``, ``nodes.<node>.<kind>.<field>``
  for the detector, source, memory or processor the node uses (made inline for it),
- ``hardware.<group>.<profile>.<field>``, ``defaults.<field>``, ``defaults.<kind>.<field>``,
  ``criteria.<field>``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from qcalc.errors import UsageError, suggest
from qcalc.fields import (
    CRITERIA_FIELDS,
    DEFAULTS_FIELDS,
    DEMAND_FIELDS,
    HARDWARE_KINDS,
    LINK_FIELDS,
    NODE_FIELDS,
    PROFILE_FIELDS,
    Field,
)
from qcalc.records import record

if TYPE_CHECKING:
    from qcalc.scenario import Scenario

#: Field kinds that hold one number (and so may hold an array of numbers).
NUMERIC_KINDS = ("number", "integer", "number_or_optimise")
#: The sections a field path starts with.
SECTIONS = ("links", "nodes", "hardware", "demands", "defaults", "criteria")
EXAMPLE = "links.alice-bob.length_km"


@record(frozen=True)
class Target:
    """Where in the raw document one named field goes: a mapping, its key and its Field."""

    container: dict[str, Any]
    key: str
    spec: Field
    #: The place of the field in the raw document (keys and list indices from the root).
    where: tuple[str | int, ...] = ()


class _Resolver:
    """Resolves one dotted path; ``numeric`` limits it to fields that hold a number."""

    def __init__(self, text: str, data: dict[str, Any], scenario: Scenario, label: str) -> None:
        self.text, self.data, self.scenario = text, data, scenario
        self.label = label
        self.numeric = True

    def error(self, problem: str) -> UsageError:
        return UsageError(f"{self.label} {self.text!r}: {problem}")

    def choose(self, what: str, parts: Sequence[str], names: Sequence[str]) -> tuple[str, int]:
        """The name at the start of ``parts`` (names may hold dots) and how many parts it took."""
        for used in range(len(parts) - 1, 0, -1):
            candidate = ".".join(parts[:used])
            if candidate in names:
                return candidate, used
        given = parts[0] if parts else ""
        known = ", ".join(names) or "none"
        raise self.error(
            f"no {what} named {given!r} (defined: {known}){suggest(given, list(names))}"
        )

    def field(self, what: str, key: str, table: Mapping[str, Field]) -> Field:
        """The Field of ``key`` in ``table``; a number's when resolving numeric fields."""
        numeric = [k for k, f in table.items() if f.kind in NUMERIC_KINDS]
        offered = numeric if self.numeric else list(table)
        if key not in table:
            hint = suggest(key, offered)
            kind = "numeric " if self.numeric else ""
            listing = "" if hint else f" ({kind}{what} fields: {', '.join(offered)})"
            raise self.error(f"{key!r} is not a {what} field{hint}{listing}")
        if self.numeric and table[key].kind not in NUMERIC_KINDS:
            raise self.error(
                f"{what} field {key!r} is not a number; numeric ones: {', '.join(numeric)}"
            )
        return table[key]

    def profile(
        self, where: dict[str, Any], rest: Sequence[str], at: tuple[str | int, ...]
    ) -> Target:
        """``<kind>.<field>`` of the profile a node (or ``defaults``) uses, made inline."""
        kind = rest[0]
        if len(rest) != 2:
            raise self.error(f"expected {kind}.<field>, e.g. {kind}.efficiency")
        spec = self.field(kind, rest[1], PROFILE_FIELDS[kind])
        inherited = where.get(kind, self.data.get("defaults", {}).get(kind))
        if isinstance(inherited, str):
            group = next(g for g, k in HARDWARE_KINDS.items() if k == kind)
            inherited = self.data.get("hardware", {}).get(group, {}).get(inherited, {})
        where[kind] = copy.deepcopy(inherited) if isinstance(inherited, dict) else {}
        return Target(where[kind], rest[1], spec, (*at, kind, rest[1]))

    def node(self, parts: Sequence[str]) -> Target:
        nodes = self.data["nodes"]
        name, used = self.choose("node", parts, list(nodes))
        rest = parts[used:]
        if nodes[name] is None:
            nodes[name] = {}
        body = nodes[name]
        at: tuple[str | int, ...] = ("nodes", name)
        if rest[0] in PROFILE_FIELDS:
            return self.profile(body, rest, at)
        if rest[0] == "orbit":
            if len(rest) != 2:
                raise self.error("expected orbit.<field>, e.g. orbit.altitude_km")
            spec = self.field("orbit", rest[1], NODE_FIELDS["orbit"].sub or {})
            body.setdefault("orbit", {})
            return Target(body["orbit"], rest[1], spec, (*at, "orbit", rest[1]))
        if len(rest) != 1:
            raise self.error(f"node {name!r} has no field {'.'.join(rest)!r}")
        node_fields = {k: f for k, f in NODE_FIELDS.items() if k not in PROFILE_FIELDS}
        return Target(body, rest[0], self.field("node", rest[0], node_fields), (*at, rest[0]))

    def listed(
        self, section: str, parts: Sequence[str], names: Sequence[str], table: Mapping[str, Field]
    ) -> Target:
        """``<name>.<field>`` of a link or demand (list entries found by their name)."""
        what = section.removesuffix("s")
        name, used = self.choose(what, parts, names)
        rest = parts[used:]
        index = list(names).index(name)
        body = self.data[section][index]
        at: tuple[str | int, ...] = (section, index)
        if len(rest) == 2 and table.get(rest[0], Field("", "")).kind == "mapping":
            spec = self.field(rest[0], rest[1], table[rest[0]].sub or {})
            if not isinstance(body.get(rest[0]), dict):
                raise self.error(f"{what} {name!r} gives no {rest[0]} block to change")
            return Target(body[rest[0]], rest[1], spec, (*at, rest[0], rest[1]))
        if len(rest) != 1:
            raise self.error(f"{what} {name!r} has no field {'.'.join(rest)!r}")
        return Target(body, rest[0], self.field(what, rest[0], table), (*at, rest[0]))

    def hardware(self, parts: Sequence[str]) -> Target:
        hardware = self.data.get("hardware", {})
        group = parts[0] if parts else ""
        if group not in HARDWARE_KINDS:
            raise self.error(
                f"no hardware group {group!r} (groups: {', '.join(HARDWARE_KINDS)})"
                f"{suggest(group, list(HARDWARE_KINDS))}"
            )
        profiles = hardware.get(group, {})
        kind = HARDWARE_KINDS[group]
        name, used = self.choose(f"{kind} profile", parts[1:], list(profiles))
        rest = parts[1 + used :]
        if len(rest) != 1:
            raise self.error(f"expected hardware.{group}.{name}.<field>")
        spec = self.field(kind, rest[0], PROFILE_FIELDS[kind])
        return Target(profiles[name], rest[0], spec, ("hardware", group, name, rest[0]))

    def resolve(self) -> Target:
        section, _, rest_text = self.text.partition(".")
        parts = rest_text.split(".") if rest_text else []
        if section not in SECTIONS:
            raise self.error(
                f"a field path starts with one of {', '.join(SECTIONS)}{suggest(section, SECTIONS)}"
            )
        if not parts or not all(parts):
            raise self.error(f"expected {section}.<…>.<field>, e.g. {EXAMPLE}")
        if section == "links":
            names = [link.name for link in self.scenario.links]
            return self.listed("links", parts, names, LINK_FIELDS)
        if section == "demands":
            names = [d.name for d in self.scenario.demands]
            return self.listed("demands", parts, names, DEMAND_FIELDS)
        if section == "nodes":
            return self.node(parts)
        if section == "hardware":
            return self.hardware(parts)
        where = self.data.setdefault(section, {})
        if section == "defaults" and parts[0] in PROFILE_FIELDS:
            return self.profile(where, parts, (section,))
        if len(parts) != 1:
            raise self.error(f"expected {section}.<field>")
        table = CRITERIA_FIELDS if section == "criteria" else DEFAULTS_FIELDS
        return Target(where, parts[0], self.field(section, parts[0], table), (section, parts[0]))


def resolve(
    text: str,
    data: dict[str, Any],
    scenario: Scenario,
    *,
    label: str = "field",
    numeric: bool = True,
) -> Target:
    """Resolve the dotted path ``text`` to its place in the raw document ``data``.

    ``scenario`` is the checked scenario of that document (for the names of its links and
    demands, which the file may leave to their defaults). Profiles a node uses by name are
    copied inline into the node, so a change to one node's memory leaves the others' alone.
    ``label`` starts the error message (``--vary`` for a sweep); ``numeric`` limits the
    path to fields that hold a number.

    Raises
    ------
    UsageError
        For a path that names no field, with a "did you mean" where one is close.
    """
    resolver = _Resolver(text, data, scenario, label)
    resolver.numeric = numeric
    return resolver.resolve()
