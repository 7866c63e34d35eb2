"""Finding satellite passes: qcalc's scan-and-refine against skyfield's find_events.

Run: python bench/bench_orbits.py [--days 30]

Both search the same Micius TLE over Xinglong for passes above 10° over the same window,
in the same run; the script prints each time, their ratio, and the largest rise/set
difference between the two (the validation of tests/test_orbits.py, at scale). It then
times the whole orbit evaluation of the bundled ground network (three stations, key of
every pass) against the pass search alone, to show where the time goes.

Goal: the pass search no slower than skyfield's (ratio ≤ 1), and a 30-day evaluation of
the bundled network within a few seconds on one core.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from pathlib import Path

MICIUS = (
    "1 41731U 16051A   21117.42314584  .00000696  00000-0  30260-4 0  9998",
    "2 41731  97.3499  30.8507 0012844 347.0485 124.2616 15.25507799261429",
)
START = datetime(2021, 4, 27, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=float, default=30.0)
    days = parser.parse_args().days

    from skyfield.api import EarthSatellite, load, wgs84

    from qcalc import orbits
    from qcalc.scenario import load_scenario

    station = orbits.Station("xinglong", 40.395867, 117.577458, 890.0)
    satellite = orbits.Satellite.from_tle("micius", *MICIUS)
    window = orbits.Window(START, days)
    orbits.find_passes(satellite, station, orbits.Window(START, 0.1), 10.0)  # warm imports

    t0 = time.perf_counter()
    ours = orbits.find_passes(satellite, station, window, 10.0)
    t_ours = time.perf_counter() - t0

    ts = load.timescale(builtin=True)
    sky = EarthSatellite(*MICIUS, "micius", ts)
    where = wgs84.latlon(station.latitude_deg, station.longitude_deg, elevation_m=890.0)
    t0 = time.perf_counter()
    times, events = sky.find_events(
        where, ts.from_datetime(START), ts.from_datetime(START) + days, altitude_degrees=10.0
    )
    t_sky = time.perf_counter() - t0

    rises = [
        (t.utc_datetime() - START).total_seconds()
        for t, e in zip(times, events, strict=True)
        if e == 0
    ]
    whole = [p for p in ours if not p.cut_at_start and not p.cut_at_end]
    worst = max((abs(p.rise_s - r) for p, r in zip(whole, rises, strict=False)), default=0.0)
    print(f"passes above 10° in {days:g} days: qcalc {len(whole)}, skyfield {len(rises)}")
    print(
        f"pass search: qcalc {t_ours:.3f} s, skyfield {t_sky:.3f} s, ratio {t_ours / t_sky:.2f} (goal ≤ 1)"
    )
    print(f"largest rise-time difference: {worst:.2f} s (goal ≤ 10 s)")

    scenario = load_scenario(
        str(Path(__file__).resolve().parent.parent / "scenarios" / "micius-tle-ground-network.yaml")
    )
    t0 = time.perf_counter()
    report = orbits.evaluate_orbits(scenario, window)
    t_all = time.perf_counter() - t0
    passes = sum(len(s.passes) for d in report.demands for s in d.stations)
    print(
        f"bundled network, {len(report.demands)} demands, {passes} station passes: "
        f"{t_all:.2f} s, {t_all / max(t_ours, 1e-9):.0f}× one station's pass search"
    )


if __name__ == "__main__":
    main()
