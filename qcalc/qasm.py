"""Count the two-qubit gates of an OpenQASM 2.0 circuit that cross a QPU partition.

A small, strict parser for the OpenQASM 2.0 language [1]_ that keeps only what a network
budget needs: which qubits every two-qubit interaction touches. It reads ``qreg``/``creg``
(several registers, flattened to global indices in declaration order), the gates of
``qelib1.inc``, register-wide broadcast (``cx a, b;``), ``measure``, ``reset``,
``barrier``, classically controlled ``if (c == n)`` operations (counted as if they run:
the budget must cover the worst case) and user ``gate`` definitions, which it expands.
A user definition of a gate that ``qelib1.inc`` also has (exporters write out ``rzz`` or
``cu`` this way) replaces the built-in one: the file is counted as written.

Three-qubit gates are decomposed into CNOTs: ``ccx`` by the standard six-CNOT circuit of
Nielsen & Chuang [2]_ (six is the minimum, Shende & Markov [3]_), ``cswap`` as
``cx c,b; ccx a,b,c; cx c,b`` (eight CNOTs). ``opaque`` gates on two or more qubits cannot
be decomposed and are reported as unsupported.

Every error names the place: ``circuit.qasm:12:5: unknown gate 'foo'; did you mean …``.

The work is bounded and stated up front (:mod:`qcalc.limits`): the file size, the qubits
and registers declared, the nesting of parameter expressions (checked with an explicit
depth, never Python's recursion limit), the gate applications after register broadcast,
and the two-qubit gates a circuit expands to. Gate definitions are expanded by counting:
a definition keeps how many times each primitive acts on each pair of its arguments, so
forty levels of gates that each call the previous one twice cost forty small tables, not
2⁴⁰ list entries, and the circuit keeps one count per (gate, qubit pair), not one object
per gate. Register lookups and labels are O(1) and O(log R).

References
----------
.. [1] A. W. Cross, L. S. Bishop, J. A. Smolin, J. M. Gambetta, "Open Quantum Assembly
   Language", arXiv:1707.03429 (2017).
.. [2] M. A. Nielsen, I. L. Chuang, Quantum Computation and Quantum Information
   (Cambridge University Press, 2000), Fig. 4.9.
.. [3] V. V. Shende, I. L. Markov, "On the CNOT-cost of TOFFOLI gates", Quantum Inf.
   Comput. 9, 461 (2009).
"""

from __future__ import annotations

import bisect
import difflib
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import field
from typing import NamedTuple

from qcalc.errors import QcalcError, ScenarioError
from qcalc.limits import LIMITS
from qcalc.records import record

# --------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------


class QasmError(QcalcError, ValueError):
    """An OpenQASM file that cannot be read; ``str()`` is ``file:line:column: message``."""

    def __init__(self, message: str, *, file: str, line: int, column: int) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


# --------------------------------------------------------------------------------------
# Gate library
# --------------------------------------------------------------------------------------

# Every two-qubit primitive below except ``swap`` is a controlled-U up to single-qubit
# gates (rxx/ryy/rzz = exp(-iθ P⊗P/2) are controlled-phase gates up to local rotations), so
# it costs one Bell pair and two classical bits when nonlocal (Eisert et al., PRA 62, 052317
# (2000)).

#: The nonlocal SWAP: two teleportations, two Bell pairs.
SWAP_GATES: frozenset[str] = frozenset({"swap"})

#: Deepest nesting of parentheses and functions in a parameter expression.
MAX_EXPRESSION_DEPTH = LIMITS["qasm_depth"].default
#: Most digits of a register size or qubit index (a larger one is over every limit).
_MAX_INDEX_DIGITS = 15


@record(frozen=True)
class _GateDef:
    """A gate, expanded by counting.

    ``pairs`` maps (primitive kind, argument i, argument j) to how many times that
    primitive acts on those two arguments of the gate; ``single_qubit_gates`` counts the
    one-qubit gates of the expansion. Both may be very large numbers (Python integers),
    never materialised lists.
    """

    name: str
    n_params: int
    n_qubits: int
    pairs: Mapping[tuple[str, int, int], int]
    single_qubit_gates: int
    opaque: bool = False

    @property
    def two_qubit_gates(self) -> int:
        """Two-qubit primitives in one application. [gates]"""
        return sum(self.pairs.values())


def _primitive(name: str, n_params: int, n_qubits: int) -> _GateDef:
    pairs = {(name, 0, 1): 1} if n_qubits == 2 else {}
    return _GateDef(name, n_params, n_qubits, pairs, 1 if n_qubits == 1 else 0)


def _composite(
    name: str,
    n_qubits: int,
    body: Sequence[tuple[str, tuple[int, ...]]],
    gates: Mapping[str, _GateDef],
    n_params: int = 0,
) -> _GateDef:
    """The counted expansion of a gate whose body applies ``gates`` to its arguments."""
    pairs: Counter[tuple[str, int, int]] = Counter()
    singles = 0
    for gate_name, args in body:
        inner = gates[gate_name]
        for (kind, i, j), times in inner.pairs.items():
            pairs[(kind, args[i], args[j])] += times
        singles += inner.single_qubit_gates
    return _GateDef(name, n_params, n_qubits, dict(pairs), singles)


def _builtin_gates() -> dict[str, _GateDef]:
    gates: dict[str, _GateDef] = {}
    for name, n_params in {
        "U": 3, "u": 3, "u3": 3, "u2": 2, "u1": 1, "u0": 1, "p": 1, "id": 0,
        "x": 0, "y": 0, "z": 0, "h": 0, "s": 0, "sdg": 0, "t": 0, "tdg": 0,
        "sx": 0, "sxdg": 0, "rx": 1, "ry": 1, "rz": 1,
    }.items():  # fmt: skip
        gates[name] = _primitive(name, n_params, 1)
    for name, n_params in {
        "CX": 0, "cx": 0, "cy": 0, "cz": 0, "ch": 0, "csx": 0, "swap": 0,
        "crx": 1, "cry": 1, "crz": 1, "cu1": 1, "cp": 1, "cu3": 3, "cu": 4,
        "rxx": 1, "ryy": 1, "rzz": 1,
    }.items():  # fmt: skip
        gates[name] = _primitive(name, n_params, 2)
    # Toffoli, qubits (a, b, c) = (0, 1, 2): Nielsen & Chuang Fig. 4.9, six CNOTs.
    ccx_body: list[tuple[str, tuple[int, ...]]] = [
        ("h", (2,)), ("cx", (1, 2)), ("tdg", (2,)), ("cx", (0, 2)), ("t", (2,)),
        ("cx", (1, 2)), ("tdg", (2,)), ("cx", (0, 2)), ("t", (1,)), ("t", (2,)),
        ("h", (2,)), ("cx", (0, 1)), ("t", (0,)), ("tdg", (1,)), ("cx", (0, 1)),
    ]  # fmt: skip
    gates["ccx"] = _composite("ccx", 3, ccx_body, gates)
    # Fredkin: controlled-SWAP = CNOT(c→b) · Toffoli(a, b → c) · CNOT(c→b), eight CNOTs.
    gates["cswap"] = _composite(
        "cswap", 3, [("cx", (2, 1)), ("ccx", (0, 1, 2)), ("cx", (2, 1))], gates
    )
    return gates


_BUILTIN_GATES = _builtin_gates()
_FUNCTIONS = frozenset({"sin", "cos", "tan", "exp", "ln", "sqrt"})

# --------------------------------------------------------------------------------------
# Lexer
# --------------------------------------------------------------------------------------


class _Token(NamedTuple):
    kind: str  # "id", "real", "int", "string", "op", "eof"
    text: str
    pos: int  # offset in the text; line and column are found only for a message


# One match: white space and comments, then exactly one token (or one bad character, so
# that ``finditer`` never skips text). Scanning in C keeps a 10 MB file to seconds.
_TOKEN_RE = re.compile(
    r"""
    (?:[ \t\r\f\v\n]+|//[^\n]*)*
    (?:
      (?P<real>(?:\d+\.\d*|\.\d+)(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+)
    | (?P<int>\d+)
    | (?P<id>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<string>"[^"\n]*")
    | (?P<op>->|==|[;,()\[\]{}+\-*/^])
    | (?P<bad>[^ \t\r\f\v\n])
    )
    """,
    re.VERBOSE,
)


def _position(text: str, pos: int) -> tuple[int, int]:
    """1-based (line, column) of offset ``pos``."""
    return text.count("\n", 0, pos) + 1, pos - text.rfind("\n", 0, pos)


#: The most common statement, a gate on indexed qubits without parameters
#: (``cx q[3], r[0];``), read in one match; anything else goes through the tokens.
_SIMPLE_OPERATION = re.compile(
    r"(?:[ \t\r\f\v\n]+|//[^\n]*)*(?P<gate>[A-Za-z_][A-Za-z0-9_]*)[ \t]+(?P<args>[A-Za-z_][A-Za-z0-9_]*[ \t]*\[[ \t]*\d{1,15}[ \t]*\]"
    r"(?:[ \t]*,[ \t]*[A-Za-z_][A-Za-z0-9_]*[ \t]*\[[ \t]*\d{1,15}[ \t]*\])*)[ \t]*;"
)
_SIMPLE_ARGUMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)[ \t]*\[[ \t]*(\d+)")
#: Words that start a statement other than a gate application.
_KEYWORDS = frozenset(
    {"OPENQASM", "include", "qreg", "creg", "gate", "opaque", "if", "measure", "reset",
     "barrier"}
)  # fmt: skip


class _Lexer:
    """Tokens one at a time (a 10 MB file never becomes a list of millions of tokens)."""

    def __init__(self, text: str, filename: str) -> None:
        self.text = text
        self.filename = filename
        self.matches = _TOKEN_RE.finditer(text)

    def seek(self, pos: int) -> None:
        """Continue after offset ``pos`` (past a statement read in one match)."""
        self.matches = _TOKEN_RE.finditer(self.text, pos)

    def next(self) -> _Token:
        match = next(self.matches, None)
        if match is None:
            return _Token("eof", "", len(self.text))
        kind = match.lastgroup or ""
        pos = match.start(kind)
        if kind == "bad":
            char = match.group(kind)
            what = "unterminated string" if char == '"' else f"unexpected character {char!r}"
            line, column = _position(self.text, pos)
            raise QasmError(what, file=self.filename, line=line, column=column)
        return _Token(kind, match.group(kind), pos)


# --------------------------------------------------------------------------------------
# Parsed circuit
# --------------------------------------------------------------------------------------


@record(frozen=True)
class Register:
    """A quantum register: global qubit indices ``offset … offset + size - 1``."""

    name: str
    offset: int
    size: int


@record(frozen=True)
class QasmCircuit:
    """What :func:`parse_qasm` keeps of a circuit.

    Attributes
    ----------
    filename : str
        Name used in messages.
    registers : tuple of Register
        Quantum registers in declaration order.
    interactions : dict
        Two-qubit interactions after broadcast and expansion, counted: (primitive kind,
        gate as written, global qubit a, global qubit b) → how many times. [gates]
    single_qubit_gates : int
        Single-qubit gate applications (after broadcast and decomposition). [gates]
    measurements : int
        Single-qubit measurements. [count]
    """

    filename: str
    registers: tuple[Register, ...]
    interactions: Mapping[tuple[str, str, int, int], int]
    single_qubit_gates: int
    measurements: int

    @property
    def num_qubits(self) -> int:
        """Total number of qubits over all registers."""
        last = self.registers[-1] if self.registers else None
        return 0 if last is None else last.offset + last.size

    @property
    def two_qubit_gates(self) -> int:
        """Two-qubit gate applications after broadcast and expansion. [gates]"""
        return sum(self.interactions.values())

    def qubit_label(self, index: int) -> str:
        """``q[3]`` for a global index (binary search over the registers)."""
        return _label(self.registers, index)


def _label(registers: Sequence[Register], index: int) -> str:
    offsets = [r.offset for r in registers]
    at = bisect.bisect_right(offsets, index) - 1
    if at >= 0 and index < registers[at].offset + registers[at].size:
        reg = registers[at]
        return f"{reg.name}[{index - reg.offset}]"
    total = registers[-1].offset + registers[-1].size if registers else 0
    raise ValueError(f"qubit index {index} out of range; the circuit has {total}")


# --------------------------------------------------------------------------------------
# Parser
# --------------------------------------------------------------------------------------


@record
class _Arg:
    register: str
    index: int | None
    token: _Token


@record
class _State:
    qregs: dict[str, Register] = field(default_factory=dict)
    qreg_list: list[Register] = field(default_factory=list)
    qubits: int = 0
    cregs: dict[str, int] = field(default_factory=dict)
    gates: dict[str, _GateDef] = field(default_factory=lambda: dict(_BUILTIN_GATES))
    user_gates: set[str] = field(default_factory=set)
    # (kind, gate as written) → small id; records keyed by (id, qubit a, qubit b).
    labels: dict[tuple[str, str], int] = field(default_factory=dict)
    records: Counter[tuple[int, int, int]] = field(default_factory=Counter)
    labelled: dict[str, tuple[_GateDef, list[tuple[int, int, int, int]]]] = field(
        default_factory=dict
    )
    two_qubit: int = 0
    singles: int = 0
    measurements: int = 0
    work: int = 0


class _Parser:
    def __init__(self, text: str, filename: str) -> None:
        self.filename = filename
        self.lexer = _Lexer(text, filename)
        self.current = self.lexer.next()
        self.state = _State()
        self.max_qubits = LIMITS["qasm_qubits"].value
        self.max_registers = LIMITS["qasm_registers"].value
        self.max_work = LIMITS["qasm_applications"].value
        self.max_gates = LIMITS["qasm_gate_count"].value

    # -- token helpers -------------------------------------------------------------------

    def error(self, message: str, token: _Token | None = None) -> QasmError:
        tok = token or self.peek()
        pos = tok.pos
        if tok.kind == "eof":  # after the last character, where the file ends
            pos = len(self.lexer.text)
        line, column = _position(self.lexer.text, pos)
        return QasmError(message, file=self.filename, line=line, column=column)

    def peek(self) -> _Token:
        return self.current

    def advance(self) -> _Token:
        tok = self.current
        if tok.kind != "eof":
            self.current = self.lexer.next()
        return tok

    def at(self, text: str) -> bool:
        tok = self.current
        return tok.kind in ("op", "id") and tok.text == text

    def expect(self, text: str, context: str) -> _Token:
        tok = self.peek()
        if not self.at(text):
            got = "end of file" if tok.kind == "eof" else repr(tok.text)
            raise self.error(f"expected '{text}' {context}, got {got}")
        return self.advance()

    def expect_kind(self, kind: str, what: str) -> _Token:
        tok = self.peek()
        if tok.kind != kind:
            got = "end of file" if tok.kind == "eof" else repr(tok.text)
            raise self.error(f"expected {what}, got {got}")
        return self.advance()

    def small_int(self, tok: _Token, what: str, limit: int, key: str) -> int:
        """An integer token no larger than ``limit`` (read only when it is short enough)."""
        if len(tok.text.lstrip("0")) > _MAX_INDEX_DIGITS or int(tok.text) > limit:
            shown = tok.text if len(tok.text) <= 30 else f"a {len(tok.text):,}-digit number"
            how = f"; set {LIMITS[key].env} to raise it" if LIMITS[key].raisable else ""
            raise self.error(f"{what} is {shown}, more than the limit of {limit:,}{how}", tok)
        return int(tok.text)

    # -- program -------------------------------------------------------------------------

    def parse(self) -> QasmCircuit:
        if self.at("OPENQASM"):
            self.advance()
            version = self.peek()
            if version.kind not in ("real", "int"):
                raise self.error("expected a version number after 'OPENQASM'")
            self.advance()
            if not version.text.startswith("2"):
                raise self.error(
                    f"OpenQASM {version.text} is not supported; expected OPENQASM 2.0", version
                )
            self.expect(";", "after the OPENQASM version")
        while self.peek().kind != "eof":
            self.statement()
        s = self.state
        names = {number: label for label, number in s.labels.items()}
        interactions = {(*names[label], a, b): times for (label, a, b), times in s.records.items()}
        return QasmCircuit(
            filename=self.filename,
            registers=tuple(s.qreg_list),
            interactions=interactions,
            single_qubit_gates=s.singles,
            measurements=s.measurements,
        )

    def statement(self) -> None:
        tok = self.peek()
        if tok.kind != "id":
            raise self.error(f"expected a statement, got {tok.text!r}")
        keyword = tok.text
        if keyword not in _KEYWORDS and self.simple_operations(tok):
            return
        if keyword == "OPENQASM":
            raise self.error("'OPENQASM' must be the first statement")
        handler = {
            "include": self.include,
            "qreg": self.register,
            "creg": self.register,
            "gate": self.gate_definition,
            "opaque": self.gate_definition,
            "if": self.conditional,
        }.get(keyword)
        if handler is not None:
            handler()
        else:
            self.quantum_operation()

    def include(self) -> None:
        self.advance()
        name = self.expect_kind("string", "a file name in double quotes after 'include'")
        if name.text.strip('"') != "qelib1.inc":
            raise self.error(
                f'cannot include {name.text}; only "qelib1.inc" is built in '
                "(paste the gate definitions into the file instead)",
                name,
            )
        self.expect(";", "after include")

    def register(self) -> None:
        keyword = self.advance()
        name = self.expect_kind("id", f"a register name after '{keyword.text}'")
        self.expect("[", "after the register name")
        size_tok = self.expect_kind("int", "a register size")
        s = self.state
        quantum = keyword.text == "qreg"
        size = self.small_int(
            size_tok, f"the size of register {name.text!r}", self.max_qubits, "qasm_qubits"
        )
        if quantum and s.qubits + size > self.max_qubits:
            entry = LIMITS["qasm_qubits"]
            raise self.error(
                f"register {name.text!r} of {size:,} qubits brings the circuit to "
                f"{s.qubits + size:,} qubits, more than the limit of {self.max_qubits:,}; "
                f"set {entry.env} to raise it",
                size_tok,
            )
        if size < 1:
            raise self.error(f"register {name.text!r} has size {size}; expected ≥ 1", size_tok)
        self.expect("]", "after the register size")
        self.expect(";", "after the register declaration")
        if name.text in s.qregs or name.text in s.cregs:
            raise self.error(f"register {name.text!r} is already declared", name)
        if len(s.qregs) + len(s.cregs) >= self.max_registers:
            entry = LIMITS["qasm_registers"]
            raise self.error(
                f"register {name.text!r} is one more than the limit of "
                f"{self.max_registers:,} registers; set {entry.env} to raise it",
                name,
            )
        if quantum:
            reg = Register(name.text, s.qubits, size)
            s.qregs[name.text] = reg
            s.qreg_list.append(reg)
            s.qubits += size
        else:
            s.cregs[name.text] = size

    # -- gate definitions ----------------------------------------------------------------

    def identifier_list(self, what: str) -> list[_Token]:
        names = [self.expect_kind("id", what)]
        while self.at(","):
            self.advance()
            names.append(self.expect_kind("id", what))
        return names

    def gate_definition(self) -> None:
        keyword = self.advance()
        name = self.expect_kind("id", f"a gate name after '{keyword.text}'")
        s = self.state
        if name.text in s.user_gates:
            raise self.error(f"gate {name.text!r} is already defined", name)
        params: list[str] = []
        if self.at("("):
            self.advance()
            if not self.at(")"):
                params = [t.text for t in self.identifier_list("a parameter name")]
            self.expect(")", "after the gate parameters")
        qubit_tokens = self.identifier_list("a qubit argument name")
        qubits = [t.text for t in qubit_tokens]
        index = {}
        for i, tok in enumerate(qubit_tokens):
            if tok.text in index:
                raise self.error(f"qubit argument {tok.text!r} appears twice", tok)
            index[tok.text] = i
        if keyword.text == "opaque":
            self.expect(";", "after an opaque gate declaration")
            singles = 1 if len(qubits) == 1 else 0
            s.gates[name.text] = _GateDef(
                name.text, len(params), len(qubits), {}, singles, opaque=True
            )
        else:
            self.expect("{", "to open the gate body")
            body = self.gate_body(set(params), qubits, index)
            gate = _composite(name.text, len(qubits), body, s.gates, len(params))
            total = gate.two_qubit_gates + gate.single_qubit_gates
            if total > self.max_gates:
                raise self.error(
                    f"gate {name.text!r} expands to {total:.3g} gates, more than the limit "
                    f"of {self.max_gates:.3g}; set {LIMITS['qasm_gate_count'].env} to raise it",
                    name,
                )
            s.gates[name.text] = gate
        s.user_gates.add(name.text)

    def count_work(self, steps: int, tok: _Token) -> None:
        """Count table updates (expansion and application); refuse past the limit."""
        self.state.work += steps
        if self.state.work > self.max_work:
            entry = LIMITS["qasm_applications"]
            raise self.error(
                f"the circuit needs more than {self.max_work:,} gate applications (after "
                f"broadcast over registers and expansion of gate definitions) by here; set "
                f"{entry.env} to raise the limit",
                tok,
            )

    def gate_body(
        self, params: set[str], qubits: list[str], index: dict[str, int]
    ) -> list[tuple[str, tuple[int, ...]]]:
        body: list[tuple[str, tuple[int, ...]]] = []
        while not self.at("}"):
            if self.peek().kind == "eof":
                raise self.error("gate body is not closed with '}'")
            tok = self.expect_kind("id", "a gate in the gate body")
            if tok.text == "barrier":
                self.identifier_list("a qubit argument")
                self.expect(";", "after barrier")
                continue
            gate = self.lookup_gate(tok)
            n_params = self.parameters(params)
            self.check_arity(gate, tok, n_params)
            arg_tokens = self.identifier_list("a qubit argument")
            args: list[int] = []
            for arg in arg_tokens:
                if arg.text not in index:
                    raise self.error(
                        f"{arg.text!r} is not a qubit argument of this gate "
                        f"(arguments: {', '.join(qubits)})",
                        arg,
                    )
                if index[arg.text] in args:
                    raise self.error(f"gate {tok.text!r} uses qubit {arg.text!r} twice", arg)
                args.append(index[arg.text])
            self.check_qubit_count(gate, tok, len(args))
            self.expect(";", f"after '{tok.text}'")
            self.count_work(max(1, len(gate.pairs)), tok)
            body.append((gate.name, tuple(args)))
        self.advance()
        return body

    def lookup_gate(self, tok: _Token) -> _GateDef:
        gate = self.state.gates.get(tok.text)
        if gate is None:
            close = difflib.get_close_matches(tok.text, list(self.state.gates), n=3)
            hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            raise self.error(
                f"unknown gate {tok.text!r}{hint} (define it with a 'gate' block)", tok
            )
        if gate.opaque and gate.n_qubits >= 2:
            raise self.error(
                f"opaque gate {tok.text!r} acts on {gate.n_qubits} qubits and has no "
                "definition, so its two-qubit content is unknown; define it with a 'gate' "
                "block instead",
                tok,
            )
        return gate

    def check_arity(self, gate: _GateDef, tok: _Token, n_params: int) -> None:
        if n_params != gate.n_params:
            raise self.error(
                f"gate {tok.text!r} takes {gate.n_params} parameter(s), got {n_params}", tok
            )

    def check_qubit_count(self, gate: _GateDef, tok: _Token, n_qubits: int) -> None:
        if n_qubits != gate.n_qubits:
            raise self.error(
                f"gate {tok.text!r} acts on {gate.n_qubits} qubit(s), got {n_qubits}", tok
            )

    # -- parameter expressions (checked, not evaluated) ----------------------------------
    # exp := term (('+'|'-') term)*;  term := factor (('*'|'/') factor)*;
    # factor := ('+'|'-')* primary ('^' ('+'|'-')* primary)*  (iterative: a chain of
    # 10,000 powers or signs costs no stack); primary := number | pi | name |
    # fn '(' exp ')' | '(' exp ')', the only recursion, bounded by MAX_EXPRESSION_DEPTH.

    def parameters(self, names: set[str]) -> int:
        if not self.at("("):
            return 0
        self.advance()
        if self.at(")"):
            self.advance()
            return 0
        count = 1
        self.expression(names, 0)
        while self.at(","):
            self.advance()
            self.expression(names, 0)
            count += 1
        self.expect(")", "after the gate parameters")
        return count

    def expression(self, names: set[str], depth: int) -> None:
        self.term(names, depth)
        while self.at("+") or self.at("-"):
            self.advance()
            self.term(names, depth)

    def term(self, names: set[str], depth: int) -> None:
        self.factor(names, depth)
        while self.at("*") or self.at("/"):
            self.advance()
            self.factor(names, depth)

    def factor(self, names: set[str], depth: int) -> None:
        while self.at("-") or self.at("+"):
            self.advance()
        self.primary(names, depth)
        while self.at("^"):
            self.advance()
            while self.at("-") or self.at("+"):
                self.advance()
            self.primary(names, depth)

    def primary(self, names: set[str], depth: int) -> None:
        tok = self.advance()
        if tok.kind in ("real", "int") or (
            tok.kind == "id" and (tok.text in names or tok.text == "pi")
        ):
            return
        nested = (tok.kind == "id" and tok.text in _FUNCTIONS) or (
            tok.kind == "op" and tok.text == "("
        )
        if nested and depth >= MAX_EXPRESSION_DEPTH:
            raise self.error(
                f"the parameter expression nests parentheses and functions deeper than "
                f"{MAX_EXPRESSION_DEPTH} levels; expected an ordinary expression",
                tok,
            )
        if tok.kind == "id" and tok.text in _FUNCTIONS:
            self.expect("(", f"after '{tok.text}'")
            self.expression(names, depth + 1)
            self.expect(")", f"to close '{tok.text}('")
            return
        if tok.kind == "op" and tok.text == "(":
            self.expression(names, depth + 1)
            self.expect(")", "to close '('")
            return
        if tok.kind == "id":
            raise self.error(f"unknown identifier {tok.text!r} in a parameter expression", tok)
        got = "end of file" if tok.kind == "eof" else repr(tok.text)
        raise self.error(f"expected a number, 'pi' or a parameter, got {got}", tok)

    # -- quantum operations --------------------------------------------------------------

    def conditional(self) -> None:
        self.advance()
        self.expect("(", "after 'if'")
        creg = self.expect_kind("id", "a classical register in the condition")
        if creg.text not in self.state.cregs:
            raise self.error(f"{creg.text!r} is not a classical register", creg)
        self.expect("==", "in the condition")
        self.expect_kind("int", "an integer in the condition")
        self.expect(")", "after the condition")
        tok = self.peek()
        if tok.kind != "id" or tok.text in ("qreg", "creg", "gate", "opaque", "include", "if"):
            raise self.error("expected a gate, measure or reset after 'if (…)'")
        self.quantum_operation()

    def argument(self) -> _Arg:
        name = self.expect_kind("id", "a register or qubit such as q[0]")
        index: int | None = None
        if self.at("["):
            self.advance()
            tok = self.expect_kind("int", "a qubit index")
            index = self.small_int(tok, "the index", self.max_qubits, "qasm_qubits")
            self.expect("]", "after the index")
        return _Arg(name.text, index, name)

    def argument_list(self) -> list[_Arg]:
        args = [self.argument()]
        while self.at(","):
            self.advance()
            args.append(self.argument())
        return args

    def resolve(self, arg: _Arg, classical: bool = False) -> range:
        """Global indices of a quantum argument (or bit indices of a classical one)."""
        s = self.state
        kind = "classical" if classical else "quantum"
        if classical:
            size = s.cregs.get(arg.register)
            offset = 0
        else:
            reg = s.qregs.get(arg.register)
            size, offset = (reg.size, reg.offset) if reg else (None, 0)
        if size is None:
            known = list(s.cregs) if classical else list(s.qregs)
            close = difflib.get_close_matches(arg.register, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise self.error(f"{arg.register!r} is not a {kind} register{hint}", arg.token)
        if arg.index is None:
            return range(offset, offset + size)
        if arg.index >= size:
            raise self.error(
                f"index {arg.index} is out of range for {arg.register!r} of size {size}",
                arg.token,
            )
        return range(offset + arg.index, offset + arg.index + 1)

    def broadcast(self, args: list[_Arg], resolved: list[range]) -> int:
        """How many applications ``cx a, b;`` makes (one per index of whole registers)."""
        sizes = {len(r) for a, r in zip(args, resolved, strict=True) if a.index is None}
        if len(sizes) > 1:
            shown = ", ".join(
                f"{a.register}[{len(r)}]"
                for a, r in zip(args, resolved, strict=True)
                if a.index is None
            )
            raise self.error(
                f"registers of different sizes in one operation ({shown}); expected equal sizes",
                args[0].token,
            )
        return sizes.pop() if sizes else 1

    def quantum_operation(self) -> None:
        tok = self.advance()
        if tok.text == "measure":
            self.measure(tok)
            return
        if tok.text in ("reset", "barrier"):
            args = self.argument_list() if tok.text == "barrier" else [self.argument()]
            for arg in args:
                self.resolve(arg)
            self.expect(";", f"after '{tok.text}'")
            return
        gate = self.lookup_gate(tok)
        self.check_arity(gate, tok, self.parameters(set()))
        args = self.argument_list()
        if not self.at(";"):
            got = self.peek()
            shown = "end of file" if got.kind == "eof" else repr(got.text)
            raise self.error(
                f"expected ',' or ';' after the arguments of '{tok.text}', got {shown}"
            )
        self.check_qubit_count(gate, tok, len(args))
        resolved = [self.resolve(a) for a in args]
        width = self.broadcast(args, resolved)
        self.advance()
        self.count_work(width * max(1, len(gate.pairs)), tok)
        whole = [a.index is None for a in args]
        for i in range(width):
            qubits = tuple(r[i] if w else r[0] for r, w in zip(resolved, whole, strict=True))
            if len(set(qubits)) != len(qubits):
                dup = next(q for q in qubits if qubits.count(q) > 1)
                raise self.error(f"gate {tok.text!r} uses qubit {self.label(dup)} twice", tok)
            self.apply(gate, tok, qubits)

    def simple_operations(self, tok: _Token) -> bool:
        """Apply ``gate q[i], r[j];`` statements read one match each, from ``tok`` on, until
        a statement of another form; False when the first is not of this form (nothing
        read). Gates the token path must check (parameters, opaque, unknown) end the run.
        """
        text = self.lexer.text
        gates, qregs = self.state.gates, self.state.qregs
        pos, done = tok.pos, 0
        while True:
            match = _SIMPLE_OPERATION.match(text, pos)
            if match is None:
                break
            name = match.group("gate")
            gate = gates.get(name)
            if gate is None or gate.opaque or gate.n_params or name in _KEYWORDS:
                break
            here = _Token("id", name, match.start("gate"))
            qubits: list[int] = []
            for m in _SIMPLE_ARGUMENT.finditer(text, match.start("args"), match.end("args")):
                register, index = m.group(1), int(m.group(2))
                reg = qregs.get(register)
                if reg is None or index >= reg.size:  # the token path's message
                    self.resolve(_Arg(register, index, _Token("id", register, m.start())))
                qubits.append(reg.offset + index)  # type: ignore[union-attr]
            self.check_qubit_count(gate, here, len(qubits))
            if len(set(qubits)) != len(qubits):
                dup = next(q for q in qubits if qubits.count(q) > 1)
                raise self.error(f"gate {name!r} uses qubit {self.label(dup)} twice", here)
            self.count_work(max(1, len(gate.pairs)), here)
            self.apply(gate, here, tuple(qubits))
            pos, done = match.end(), done + 1
        if done:
            self.lexer.seek(pos)
            self.current = self.lexer.next()
        return done > 0

    def measure(self, tok: _Token) -> None:
        source = self.argument()
        self.expect("->", "in measure (measure q[0] -> c[0];)")
        target = self.argument()
        self.expect(";", "after measure")
        qubits, bits = self.resolve(source), self.resolve(target, classical=True)
        if len(qubits) != len(bits):
            raise self.error(
                f"measure maps {len(qubits)} qubit(s) to {len(bits)} bit(s); expected equal sizes",
                tok,
            )
        self.state.measurements += len(qubits)

    def label(self, index: int) -> str:
        return _label(self.state.qreg_list, index)

    def labelled(self, gate: _GateDef) -> list[tuple[int, int, int, int]]:
        """The gate's pairs as (label id, argument i, argument j, times), made once a gate."""
        s = self.state
        found = s.labelled.get(gate.name)
        if found is None or found[0] is not gate:
            rows = [
                (s.labels.setdefault((kind, gate.name), len(s.labels)), i, j, times)
                for (kind, i, j), times in gate.pairs.items()
            ]
            found = s.labelled[gate.name] = (gate, rows)
        return found[1]

    def apply(self, gate: _GateDef, tok: _Token, qubits: tuple[int, ...]) -> None:
        s = self.state
        s.singles += gate.single_qubit_gates
        records = s.records
        for label, i, j, times in self.labelled(gate):
            records[(label, qubits[i], qubits[j])] += times
            s.two_qubit += times
        if s.two_qubit + s.singles > self.max_gates:
            raise self.error(
                f"the circuit expands to more than {self.max_gates:.3g} gates by here; set "
                f"{LIMITS['qasm_gate_count'].env} to raise the limit",
                tok,
            )


def parse_qasm(text: str, filename: str = "<qasm>") -> QasmCircuit:
    """Parse an OpenQASM 2.0 program and count its two-qubit interactions.

    Parameters
    ----------
    text : str
        The program.
    filename : str
        Name used in error messages.

    Returns
    -------
    QasmCircuit
        Registers, every two-qubit interaction counted per (gate, qubit pair) (after
        broadcast and decomposition of ``ccx``, ``cswap`` and user gates) and the
        single-qubit gate count.

    Raises
    ------
    QasmError
        (a ``ValueError``) with ``file:line:column: message`` for anything it cannot read
        or that exceeds a limit of :mod:`qcalc.limits`.
    """
    entry = LIMITS["qasm_bytes"]
    if len(text) > entry.value:
        raise QasmError(
            f"the program has {len(text):,} characters, more than the limit of "
            f"{entry.value:,} bytes; set {entry.env} to raise it",
            file=filename,
            line=1,
            column=1,
        )
    return _Parser(text, filename).parse()


def read_qasm(path: str) -> str:
    """The text of the OpenQASM file ``path``: a regular file, at most the documented size.

    Raises
    ------
    ScenarioError
        For a missing, unreadable, special (FIFO, device) or too large file, or one that
        is not UTF-8 text.
    """
    from qcalc._yaml import read_bytes

    entry = LIMITS["qasm_bytes"]

    def too_large(file: str) -> ScenarioError:
        return ScenarioError(
            f"the OpenQASM file is larger than {entry.value / (1024 * 1024):g} MB"
            f"{entry.how_to_raise}",
            file=file,
        )

    raw = read_bytes(path, entry.value, too_large)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            f"is not UTF-8 text (byte {exc.start}); expected an OpenQASM 2 file", file=path
        ) from None


# --------------------------------------------------------------------------------------
# Partitions
# --------------------------------------------------------------------------------------

_PART_ITEM_RE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


def _ranges(indices: Iterable[int]) -> str:
    """``0-3, 7, 9-10`` for a set of indices."""
    return _interval_text(_intervals(sorted(set(indices))))


def _intervals(ordered: Sequence[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for i in ordered:
        if out and i == out[-1][1] + 1:
            out[-1] = (out[-1][0], i)
        else:
            out.append((i, i))
    return out


def _interval_text(intervals: Iterable[tuple[int, int]]) -> str:
    return ", ".join(f"{lo}" if lo == hi else f"{lo}-{hi}" for lo, hi in intervals)


def _merge(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(intervals):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def parse_partition(spec: str, num_qubits: int | None = None) -> list[frozenset[int]]:
    """Parse a qubit partition such as ``0-49:50-99`` (one part per QPU).

    Parts are separated by ``:``; each part is a comma-separated list of qubit indices and
    inclusive ranges (``0-3,8:4-7``). Indices are the global ones of :func:`parse_qasm`
    (registers flattened in declaration order). Ranges are checked as ranges before any
    set is built: ``0-1:2-99999999999`` is refused at once, not after filling memory.

    Parameters
    ----------
    spec : str
        The partition.
    num_qubits : int, optional
        Qubits of the circuit; when given, every qubit 0 … num_qubits − 1 must be in
        exactly one part and no part may name a qubit beyond it. Without it, no qubit may
        lie beyond the qubit limit of :mod:`qcalc.limits`.

    Returns
    -------
    list of frozenset of int
        The parts, in the order written.

    Raises
    ------
    ValueError
        For a malformed part, a reversed range, fewer than two parts, a qubit in two
        parts, a qubit out of range, or (with ``num_qubits``) a qubit in no part.
    """
    where = f"partition {spec[:200]!r}"
    raw_parts = spec.split(":")
    if len(raw_parts) < 2:
        raise ValueError(
            f"{where} has one part; separate the QPUs' qubits with ':' (e.g. 0-49:50-99)"
        )
    entry = LIMITS["qasm_qubits"]
    limit = entry.value
    items: list[list[tuple[int, int]]] = []
    for number, raw in enumerate(raw_parts, start=1):
        part: list[tuple[int, int]] = []
        for item in raw.split(","):
            match = _PART_ITEM_RE.match(item)
            if match is None:
                raise ValueError(
                    f"{where}: part {number} ({raw.strip()[:40]!r}) has {item.strip()[:40]!r}; "
                    "expected qubit indices or ranges like 0-49, separated by ','"
                )
            texts = [match.group(1), match.group(2) or match.group(1)]
            if any(len(t.lstrip("0")) > _MAX_INDEX_DIGITS for t in texts):
                raise ValueError(
                    f"{where}: part {number} names qubit {max(texts, key=len)[:30]}…, more "
                    f"than the limit of {limit:,} qubits; set {entry.env} to raise it"
                )
            low, high = int(texts[0]), int(texts[1])
            if high < low:
                raise ValueError(
                    f"{where}: range {item.strip()!r} in part {number} runs backwards; "
                    f"expected {high}-{low}"
                )
            part.append((low, high))
        items.append(part)
    everything = _merge(i for part in items for i in part)
    if num_qubits is not None:
        beyond = [(max(lo, num_qubits), hi) for lo, hi in everything if hi >= num_qubits]
        if beyond:
            raise ValueError(
                f"{where} names qubit(s) {_interval_text(beyond)}, but the circuit has "
                f"{num_qubits} qubit(s) (0-{num_qubits - 1})"
            )
    elif everything and everything[-1][1] >= limit:
        raise ValueError(
            f"{where} names qubit {everything[-1][1]:,}, more than the limit of {limit:,} "
            f"qubits; set {entry.env} to raise it"
        )
    parts: list[frozenset[int]] = []
    owner: dict[int, int] = {}
    for number, part in enumerate(items, start=1):
        members: set[int] = set()
        for low, high in part:
            members.update(range(low, high + 1))
        for q in sorted(members):
            if q in owner:
                raise ValueError(f"{where}: qubit {q} is in part {owner[q]} and part {number}")
            owner[q] = number
        parts.append(frozenset(members))
    if num_qubits is not None:
        _check_covers(parts, num_qubits, where)
    return parts


def _check_covers(parts: Sequence[frozenset[int]], num_qubits: int, where: str) -> None:
    everything = set().union(*parts)
    beyond = sorted(q for q in everything if q >= num_qubits)
    if beyond:
        raise ValueError(
            f"{where} names qubit(s) {_ranges(beyond)}, but the circuit has {num_qubits} "
            f"qubit(s) (0-{num_qubits - 1})"
        )
    if len(everything) < num_qubits:
        missing = [q for q in range(num_qubits) if q not in everything]
        raise ValueError(
            f"{where} leaves qubit(s) {_ranges(missing)} in no part; every qubit "
            f"0-{num_qubits - 1} of the circuit must be in exactly one part"
        )


@record(frozen=True)
class PartitionCounts:
    """Two-qubit gates of a circuit split into cross-partition and local ones.

    Attributes
    ----------
    cross_two_qubit_gates : int
        Cross-partition controlled gates (CNOT, CZ, controlled-U, ZZ rotations…), one Bell
        pair each; ``cross_cnots`` of :func:`qcalc.budget.circuit_budget`. [gates]
    nonlocal_swaps : int
        Cross-partition SWAPs, two Bell pairs each. [gates]
    local_two_qubit_gates : int
        Two-qubit gates inside one part. [gates]
    single_qubit_gates : int
        Single-qubit gates (always local). [gates]
    cross_by_gate : dict
        Cross-partition interactions keyed by the gate as written (``ccx`` counts the
        CNOTs of its decomposition that cross).
    cross_by_kind : dict
        Cross-partition interactions keyed by primitive gate (``cx``, ``swap``…).
    local_by_kind : dict
        Local two-qubit gates keyed by primitive gate.
    cross_between_parts : dict
        Cross-partition interactions keyed by the pair of part numbers (1-based).
    cross_qubits : tuple of int
        Global indices of the qubits that take part in a cross-partition gate.
    cross_qubit_labels : tuple of str
        The same as ``q[3]`` labels.
    """

    cross_two_qubit_gates: int
    nonlocal_swaps: int
    local_two_qubit_gates: int
    single_qubit_gates: int
    cross_by_gate: dict[str, int]
    cross_by_kind: dict[str, int]
    local_by_kind: dict[str, int]
    cross_between_parts: dict[tuple[int, int], int]
    cross_qubits: tuple[int, ...]
    cross_qubit_labels: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (part pairs become ``"1-2"`` keys)."""
        return {
            "cross_two_qubit_gates": self.cross_two_qubit_gates,
            "nonlocal_swaps": self.nonlocal_swaps,
            "local_two_qubit_gates": self.local_two_qubit_gates,
            "single_qubit_gates": self.single_qubit_gates,
            "cross_by_gate": dict(self.cross_by_gate),
            "cross_by_kind": dict(self.cross_by_kind),
            "local_by_kind": dict(self.local_by_kind),
            "cross_between_parts": {
                f"{a}-{b}": n for (a, b), n in self.cross_between_parts.items()
            },
            "cross_qubits": list(self.cross_qubit_labels),
        }


def count_cross_partition(
    circuit: QasmCircuit, partition: Sequence[frozenset[int]]
) -> PartitionCounts:
    """Count the two-qubit gates of ``circuit`` that cross between the parts of ``partition``.

    Parameters
    ----------
    circuit : QasmCircuit
        From :func:`parse_qasm`.
    partition : sequence of frozenset of int
        From :func:`parse_partition`; must cover every qubit of the circuit exactly once.

    Returns
    -------
    PartitionCounts
        Cross-partition gates (one-pair gates and SWAPs apart), local ones, and the qubits
        and part pairs involved.

    Raises
    ------
    ValueError
        If the partition misses a qubit of the circuit or names one beyond it.
    """
    part_of: dict[int, int] = {}
    for number, part in enumerate(partition, start=1):
        for q in part:
            if q in part_of:
                raise ValueError(f"qubit {q} is in part {part_of[q]} and part {number}")
            part_of[q] = number
    _check_covers(list(partition), circuit.num_qubits, "the partition")
    by_gate: Counter[str] = Counter()
    by_kind: Counter[str] = Counter()
    local: Counter[str] = Counter()
    between: Counter[tuple[int, int]] = Counter()
    qubits: set[int] = set()
    for (kind, gate, qa, qb), times in circuit.interactions.items():
        a, b = part_of[qa], part_of[qb]
        if a == b:
            local[kind] += times
            continue
        by_gate[gate] += times
        by_kind[kind] += times
        between[(min(a, b), max(a, b))] += times
        qubits.update((qa, qb))
    swaps = sum(n for kind, n in by_kind.items() if kind in SWAP_GATES)
    ordered = tuple(sorted(qubits))
    return PartitionCounts(
        cross_two_qubit_gates=sum(by_kind.values()) - swaps,
        nonlocal_swaps=swaps,
        local_two_qubit_gates=sum(local.values()),
        single_qubit_gates=circuit.single_qubit_gates,
        cross_by_gate=dict(sorted(by_gate.items())),
        cross_by_kind=dict(sorted(by_kind.items())),
        local_by_kind=dict(sorted(local.items())),
        cross_between_parts=dict(sorted(between.items())),
        cross_qubits=ordered,
        cross_qubit_labels=tuple(_label(circuit.registers, q) for q in ordered),
    )


def count_cross_partition_gates(
    text: str, partition: str, filename: str = "<qasm>"
) -> PartitionCounts:
    """Parse an OpenQASM 2.0 program and a partition spec, and count the crossing gates.

    Parameters
    ----------
    text : str
        The program.
    partition : str
        Partition such as ``0-49:50-99`` (:func:`parse_partition`).
    filename : str
        Name used in error messages.

    Returns
    -------
    PartitionCounts
        See :func:`count_cross_partition`.

    Raises
    ------
    QasmError
        For a program that cannot be read (``file:line:column: message``).
    ValueError
        For a partition that is malformed or does not cover the circuit's qubits.
    """
    parse_partition(partition)  # its form and size first: refused before the parse
    circuit = parse_qasm(text, filename)
    return count_cross_partition(circuit, parse_partition(partition, circuit.num_qubits))
