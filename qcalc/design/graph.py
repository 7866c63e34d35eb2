"""The fibre graph of a scenario and its k lowest-loss routes (Yen's algorithm).

Edges are weighted by the channel loss qcalc routes by (:mod:`qcalc.network`: a link's
channel loss in dB, receivers' detectors excluded), so the first route between two nodes
is the one ``qcalc stage`` takes. Where several links join two nodes, the lowest-loss one
stands for the pair, as :func:`qcalc.network.best_link` picks it.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable

from qcalc.network import link_weights_db
from qcalc.records import record
from qcalc.scenario import Link, Scenario


@record(frozen=True)
class Edge:
    """The link a route takes between two neighbouring nodes, and its routing weight."""

    link: Link
    #: Channel loss of the link, the routing weight. [dB]
    weight_db: float


class Graph:
    """Nodes and links of a scenario as an undirected weighted graph.

    Parameters
    ----------
    scenario : Scenario
        Every node is a vertex; every link an edge weighted by its channel loss [dB].
    """

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.adjacent: dict[str, dict[str, Edge]] = {name: {} for name in scenario.nodes}
        for link, weight in zip(scenario.links, link_weights_db(scenario), strict=True):
            a, b = link.ends
            if a == b:
                continue
            edge = Edge(link, weight)
            known = self.adjacent[a].get(b)
            if known is None or edge.weight_db < known.weight_db:
                self.adjacent[a][b] = edge
                self.adjacent[b][a] = edge

    def edge(self, a: str, b: str) -> Edge:
        """The edge joining neighbours ``a`` and ``b``."""
        return self.adjacent[a][b]

    def links(self, path: Iterable[str]) -> tuple[Link, ...]:
        """The links along a path of neighbouring nodes."""
        nodes = list(path)
        return tuple(self.adjacent[a][b].link for a, b in zip(nodes, nodes[1:], strict=False))

    def loss_db(self, path: Iterable[str]) -> float:
        """Channel loss along a path: the sum of its edges' weights. [dB]"""
        nodes = list(path)
        return sum(self.adjacent[a][b].weight_db for a, b in zip(nodes, nodes[1:], strict=False))

    def distances(self, goal: str) -> dict[str, float]:
        """Loss of the lowest-loss path from every node to ``goal`` (Dijkstra). [dB]"""
        best = {goal: 0.0}
        queue = [(0.0, goal)]
        while queue:
            dist, node = heapq.heappop(queue)
            if dist > best[node]:
                continue
            for other, edge in self.adjacent[node].items():
                new = dist + edge.weight_db
                if new < best.get(other, math.inf):
                    best[other] = new
                    heapq.heappush(queue, (new, other))
        return best

    def shortest(
        self,
        start: str,
        goal: str,
        banned_nodes: frozenset[str] | set[str] = frozenset(),
        banned_edges: frozenset[tuple[str, str]] | set[tuple[str, str]] = frozenset(),
        to_goal: dict[str, float] | None = None,
    ) -> tuple[float, tuple[str, ...]] | None:
        """The lowest-loss path from ``start`` to ``goal`` avoiding the banned nodes and
        edges (each edge banned as both (a, b) and (b, a)); None when none exists.

        Dijkstra (Numer. Math. 1, 269 (1959)) with a heap; with ``to_goal`` (the losses to
        the goal in the whole graph, a lower bound wherever nodes or edges are banned) it is
        A* (Hart, Nilsson, Raphael, IEEE Trans. SSC 4, 100 (1968)): the same path, found
        after fewer nodes.

        Returns
        -------
        tuple of (float, tuple of str) or None
            Total loss [dB] and the nodes of the path, ``start`` first.
        """
        if start in banned_nodes or goal in banned_nodes:
            return None
        if to_goal is not None and start not in to_goal:
            return None
        h = to_goal.get if to_goal is not None else (lambda _node, _default=0.0: 0.0)
        best = {start: 0.0}
        previous: dict[str, str] = {}
        queue = [(h(start, 0.0), 0.0, start)]
        done: set[str] = set()
        while queue:
            _, dist, node = heapq.heappop(queue)
            if node in done:
                continue
            if node == goal:
                path = [goal]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return dist, tuple(reversed(path))
            done.add(node)
            for other, edge in self.adjacent[node].items():
                if other in done or other in banned_nodes or (node, other) in banned_edges:
                    continue
                new = dist + edge.weight_db
                if new < best.get(other, math.inf):
                    best[other] = new
                    previous[other] = node
                    heapq.heappush(queue, (new + h(other, math.inf), new, other))
        return None

    def k_shortest(self, start: str, goal: str, k: int) -> list[tuple[float, tuple[str, ...]]]:
        """The ``k`` lowest-loss simple paths from ``start`` to ``goal``, best first.

        Yen's algorithm: each next path leaves a known one at a spur node and reaches the
        goal by the lowest-loss way that avoids the root's nodes and the edges known paths
        take from that root.

        References
        ----------
        .. [1] J. Y. Yen, "Finding the k shortest loopless paths in a network",
           Management Science 17, 712 (1971).
        """
        to_goal = self.distances(goal)
        first = self.shortest(start, goal, to_goal=to_goal)
        if first is None or k < 1:
            return []
        found = [first]
        pending: list[tuple[float, tuple[str, ...]]] = []
        seen = {first[1]}
        while len(found) < k:
            _, last = found[-1]
            for i in range(len(last) - 1):
                root = last[: i + 1]
                banned_edges = set()
                for _, path in found:
                    if len(path) > i + 1 and path[: i + 1] == root:
                        banned_edges |= {(path[i], path[i + 1]), (path[i + 1], path[i])}
                spur = self.shortest(root[-1], goal, set(root[:-1]), banned_edges, to_goal)
                if spur is None:
                    continue
                path = root[:-1] + spur[1]
                if path not in seen:
                    seen.add(path)
                    heapq.heappush(pending, (self.loss_db(path), path))
            if not pending:
                break
            found.append(heapq.heappop(pending))
        return found

    def simple_paths(self, start: str, goal: str, most: int) -> list[tuple[str, ...]]:
        """Every simple path from ``start`` to ``goal`` (depth first), up to ``most`` of
        them: the exhaustive reference on small graphs."""
        out: list[tuple[str, ...]] = []
        stack: list[tuple[str, tuple[str, ...]]] = [(start, (start,))]
        while stack and len(out) < most:
            node, path = stack.pop()
            if node == goal:
                out.append(path)
                continue
            for other in sorted(self.adjacent[node], reverse=True):
                if other not in path:
                    stack.append((other, (*path, other)))
        return out
