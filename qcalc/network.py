"""Routing a demand through the topology of a scenario."""

from __future__ import annotations

import dataclasses
import heapq
import math
from collections.abc import Callable, Hashable, Sequence
from typing import Any
from weakref import WeakKeyDictionary

import numpy as np

from qcalc.errors import ScenarioError
from qcalc.limits import LIMITS
from qcalc.linkbudget import LinkBudget, link_budget
from qcalc.physics.fibre import fibre_loss_db
from qcalc.scenario import Demand, Link, Scenario

#: Routing weight of a measured link that gives no length: it carries entanglement but no
#: light of anyone else's, so a route uses it only where nothing else joins its ends. [dB]
MEASURED_LINK_WEIGHT_DB = 1e6


def hop_sender(scenario: Scenario, a: str, b: str) -> str:
    """Which end of hop a–b sends: the one with the source when only the other end can
    detect; otherwise ``a`` (the end nearer the route's start). Satellite links are
    oriented by their ``direction`` whatever this says."""
    na, nb = scenario.nodes[a], scenario.nodes[b]
    if na.source is None and nb.source is not None and na.detector is not None:
        return b
    return a


# ----------------------------------------------------------------------------- sharing
# A long route repeats a few kinds of hop thousands of times. What a hop computes depends
# on its parameters, not on its names: hops with equal parameters share one computation
# (the names are put back afterwards), so the work grows with the kinds of hop, not the hops.

#: Parameter keys already built, by the id of the object (kept alive beside its key).
_KEYS: dict[tuple[int, tuple[str, ...]], tuple[object, Hashable]] = {}
#: Entries a memo of shared results holds before it starts afresh: a little more than the
#: hops of a 10⁴-hop route, which a lever search meets again at every step (a longer one
#: shares less, with the same results); more only holds memory. [entries]
MEMO_ENTRIES = 12_000


#: Types a parameter key holds as they are (floats too, their sign of zero apart).
_PLAIN = frozenset({str, int, bool, float, type(None)})
#: Types of a single number (a swept field holds an array instead).
_NUMBERS = frozenset({int, float})


def parameter_key(value: Any, leave_out: tuple[str, ...] = ()) -> Hashable:
    """A hashable stand-in for ``value``: equal keys mean equal values of equal types.

    Numbers, strings, None, numpy arrays and scalars, tuples, lists, dicts and (frozen)
    dataclasses of these; a dataclass without the fields named in ``leave_out`` (its
    names, when hops share what their parameters decide). 0.0 and −0.0 differ. A
    dataclass's key is built once per object.

    Raises
    ------
    TypeError
        For a value of any other type (nothing is shared then).
    """
    cls = value.__class__
    if cls in _PLAIN:
        return (cls, value, math.copysign(1.0, value) if cls is float and value == 0.0 else 0)
    if cls is np.ndarray:
        return (cls, value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, np.generic):
        return (cls, value.tobytes())
    if cls is tuple or cls is list:
        return (cls, tuple(parameter_key(v) for v in value))
    if cls is dict:
        return (cls, tuple((parameter_key(k), parameter_key(v)) for k, v in value.items()))
    if not dataclasses.is_dataclass(value):
        raise TypeError(f"no parameter key for a {cls.__name__}")
    memo = _KEYS.get((id(value), leave_out))
    if memo is not None and memo[0] is value:
        return memo[1]
    fields = dict(value.__dict__)
    for name in leave_out:
        del fields[name]
    values = list(fields.values())
    types = tuple(map(type, values))
    if not _PLAIN.issuperset(types):
        for i in [i for i, t in enumerate(types) if t not in _PLAIN]:
            values[i] = parameter_key(values[i])
    parts = tuple(values)
    if 0.0 in parts:  # 0.0 == −0.0: the signs of the zeros go into the key
        parts = tuple(
            (v, math.copysign(1.0, v)) if t is float and v == 0.0 else v
            for v, t in zip(parts, types, strict=True)
        )
    key = (cls, parts, types)
    if len(_KEYS) >= MEMO_ENTRIES:
        _KEYS.clear()
    _KEYS[(id(value), leave_out)] = (value, key)
    return key


#: Every memo :func:`remember` has filled (by id), for :func:`forget_shared_results`.
_MEMOS: dict[int, dict[Any, Any]] = {}


def remember(memo: dict[Any, Any], key: Hashable, value: Any) -> Any:
    """Store ``value`` under ``key`` in a memo of shared results (started afresh when it
    holds :data:`MEMO_ENTRIES`); returns ``value``."""
    if len(memo) >= MEMO_ENTRIES:
        memo.clear()
    _MEMOS.setdefault(id(memo), memo)
    memo[key] = value
    return value


def forget_shared_results() -> None:
    """Empty every memo of shared results, so that the next evaluation computes each
    kind of hop afresh (results are the same either way; this frees their memory)."""
    for memo in _MEMOS.values():
        memo.clear()
    _KEYS.clear()
    _LAST_TABLE.clear()


#: Marks a stand-in name in a shared result (no name in a scenario holds it: names with
#: control characters are refused at load).
STAND_IN = "\x00"


Names = tuple[tuple[str, str], ...]


def _put_names(text: str, names: Names) -> str:
    for stand_in, name in names:
        text = text.replace(stand_in, name)
    return text


#: Types that hold no name (numbers and arrays), skipped at once by :func:`_fill_plan`.
_NAMELESS = frozenset({float, int, bool, type(None), np.ndarray, np.float64, np.bool_})


def _fill_plan(value: Any) -> Callable[[Names], Any] | None:
    """How to put names into ``value`` where it holds stand-ins; None where it holds none.

    Walks strings, tuples, lists, dicts and dataclasses (numbers and arrays hold no
    names); the plan rebuilds only what holds a stand-in and shares everything else.
    """
    cls = value.__class__
    if cls in _NAMELESS:
        return None
    if cls is str:
        return (lambda names: _put_names(value, names)) if STAND_IN in value else None
    if cls in (tuple, list, dict):
        pairs = value.items() if cls is dict else enumerate(value)
        parts = [(k, plan) for k, v in pairs if (plan := _fill_plan(v)) is not None]
        if not parts:
            return None

        def fill_items(names: Names) -> Any:
            items = dict(value) if cls is dict else list(value)
            for k, plan in parts:
                items[k] = plan(names)
            return items if cls is not tuple else tuple(items)

        return fill_items
    if not hasattr(cls, "__dataclass_fields__") or isinstance(value, type):
        return None
    fields = [(k, plan) for k, v in value.__dict__.items() if (plan := _fill_plan(v)) is not None]
    if not fields:
        return None
    plain = not hasattr(cls, "__post_init__") and not hasattr(cls, "__slots__")

    def fill_fields(names: Names) -> Any:
        changed = {k: plan(names) for k, plan in fields}
        if not plain:
            return dataclasses.replace(value, **changed)
        copy = object.__new__(cls)  # a frozen dataclass: its fields as they are, these new
        copy.__dict__.update(value.__dict__, **changed)
        return copy

    return fill_fields


class Shared:
    """A result computed once with stand-in names, for every hop of its kind. How to put
    the names in is worked out when a name is first asked for (a chain of hops of
    distinct lengths asks only one of the two it shares per hop)."""

    __slots__ = ("value", "_plan")

    def __init__(self, value: Any) -> None:
        self.value = value
        self._plan: Any = _UNPLANNED

    @classmethod
    def of(cls, value: Any) -> Shared:
        return cls(value)

    def named(self, names: Names) -> Any:
        """The result with the real names put in for the stand-ins (``names``: pairs of
        stand-in and name); what holds no stand-in is the shared object itself."""
        if self._plan is _UNPLANNED:
            self._plan = _fill_plan(self.value)
        return self.value if self._plan is None else self._plan(names)


_UNPLANNED = object()


#: Stand-in names of the link and its two ends in a budget shared by equal hops.
_LINK, _END_A, _END_B = "\x00link\x00", "\x00end-a\x00", "\x00end-b\x00"
#: Fibre budgets with stand-in names, by the link's parameters, which end sends, and the
#: receiver's detector.
_SHARED_BUDGETS: dict[Hashable, Shared] = {}


#: Scenarios with at most this many links compute each fibre budget as it is: copying
#: the scenario around stand-in names costs more than a budget (a batch of small files
#: spent a fifth of its time there). [links]
SHARED_BUDGET_LINKS = 16

#: Named fibre budgets by (link, sender, receiver's detector): what a lever that moves
#: another parameter finds again, the link objects being the same.
_NAMED_BUDGETS: dict[tuple[int, str, Hashable], tuple[Link, LinkBudget]] = {}


def _fibre_budget(link: Link, scenario: Scenario, sender: str) -> LinkBudget:
    """:func:`link_budget` of a fibre link, computed once per kind of hop (in a scenario
    of more than :data:`SHARED_BUDGET_LINKS` links).

    A fibre link's budget reads the link and the detector at its receiving end
    (:func:`qcalc.linkbudget.link_budget`: the fibre's terms, then the receiver's
    detector), never their names but in its text: it is computed for stand-in names,
    once per kind, and each hop's names are put into the text.
    """
    a, b = link.ends
    receiver = b if sender == a else a
    nodes = scenario.nodes
    detector_key = parameter_key(nodes[receiver].detector)
    known = _NAMED_BUDGETS.get((id(link), sender, detector_key))
    if known is not None and known[0] is link:
        return known[1]
    if len(scenario.links) <= SHARED_BUDGET_LINKS:  # too few hops to repay the stand-ins
        budget = link_budget(link, scenario, sender=sender)
        remember(_NAMED_BUDGETS, (id(link), sender, detector_key), (link, budget))
        return budget
    key = (parameter_key(link, ("name", "ends")), sender == a, detector_key)
    shared = _SHARED_BUDGETS.get(key)
    if shared is None:
        stand_in = dataclasses.replace(link, name=_LINK, ends=(_END_A, _END_B))
        alone = dataclasses.replace(
            scenario,
            nodes={
                _END_A: dataclasses.replace(nodes[a], name=_END_A),
                _END_B: dataclasses.replace(nodes[b], name=_END_B),
            },
            links=(stand_in,),
        )
        budget = link_budget(stand_in, alone, sender=_END_A if sender == a else _END_B)
        shared = remember(
            _SHARED_BUDGETS,
            key,
            Shared.of(
                (budget.length_km, budget.delay_s, budget.terms, budget.steps, budget.notes)
                + (budget.extra,)
            ),
        )
    names = ((_LINK, link.name), (_END_A, a), (_END_B, b))
    length_km, delay_s, terms, steps, notes, extra = shared.named(names)
    budget = LinkBudget(
        link, sender, receiver, length_km, delay_s, terms, steps, notes, dict(extra)
    )
    remember(_NAMED_BUDGETS, (id(link), sender, detector_key), (link, budget))
    return budget


#: Budgets already computed for a scenario (routing and hops need the same ones).
_BUDGETS: WeakKeyDictionary[Scenario, dict[tuple[str, str, bool], LinkBudget]] = WeakKeyDictionary()


def cached_budget(link: Link, scenario: Scenario, sender: str, over_pass: bool) -> LinkBudget:
    """:func:`link_budget`, computed once per scenario, link, sender and pass flag (and
    once per kind of fibre hop: hops with equal parameters share it)."""
    over_pass = over_pass and link.channel == "satellite" and link.min_elevation_deg is not None
    memo = _BUDGETS.setdefault(scenario, {})
    key = (link.name, sender, over_pass)
    budget = memo.get(key)
    if budget is None:
        a, b = link.ends
        if link.channel == "fibre" and a != b and sender in (a, b):
            budget = _fibre_budget(link, scenario, sender)
        else:
            budget = link_budget(link, scenario, sender=sender, over_pass=over_pass)
        memo[key] = budget
    return budget


def _weight_db(link: Link, scenario: Scenario) -> float:
    """Routing weight of a link: its channel loss in dB (median over a sweep's values)."""
    if link.length_km is None and link.channel != "satellite":
        return MEASURED_LINK_WEIGHT_DB
    budget = cached_budget(link, scenario, hop_sender(scenario, *link.ends), False)
    loss_db = np.asarray(budget.channel_loss_db, dtype=float)
    value = float(loss_db) if loss_db.ndim == 0 else float(np.median(loss_db))
    return value if np.isfinite(value) else 1e300


# ----------------------------------------------------------------------------- routing
# A national network routes a thousand demands over 10⁴ nodes and 3·10⁴ links: every
# link's weight is computed once per scenario, and each distinct start node grows one
# shortest-path tree that every demand leaving it reads (and extends when its goal is
# not reached yet). Cost: O(links) once, then O(links log nodes) per distinct start at
# most, instead of per demand (with every weight rebuilt) before.

#: Above this many (nodes × distinct start nodes), the trees are grown by
#: scipy.sparse.csgraph's compiled Dijkstra (~0.3 s to import, then ~50× faster than
#: the pure-Python heap), for all start nodes of the scenario's demands at once.
#: [node visits]
COMPILED_ROUTING_WORK = 100_000
#: Most nodes the kept shortest-path trees of a scenario may hold together (about 200 MB;
#: a tree is regrown, identically, when its start is asked for again). [nodes]
KEPT_TREE_NODES = 2_000_000


class _Tree:
    """A shortest-path tree from ``start``, grown as far as a goal asked for so far.

    ``best`` holds the tentative loss to every node met, ``previous`` the node before it
    on its best route, ``done`` the nodes whose loss is final, ``queue`` the heap of
    (loss, node) still to visit (E. W. Dijkstra, Numer. Math. 1, 269 (1959)).
    (A plain class: a dataclass costs its module's import a millisecond.)
    """

    __slots__ = ("best", "done", "previous", "queue", "start")

    def __init__(self, start: str) -> None:
        self.start = start
        self.best: dict[str, float] = {start: 0.0}
        self.previous: dict[str, str] = {}
        self.done: set[str] = set()
        self.queue: list[tuple[float, str]] = [(0.0, start)]

    def grow_to(self, goal: str, adjacent: dict[str, list[tuple[float, str]]]) -> None:
        """Visit nodes in order of (loss, name) until ``goal`` is final or none is left.

        A node's ``previous`` is final once the node is: growing the tree further never
        changes a route already read, so it gives the routes an early stop at each goal
        would give (ties between equal-loss routes broken alike).
        """
        best, previous, done, queue = self.best, self.previous, self.done, self.queue
        inf = math.inf
        while queue and goal not in done:
            dist, node = heapq.heappop(queue)
            if node in done or dist > best.get(node, inf):
                continue
            done.add(node)
            for w, other in adjacent[node]:
                new = dist + w
                if new < best.get(other, inf):
                    best[other] = new
                    previous[other] = node
                    heapq.heappush(queue, (new, other))


class _Routing:
    """What routing a scenario needs, built once: the neighbours of every node with the
    links' weights, the shortest-path trees grown so far, and the routes the compiled
    search found, by (start, goal)."""

    __slots__ = ("adjacent", "routes", "trees")

    def __init__(self, adjacent: dict[str, list[tuple[float, str]]]) -> None:
        self.adjacent = adjacent
        self.trees: dict[str, _Tree] = {}
        self.routes: dict[tuple[str, str], tuple[str, ...] | None] = {}


_ROUTING: WeakKeyDictionary[Scenario, _Routing] = WeakKeyDictionary()
#: Link weights per scenario, by the link's position in ``scenario.links``.
_WEIGHTS: WeakKeyDictionary[Scenario, list[float]] = WeakKeyDictionary()


def link_weights_db(scenario: Scenario) -> list[float]:
    """Routing weight (:func:`_weight_db`) of every link, in the order given, computed
    once per scenario. [dB]

    A fibre link of one length, attenuation and extra loss (no sweep) weighs its channel
    loss α·L + extra (:func:`qcalc.physics.fibre.fibre_loss_db`, the terms its budget
    sums: :func:`qcalc.linkbudget.fibre_budget`), computed for all such links in one
    array operation; any other link through its budget.
    """
    weights = _WEIGHTS.get(scenario)
    if weights is None:
        links = scenario.links
        plain = [
            i
            for i, link in enumerate(links)
            if link.channel == "fibre"
            and link.length_km.__class__ in _NUMBERS
            and link.attenuation_db_per_km.__class__ in _NUMBERS
            and link.extra_loss_db.__class__ in _NUMBERS
            and isinstance(link.extra_loss_db, int | float)
            and link.extra_loss_db >= 0  # the budget leaves out a term that is not a loss
        ]
        weights = [0.0] * len(links)
        if plain:
            fibre = [links[i] for i in plain]
            loss_db = fibre_loss_db(
                np.array([link.length_km for link in fibre], dtype=float),
                np.array([link.attenuation_db_per_km for link in fibre], dtype=float),
                np.array([link.extra_loss_db for link in fibre], dtype=float),
            )
            loss_db[~np.isfinite(loss_db)] = 1e300
            for i, value in zip(plain, loss_db.tolist(), strict=True):
                weights[i] = value
        done = set(plain)
        for i, link in enumerate(links):
            if i not in done:
                weights[i] = _weight_db(link, scenario)
        _WEIGHTS[scenario] = weights
    return weights


def _routing(scenario: Scenario) -> _Routing:
    routing = _ROUTING.get(scenario)
    if routing is None:
        adjacent: dict[str, list[tuple[float, str]]] = {name: [] for name in scenario.nodes}
        for link, w in zip(scenario.links, link_weights_db(scenario), strict=True):
            a, b = link.ends
            adjacent[a].append((w, b))
            adjacent[b].append((w, a))
        routing = _ROUTING[scenario] = _Routing(adjacent)
    return routing


def _demand_starts(scenario: Scenario, start: str) -> list[str]:
    """The distinct start nodes of the scenario's routed demands, ``start`` first."""
    starts = dict.fromkeys([start])
    for demand in scenario.demands:
        if demand.path is None and demand.ends[0] in scenario.nodes:
            starts[demand.ends[0]] = None
    return list(starts)


def _compiled_routes(scenario: Scenario, routing: _Routing, start: str) -> bool:
    """Fill ``routing.routes`` for every routed demand of the scenario with
    scipy.sparse.csgraph's Dijkstra, when the work repays its import; False when it does
    not (or when a weight is not positive and finite, which the heap handles).

    The compiled search gives the losses; each route is then read back from the goal,
    taking at every node the neighbour a heap search would have finalised first among
    those on a lowest-loss route — the one with the least (loss, name) — so the routes
    are the ones :class:`_Tree` gives, equal-loss ties broken alike. The losses are the
    same floating-point sums either way (loss[v] = loss[u] + w, the same additions).
    """
    starts = _demand_starts(scenario, start)
    names = list(scenario.nodes)
    if len(names) * len(starts) < COMPILED_ROUTING_WORK:
        return False
    weights = link_weights_db(scenario)
    if not all(0.0 < w < math.inf for w in weights):
        return False
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import dijkstra

    index = {name: i for i, name in enumerate(names)}
    lightest: dict[tuple[int, int], float] = {}
    for link, w in zip(scenario.links, weights, strict=True):
        i, j = index[link.ends[0]], index[link.ends[1]]
        if i == j:
            continue
        for pair in ((i, j), (j, i)):
            if w < lightest.get(pair, math.inf):
                lightest[pair] = w
    rows = np.fromiter((p[0] for p in lightest), dtype=np.int64, count=len(lightest))
    cols = np.fromiter((p[1] for p in lightest), dtype=np.int64, count=len(lightest))
    data = np.fromiter(lightest.values(), dtype=float, count=len(lightest))
    matrix = coo_matrix((data, (rows, cols)), shape=(len(names),) * 2).tocsr()
    goals: dict[str, list[str]] = {}
    for demand in scenario.demands:
        a, b = demand.ends
        if demand.path is None and a in index and b in index:
            goals.setdefault(a, []).append(b)
    adjacent = routing.adjacent
    for first in range(0, len(starts), 64):  # 64 rows of losses at a time (bounded memory)
        chunk = starts[first : first + 64]
        losses = dijkstra(matrix, directed=True, indices=[index[s] for s in chunk])
        for row, source in zip(losses, chunk, strict=True):  # read along routes only
            for goal in goals.get(source, []):
                routing.routes[(source, goal)] = _read_route(row, index, adjacent, source, goal)
    return True


def _read_route(
    loss: Any,
    index: dict[str, int],
    adjacent: dict[str, list[tuple[float, str]]],
    start: str,
    goal: str,
) -> tuple[str, ...] | None:
    """The route to ``goal`` from a row of lowest losses from ``start`` (see
    :func:`_compiled_routes`); None when the goal is out of reach."""
    if not loss[index[goal]] < math.inf:
        return None
    route = [goal]
    node = goal
    while node != start:
        here = loss[index[node]]
        node = min(
            (loss[index[other]], other)
            for w, other in adjacent[node]
            if loss[index[other]] + w == here and other != node
        )[1]
        route.append(node)
    return tuple(reversed(route))


def lowest_loss_route(scenario: Scenario, start: str, goal: str) -> tuple[str, ...]:
    """The route from ``start`` to ``goal`` with the least total channel loss in dB.

    Dijkstra's algorithm (E. W. Dijkstra, Numer. Math. 1, 269 (1959)) on the graph whose
    edge weights are the links' channel losses — losses in dB add along a route, so the
    shortest path is the highest-transmittance one; among routes of equal loss, the one
    whose nodes a search in order of (loss, name) finalises first. The weights are
    computed once per scenario, and one shortest-path tree per distinct start node
    serves every demand leaving it: O(links log nodes) per start, in pure Python with a
    heap, or by scipy.sparse.csgraph for every start at once where the graph and the
    number of starts repay its import (:data:`COMPILED_ROUTING_WORK`).

    Raises
    ------
    ScenarioError
        When no route joins the two nodes.
    """
    routing = _routing(scenario)
    key = (start, goal)
    if key not in routing.routes and start not in routing.trees and start != goal:
        _compiled_routes(scenario, routing, start)
    if key in routing.routes:
        found = routing.routes[key]
    else:
        tree = routing.trees.get(start)
        if tree is None:
            if (len(routing.trees) + 1) * len(routing.adjacent) > KEPT_TREE_NODES:
                del routing.trees[next(iter(routing.trees))]  # the oldest; regrown if asked
            tree = routing.trees[start] = _Tree(start)
        tree.grow_to(goal, routing.adjacent)
        found = None
        if goal in tree.done:
            route = [goal]
            while route[-1] != start:
                route.append(tree.previous[route[-1]])
            found = tuple(reversed(route))
    if found is None:
        raise ScenarioError(
            f"no chain of links joins {start!r} and {goal!r}; add a link or check the ends",
            file=scenario.file,
        )
    return found


def demand_route(scenario: Scenario, demand: Demand) -> tuple[str, ...]:
    """The demand's ``path`` if given, else the lowest-loss route between its ends.

    Raises
    ------
    ScenarioError
        When no route joins the ends, or the route has more hops than the limit
        ``path_hops`` of :mod:`qcalc.limits` (checked before any hop is evaluated).
    """
    route = demand.path if demand.path is not None else lowest_loss_route(scenario, *demand.ends)
    entry = LIMITS["path_hops"]
    if len(route) - 1 > entry.value:
        raise ScenarioError(
            entry.refusal(len(route) - 1, f"the route of demand {demand.name!r} has "),
            file=scenario.file,
        )
    return route


def whole_pass_link(scenario: Scenario, route: tuple[str, ...]) -> Link | None:
    """The first link of ``route`` that spans a whole satellite pass
    (``min_elevation_deg``), whose numbers are per time step of the pass; None if none.
    A sweep or draws of the scenario cannot broadcast over it."""
    for a, b in zip(route, route[1:], strict=False):
        link = scenario.link_between(a, b)
        if link is not None and link.min_elevation_deg is not None:
            return link
    return None


#: The links joining each pair of nodes, per scenario, in the order given (built once:
#: looking up every hop of a 10⁴-hop route by scanning every link took minutes).
_PARALLEL: WeakKeyDictionary[Scenario, dict[frozenset[str], list[Link]]] = WeakKeyDictionary()
#: The links tuple of the table built last, and that table.
_LAST_TABLE: list[Any] = []


def links_joining(scenario: Scenario, a: str, b: str) -> list[Link]:
    """Every link joining ``a`` and ``b`` directly, in the order given (O(1) per call)."""
    table = _PARALLEL.get(scenario)
    if table is None:
        if _LAST_TABLE and _LAST_TABLE[0] is scenario.links:
            table = _LAST_TABLE[1]  # a scenario with the same links (a lever moved a node)
        else:
            table = {}
            for link in scenario.links:
                table.setdefault(frozenset(link.ends), []).append(link)
            _LAST_TABLE[:] = [scenario.links, table]
        _PARALLEL[scenario] = table
    return table.get(frozenset((a, b)), [])


def best_link(scenario: Scenario, a: str, b: str) -> Link:
    """The lowest-loss link joining ``a`` and ``b`` (several parallel links are allowed)."""
    candidates = links_joining(scenario, a, b)
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise ScenarioError(
            f"no link joins {a!r} and {b!r}; the route needs one", file=scenario.file
        )
    return min(candidates, key=lambda link: _weight_db(link, scenario))


def hop_budgets(scenario: Scenario, route: Sequence[str]) -> tuple[LinkBudget, ...]:
    """The budget of every hop along ``route``, each sent by :func:`hop_sender`."""
    return tuple(
        cached_budget(
            best_link(scenario, a, b), scenario, sender=hop_sender(scenario, a, b), over_pass=True
        )
        for a, b in zip(route, route[1:], strict=False)
    )
