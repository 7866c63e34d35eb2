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

import difflib
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from qcalc.errors import QcalcError

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


@dataclass(frozen=True)
class _GateDef:
    """A gate: primitive (``body is None``) or a sequence of (gate, argument indices)."""

    name: str
    n_params: int
    n_qubits: int
    # Flattened content: two-qubit primitives as (kind, i, j) and the single-qubit count.
    interactions: tuple[tuple[str, int, int], ...]
    single_qubit_gates: int
    opaque: bool = False


def _primitive(name: str, n_params: int, n_qubits: int) -> _GateDef:
    interactions = ((name, 0, 1),) if n_qubits == 2 else ()
    return _GateDef(name, n_params, n_qubits, interactions, 1 if n_qubits == 1 else 0)


def _composite(
    name: str,
    n_qubits: int,
    body: Sequence[tuple[str, tuple[int, ...]]],
    gates: dict[str, _GateDef],
    n_params: int = 0,
) -> _GateDef:
    interactions: list[tuple[str, int, int]] = []
    singles = 0
    for gate_name, args in body:
        inner = gates[gate_name]
        interactions += [(kind, args[i], args[j]) for kind, i, j in inner.interactions]
        singles += inner.single_qubit_gates
    return _GateDef(name, n_params, n_qubits, tuple(interactions), singles)


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
    line: int
    column: int


_TOKEN_RE = re.compile(
    r"""
    (?P<ws>[ \t\r\f\v]+)
  | (?P<nl>\n)
  | (?P<comment>//[^\n]*)
  | (?P<real>(?:\d+\.\d*|\.\d+)(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+)
  | (?P<int>\d+)
  | (?P<id>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<string>"[^"\n]*")
  | (?P<op>->|==|[;,()\[\]{}+\-*/^])
    """,
    re.VERBOSE,
)


def _tokenize(text: str, filename: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos, line, line_start = 0, 1, 0
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        column = pos - line_start + 1
        if match is None:
            char = text[pos]
            what = "unterminated string" if char == '"' else f"unexpected character {char!r}"
            raise QasmError(what, file=filename, line=line, column=column)
        kind = match.lastgroup or ""
        if kind == "nl":
            line, line_start = line + 1, match.end()
        elif kind not in ("ws", "comment"):
            tokens.append(_Token(kind, match.group(), line, column))
        pos = match.end()
    tokens.append(_Token("eof", "", line, pos - line_start + 1))
    return tokens


# --------------------------------------------------------------------------------------
# Parsed circuit
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Register:
    """A quantum register: global qubit indices ``offset … offset + size - 1``."""

    name: str
    offset: int
    size: int


@dataclass(frozen=True)
class TwoQubitGate:
    """One two-qubit interaction after broadcast and decomposition.

    Attributes
    ----------
    kind : str
        Primitive gate (``cx``, ``cz``, ``swap``…), after expanding definitions.
    gate : str
        Gate as written in the file (``ccx``, ``mygate``…).
    qubits : tuple of int
        Global qubit indices (in register declaration order).
    line, column : int
        Where the gate is applied in the file.
    """

    kind: str
    gate: str
    qubits: tuple[int, int]
    line: int
    column: int

    @property
    def is_swap(self) -> bool:
        """A SWAP (two Bell pairs when nonlocal) rather than a controlled gate (one)."""
        return self.kind in SWAP_GATES


@dataclass(frozen=True)
class QasmCircuit:
    """What :func:`parse_qasm` keeps of a circuit.

    Attributes
    ----------
    filename : str
        Name used in messages.
    registers : tuple of Register
        Quantum registers in declaration order.
    two_qubit_gates : tuple of TwoQubitGate
        Every two-qubit interaction, in program order.
    single_qubit_gates : int
        Single-qubit gate applications (after broadcast and decomposition).
    measurements : int
        Single-qubit measurements.
    """

    filename: str
    registers: tuple[Register, ...]
    two_qubit_gates: tuple[TwoQubitGate, ...]
    single_qubit_gates: int
    measurements: int

    @property
    def num_qubits(self) -> int:
        """Total number of qubits over all registers."""
        return sum(r.size for r in self.registers)

    def qubit_label(self, index: int) -> str:
        """``q[3]`` for a global index."""
        for reg in self.registers:
            if reg.offset <= index < reg.offset + reg.size:
                return f"{reg.name}[{index - reg.offset}]"
        raise ValueError(f"qubit index {index} out of range; the circuit has {self.num_qubits}")


# --------------------------------------------------------------------------------------
# Parser
# --------------------------------------------------------------------------------------


@dataclass
class _Arg:
    register: str
    index: int | None
    token: _Token


@dataclass
class _State:
    qregs: dict[str, Register] = field(default_factory=dict)
    cregs: dict[str, int] = field(default_factory=dict)
    gates: dict[str, _GateDef] = field(default_factory=lambda: dict(_BUILTIN_GATES))
    user_gates: set[str] = field(default_factory=set)
    two_qubit: list[TwoQubitGate] = field(default_factory=list)
    singles: int = 0
    measurements: int = 0


class _Parser:
    def __init__(self, text: str, filename: str) -> None:
        self.filename = filename
        self.tokens = _tokenize(text, filename)
        self.pos = 0
        self.state = _State()

    # -- token helpers -------------------------------------------------------------------

    def error(self, message: str, token: _Token | None = None) -> QasmError:
        tok = token or self.peek()
        return QasmError(message, file=self.filename, line=tok.line, column=tok.column)

    def peek(self) -> _Token:
        return self.tokens[self.pos]

    def advance(self) -> _Token:
        tok = self.tokens[self.pos]
        if tok.kind != "eof":
            self.pos += 1
        return tok

    def at(self, text: str) -> bool:
        tok = self.peek()
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
        return QasmCircuit(
            filename=self.filename,
            registers=tuple(s.qregs.values()),
            two_qubit_gates=tuple(s.two_qubit),
            single_qubit_gates=s.singles,
            measurements=s.measurements,
        )

    def statement(self) -> None:
        tok = self.peek()
        if tok.kind != "id":
            raise self.error(f"expected a statement, got {tok.text!r}")
        keyword = tok.text
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
        size = int(size_tok.text)
        if size < 1:
            raise self.error(f"register {name.text!r} has size {size}; expected ≥ 1", size_tok)
        self.expect("]", "after the register size")
        self.expect(";", "after the register declaration")
        s = self.state
        if name.text in s.qregs or name.text in s.cregs:
            raise self.error(f"register {name.text!r} is already declared", name)
        if keyword.text == "qreg":
            offset = sum(r.size for r in s.qregs.values())
            s.qregs[name.text] = Register(name.text, offset, size)
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
        for i, tok in enumerate(qubit_tokens):
            if tok.text in qubits[:i]:
                raise self.error(f"qubit argument {tok.text!r} appears twice", tok)
        if keyword.text == "opaque":
            self.expect(";", "after an opaque gate declaration")
            singles = 1 if len(qubits) == 1 else 0
            s.gates[name.text] = _GateDef(
                name.text, len(params), len(qubits), (), singles, opaque=True
            )
        else:
            self.expect("{", "to open the gate body")
            body = self.gate_body(set(params), qubits)
            s.gates[name.text] = _composite(name.text, len(qubits), body, s.gates, len(params))
        s.user_gates.add(name.text)

    def gate_body(self, params: set[str], qubits: list[str]) -> list[tuple[str, tuple[int, ...]]]:
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
                if arg.text not in qubits:
                    raise self.error(
                        f"{arg.text!r} is not a qubit argument of this gate "
                        f"(arguments: {', '.join(qubits)})",
                        arg,
                    )
                if qubits.index(arg.text) in args:
                    raise self.error(f"gate {tok.text!r} uses qubit {arg.text!r} twice", arg)
                args.append(qubits.index(arg.text))
            self.check_qubit_count(gate, tok, len(args))
            self.expect(";", f"after '{tok.text}'")
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

    def parameters(self, names: set[str]) -> int:
        if not self.at("("):
            return 0
        self.advance()
        if self.at(")"):
            self.advance()
            return 0
        count = 1
        self.expression(names)
        while self.at(","):
            self.advance()
            self.expression(names)
            count += 1
        self.expect(")", "after the gate parameters")
        return count

    def expression(self, names: set[str]) -> None:
        self.term(names)
        while self.at("+") or self.at("-"):
            self.advance()
            self.term(names)

    def term(self, names: set[str]) -> None:
        self.factor(names)
        while self.at("*") or self.at("/"):
            self.advance()
            self.factor(names)

    def factor(self, names: set[str]) -> None:
        if self.at("-") or self.at("+"):
            self.advance()
            self.factor(names)
            return
        self.primary(names)
        if self.at("^"):
            self.advance()
            self.factor(names)

    def primary(self, names: set[str]) -> None:
        tok = self.advance()
        if tok.kind in ("real", "int") or (
            tok.kind == "id" and (tok.text in names or tok.text == "pi")
        ):
            return
        if tok.kind == "id" and tok.text in _FUNCTIONS:
            self.expect("(", f"after '{tok.text}'")
            self.expression(names)
            self.expect(")", f"to close '{tok.text}('")
            return
        if tok.kind == "op" and tok.text == "(":
            self.expression(names)
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
            index = int(self.expect_kind("int", "a qubit index").text)
            self.expect("]", "after the index")
        return _Arg(name.text, index, name)

    def argument_list(self) -> list[_Arg]:
        args = [self.argument()]
        while self.at(","):
            self.advance()
            args.append(self.argument())
        return args

    def resolve(self, arg: _Arg, classical: bool = False) -> list[int]:
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
            return list(range(offset, offset + size))
        if arg.index >= size:
            raise self.error(
                f"index {arg.index} is out of range for {arg.register!r} of size {size}",
                arg.token,
            )
        return [offset + arg.index]

    def broadcast(self, args: list[_Arg], resolved: list[list[int]]) -> list[tuple[int, ...]]:
        """One tuple of global qubits per application (``cx a, b;`` → one per index)."""
        pairs = list(zip(args, resolved, strict=True))
        whole = [(a, r) for a, r in pairs if a.index is None]
        if len({len(r) for _, r in whole}) > 1:
            sizes = ", ".join(f"{a.register}[{len(r)}]" for a, r in whole)
            raise self.error(
                f"registers of different sizes in one operation ({sizes}); expected equal sizes",
                args[0].token,
            )
        width = len(whole[0][1]) if whole else 1
        return [tuple(r[i] if a.index is None else r[0] for a, r in pairs) for i in range(width)]

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
        applications = self.broadcast(args, [self.resolve(a) for a in args])
        self.advance()
        for qubits in applications:
            if len(set(qubits)) != len(qubits):
                dup = next(q for q in qubits if qubits.count(q) > 1)
                raise self.error(f"gate {tok.text!r} uses qubit {self.label(dup)} twice", tok)
            self.apply(gate, tok, qubits)

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
        for reg in self.state.qregs.values():
            if reg.offset <= index < reg.offset + reg.size:
                return f"{reg.name}[{index - reg.offset}]"
        return str(index)  # pragma: no cover - indices always come from a register

    def apply(self, gate: _GateDef, tok: _Token, qubits: tuple[int, ...]) -> None:
        s = self.state
        s.singles += gate.single_qubit_gates
        for kind, i, j in gate.interactions:
            s.two_qubit.append(
                TwoQubitGate(kind, gate.name, (qubits[i], qubits[j]), tok.line, tok.column)
            )


def parse_qasm(text: str, filename: str = "<qasm>") -> QasmCircuit:
    """Parse an OpenQASM 2.0 program and keep its two-qubit interactions.

    Parameters
    ----------
    text : str
        The program.
    filename : str
        Name used in error messages.

    Returns
    -------
    QasmCircuit
        Registers, every two-qubit interaction (after broadcast and decomposition of
        ``ccx``, ``cswap`` and user gates) and the single-qubit gate count.

    Raises
    ------
    QasmError
        (a ``ValueError``) with ``file:line:column: message`` for anything it cannot read.
    """
    return _Parser(text, filename).parse()


# --------------------------------------------------------------------------------------
# Partitions
# --------------------------------------------------------------------------------------

_PART_ITEM_RE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


def _ranges(indices: Iterable[int]) -> str:
    """``0-3, 7, 9-10`` for a set of indices."""
    out: list[str] = []
    ordered = sorted(set(indices))
    start = prev = None
    for i in [*ordered, None]:
        if start is not None and (i is None or prev is None or i != prev + 1):
            out.append(f"{start}" if start == prev else f"{start}-{prev}")
            start = None
        if i is not None and start is None:
            start = i
        prev = i
    return ", ".join(out)


def parse_partition(spec: str, num_qubits: int | None = None) -> list[frozenset[int]]:
    """Parse a qubit partition such as ``0-49:50-99`` (one part per QPU).

    Parts are separated by ``:``; each part is a comma-separated list of qubit indices and
    inclusive ranges (``0-3,8:4-7``). Indices are the global ones of :func:`parse_qasm`
    (registers flattened in declaration order).

    Parameters
    ----------
    spec : str
        The partition.
    num_qubits : int, optional
        Qubits of the circuit; when given, every qubit 0 … num_qubits − 1 must be in
        exactly one part and no part may name a qubit beyond it.

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
    where = f"partition {spec!r}"
    raw_parts = spec.split(":")
    if len(raw_parts) < 2:
        raise ValueError(
            f"{where} has one part; separate the QPUs' qubits with ':' (e.g. 0-49:50-99)"
        )
    parts: list[frozenset[int]] = []
    owner: dict[int, int] = {}
    for number, raw in enumerate(raw_parts, start=1):
        members: set[int] = set()
        for item in raw.split(","):
            match = _PART_ITEM_RE.match(item)
            if match is None:
                raise ValueError(
                    f"{where}: part {number} ({raw.strip()!r}) has {item.strip()!r}; expected "
                    "qubit indices or ranges like 0-49, separated by ','"
                )
            low = int(match.group(1))
            high = int(match.group(2)) if match.group(2) is not None else low
            if high < low:
                raise ValueError(
                    f"{where}: range {item.strip()!r} in part {number} runs backwards; "
                    f"expected {high}-{low}"
                )
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
    missing = set(range(num_qubits)) - everything
    if missing:
        raise ValueError(
            f"{where} leaves qubit(s) {_ranges(missing)} in no part; every qubit "
            f"0-{num_qubits - 1} of the circuit must be in exactly one part"
        )


@dataclass(frozen=True)
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
    for g in circuit.two_qubit_gates:
        a, b = (part_of[q] for q in g.qubits)
        if a == b:
            local[g.kind] += 1
            continue
        by_gate[g.gate] += 1
        by_kind[g.kind] += 1
        between[(min(a, b), max(a, b))] += 1
        qubits.update(g.qubits)
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
        cross_qubit_labels=tuple(circuit.qubit_label(q) for q in ordered),
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
    circuit = parse_qasm(text, filename)
    return count_cross_partition(circuit, parse_partition(partition, circuit.num_qubits))
