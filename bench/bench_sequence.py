"""Compare qcalc's repeater waiting times with the SeQUeNCe discrete-event simulator.

Run with the interpreter of a separate venv that has SeQUeNCe (PyPI ``sequence``) *and*
can import qcalc (the script puts the repository root on ``sys.path``):

    python -m venv /work/helpers/seqvenv
    /work/helpers/seqvenv/bin/pip install sequence==0.8.5
    /work/helpers/seqvenv/bin/python bench/bench_sequence.py

Not collected by pytest (file name ``bench_*.py``). Exits 0 with a message when
``sequence`` is not importable.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SEGMENT_KM = 20.0  # length of each elementary link (midpoint BSM at 10 km)
ATTENUATION_DB_PER_M = 0.0002  # 0.2 dB/km, SeQUeNCe takes dB per metre
SIM_TIME_S = 2.0  # simulated time per run
LINK_FIDELITY = 0.9  # initial fidelity of SeQUeNCe memories (its Barrett–Kok model)
SWAP_SUCCESS = 1.0  # SeQUeNCe default EntanglementSwappingA success probability
PS_PER_S = 10**12


def _config(routers: int) -> dict[str, object]:
    """RouterNetTopo configuration of a linear chain of ``routers`` routers."""
    names = [f"r{i}" for i in range(routers)]
    nodes = [
        {"name": n, "type": "QuantumRouter", "seed": i, "memo_size": 2, "template": "memo"}
        for i, n in enumerate(names)
    ]
    qconnections = [
        {
            "node1": a,
            "node2": b,
            "attenuation": ATTENUATION_DB_PER_M,
            "distance": SEGMENT_KM * 1000,
            "type": "meet_in_the_middle",
        }
        for a, b in zip(names, names[1:], strict=False)
    ]
    delay_ps = int(SEGMENT_KM * 1000 / 2e8 * PS_PER_S)
    cconnections = [
        {"node1": a, "node2": b, "delay": delay_ps * abs(i - j)}
        for i, a in enumerate(names)
        for j, b in enumerate(names)
        if i < j
    ]
    return {
        "templates": {"memo": {"MemoryArray": {"fidelity": LINK_FIDELITY, "efficiency": 1.0}}},
        "nodes": nodes,
        "qconnections": qconnections,
        "cconnections": cconnections,
        "stop_time": int(SIM_TIME_S * PS_PER_S) + 10**9,
    }


def run_sequence(routers: int, seed: int = 0) -> tuple[float, float, float]:
    """Rate [Hz], mean delivered fidelity and wall time [s] of one SeQUeNCe run."""
    from sequence.app.request_app import RequestApp
    from sequence.topology.router_net_topo import RouterNetTopo

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(_config(routers), fh)
        path = fh.name
    start = time.perf_counter()
    topo = RouterNetTopo(path)
    timeline = topo.get_timeline()
    timeline.show_progress = False
    routers_by_name = {r.name: r for r in topo.get_nodes_by_type(RouterNetTopo.QUANTUM_ROUTER)}
    for i, router in enumerate(routers_by_name.values()):
        router.set_seed(seed * 100 + i)
    fidelities: list[float] = []

    class _App(RequestApp):
        def get_memory(self, info):  # type: ignore[no-untyped-def]
            if info.state == "ENTANGLED" and info.remote_node == self.responder:
                fidelities.append(float(info.fidelity))
            super().get_memory(info)

    app = _App(routers_by_name["r0"])
    for name, router in routers_by_name.items():
        if name != "r0":
            RequestApp(router)
    app.start(f"r{routers - 1}", 10**9, int(SIM_TIME_S * PS_PER_S), 1, 0.5)
    timeline.init()
    timeline.run()
    wall = time.perf_counter() - start
    rate = app.get_throughput()
    mean_f = sum(fidelities) / len(fidelities) if fidelities else float("nan")
    return rate, mean_f, wall


def main() -> int:
    try:
        import sequence  # noqa: F401
    except ImportError as exc:
        print(f"SKIP: SeQUeNCe is not importable ({exc}); install it in a separate venv.")
        return 0
    import numpy as np

    from qcalc.protocols import repeater

    rate_1, fid_1, wall_1 = run_sequence(2)
    rate_2, fid_2, wall_2 = run_sequence(3)
    # qcalc: one segment waits 1/p attempts, two segments K2(p) attempts of the same τ,
    # so rate_2/rate_1 = 1/(p·K2) = a(2 − p)/(3 − 2p), between 2/3 (p → 0) and 1 (p = 1).
    start = time.perf_counter()
    p_grid = np.array([1e-3, 0.05, 0.2, 0.5])
    ratio = 1.0 / (p_grid * repeater.two_segment_waiting_time(p_grid, SWAP_SUCCESS))
    ours_wall = time.perf_counter() - start
    werner = (4 * fid_1 - 1) / 3
    predicted_fid = 0.25 + 0.75 * werner**2
    print(f"one link:    SeQUeNCe {rate_1:.1f} Hz, F = {fid_1:.4f}, wall {wall_1:.2f} s")
    print(f"two links:   SeQUeNCe {rate_2:.1f} Hz, F = {fid_2:.4f}, wall {wall_2:.2f} s")
    print(f"ratio rate_2/rate_1: SeQUeNCe {rate_2 / rate_1:.3f}")
    for p, r in zip(p_grid, ratio, strict=True):
        print(f"  qcalc 1/(p K2) at p = {p:g}: {r:.3f}")
    print(f"two-link fidelity, qcalc Werner swap of F1: {predicted_fid:.4f}")
    print(
        f"  SeQUeNCe swap model 0.95·F1·F2 (EntanglementSwappingA degradation): {0.95 * fid_1**2:.4f}"
    )
    print(f"qcalc call wall time: {ours_wall * 1e6:.0f} µs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
