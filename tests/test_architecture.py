"""The house plan: every module sits in one room, imports go one way, and nothing cycles.

The rooms, lowest first, are those of docs/architecture.md:

0. foundation — errors, units, limits, the YAML reader, the explanation step, the
   application catalogue: no physics, imported by everything;
1. physics — channels of light: fibre, free space, satellites, detectors;
2. protocols — key rates, repeaters, distillation, finite keys: closed forms on numbers;
3. format — the scenario file: fields, checking, field paths, distributions;
4. chain — from a scenario to a verdict: link budgets, routes, keys, pairs, stages,
   levers, budgets, orbits;
5. library — the public API and what is built on whole evaluations: sweeps, sampling,
   network design;
6. presentation — JSON/tables/plots/HTML, the CLI, batch runs, the validation runner.

A module may import its own room and the rooms below, never a room above — also not
inside a function, where a cycle hides until run time. Within a room there is no cycle.
"""

from __future__ import annotations

import ast
import functools
import importlib
import pkgutil
from pathlib import Path

import pytest

import qcalc

PACKAGE = Path(qcalc.__file__).parent

#: Room of each module (a package name places every module in it).
ROOMS: dict[str, int] = {
    "qcalc": 0,
    "qcalc.__main__": 6,
    "qcalc._yaml": 0,
    "qcalc.applications": 0,
    "qcalc.constants": 0,
    "qcalc.errors": 0,
    "qcalc.explain": 0,
    "qcalc.limits": 0,
    "qcalc.outputs": 0,
    "qcalc.parsing": 0,
    "qcalc.paths": 0,
    "qcalc.records": 0,
    "qcalc.units": 0,
    "qcalc.physics": 1,
    "qcalc.protocols": 2,
    "qcalc.fields": 3,
    "qcalc.scenario": 3,
    "qcalc.fieldpaths": 3,
    "qcalc.distributions": 3,
    "qcalc.lossbudget": 4,
    "qcalc.channels": 4,
    "qcalc.linkbudget": 4,
    "qcalc.network": 4,
    "qcalc.delivery": 4,
    "qcalc.demands": 4,
    "qcalc.stage": 4,
    "qcalc.levers": 4,
    "qcalc.budget": 4,
    "qcalc.qasm": 4,
    "qcalc.orbits": 4,
    "qcalc.results": 4,
    "qcalc.api": 5,
    "qcalc.sweeps": 5,
    "qcalc.uncertainty": 5,
    "qcalc.design": 5,
    "qcalc.distributed": 5,
    "qcalc.report": 6,
    "qcalc.plot": 6,
    "qcalc.svg": 6,
    "qcalc.htmlreport": 6,
    "qcalc.uncertainty_report": 6,
    "qcalc.orbits_report": 6,
    "qcalc.batch": 6,
    "qcalc.cli": 6,
    "qcalc.validation": 6,
    "qcalc.reference": 6,
}


@functools.cache
def all_modules() -> list[str]:
    names = ["qcalc"]
    for info in pkgutil.walk_packages([str(PACKAGE)], prefix="qcalc."):
        names.append(info.name)
    return sorted(names)


def room(module: str) -> int:
    probe = module
    while probe not in ROOMS:
        if "." not in probe:
            raise KeyError(module)
        probe = probe.rsplit(".", 1)[0]
    return ROOMS[probe]


@functools.cache
def source_file(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None
    return Path(spec.origin)


@functools.cache
def tree_of(module: str) -> ast.Module:
    """The parsed source of ``module`` (parsed once for every test here)."""
    return ast.parse(source_file(module).read_text(encoding="utf-8"))


@functools.cache
def imports_of(module: str) -> set[str]:
    """Every qcalc module ``module`` imports, at the top or inside a function."""
    path = source_file(module)
    tree = tree_of(module)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    known = set(all_modules())
    found: set[str] = set()
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If)
        and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
        for stmt in node.body
        for inner in ast.walk(stmt)
    }
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue  # annotations only: never imported at run time
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("qcalc"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if not target.startswith("qcalc"):
                continue
            found.add(target)
            found.update(f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in known)
    found.discard(module)
    return {m for m in found if m in known}


def test_every_module_has_a_room() -> None:
    homeless = []
    for module in all_modules():
        try:
            room(module)
        except KeyError:
            homeless.append(module)
    assert not homeless, f"place these in ROOMS (and docs/architecture.md): {homeless}"


def test_no_module_imports_a_room_above_its_own() -> None:
    upward = [
        f"{module} (room {room(module)}) imports {target} (room {room(target)})"
        for module in all_modules()
        for target in sorted(imports_of(module))
        if room(target) > room(module) and module != "qcalc"
    ]
    assert not upward, "\n".join(upward)


def test_no_import_cycle() -> None:
    graph = {m: imports_of(m) - {"qcalc"} for m in all_modules() if m != "qcalc"}
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not cycles, "\n".join(" → ".join(c) for c in cycles)


@pytest.mark.parametrize("module", all_modules())
def test_every_module_imports(module: str) -> None:
    importlib.import_module(module)


def test_no_private_name_is_imported_from_another_module() -> None:
    """A helper two modules share is promoted to a module of its own (or made public),
    not imported by its private name across rooms."""
    crossings = []
    for module in all_modules():
        for node in ast.walk(tree_of(module)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("qcalc"):
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        crossings.append(f"{module}: from {node.module} import {alias.name}")
    assert not crossings, "\n".join(crossings)


#: The most lines of code a function in qcalc/ may have: its signature and docstring,
#: blank lines and comment-only lines are not counted (a nested function counts in its
#: own right and in the function around it).
MAX_FUNCTION_LINES = 60


def code_lines(function: ast.FunctionDef | ast.AsyncFunctionDef, lines: list[str]) -> int:
    """Lines of code in a function's body after its docstring, not blank, not comments."""
    body = function.body
    first = body[0]
    start = first.lineno
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        start = body[1].lineno if len(body) > 1 else (first.end_lineno or first.lineno) + 1
    end = function.end_lineno or function.lineno
    return sum(
        1 for line in lines[start - 1 : end] if line.strip() and not line.strip().startswith("#")
    )


def test_code_lines_counts_code_only() -> None:
    source = 'def f():\n    """Doc.\n\n    More."""\n    # a comment\n\n    x = 1\n    return x\n'
    function = ast.parse(source).body[0]
    assert isinstance(function, ast.FunctionDef)
    assert code_lines(function, source.splitlines()) == 2


def test_no_function_is_longer_than_60_lines_of_code() -> None:
    """A long function is split along its physics or its structure, into named helpers
    with docstrings (docs/architecture.md)."""
    long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                count = code_lines(node, lines)
                if count > MAX_FUNCTION_LINES:
                    where = path.relative_to(PACKAGE.parent)
                    long.append(f"{where}:{node.lineno} {node.name}: {count} lines of code")
    assert not long, f"split these (at most {MAX_FUNCTION_LINES} lines of code):\n" + "\n".join(
        long
    )
