"""Tables of real satellite passes for people (``qcalc stage/rate --from … --days …``).

The presentation of :mod:`qcalc.orbits`: one table per demand through a satellite given
by a TLE (a row per station: passes found and used, key per pass P5/P50/P95, per day
with and without clouds, per year), and without a window, a table that says what the
figures above are. The JSON of the same evaluation is :func:`qcalc.orbits.orbit_dict`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qcalc.orbits import tle_satellites
from qcalc.physics.tle import tle_epoch
from qcalc.report import Table
from qcalc.units import fmt

if TYPE_CHECKING:
    from qcalc.orbits import DemandOrbit, OrbitReport, PairsInView, StationKey
    from qcalc.scenario import Scenario

#: Columns of a demand's passes table.
PASS_COLUMNS = [
    "station",
    "passes",
    "used",
    "key per pass P5/P50/P95",
    "per day (clear)",
    "per day",
    "per year",
]


def station_row(sk: StationKey) -> list[str]:
    """One station's passes and key, for people."""
    pct = sk.per_pass_percentiles
    return [
        sk.station.name,
        str(len(sk.passes)),
        str(sum(sk.used)),
        f"{fmt(pct['p5'], 'bit')} / {fmt(pct['p50'], 'bit')} / {fmt(pct['p95'], 'bit')}",
        fmt(sk.clear_sky_bits_per_day, "bit"),
        fmt(sk.key_bits_per_day, "bit"),
        fmt(sk.key_bits_per_year, "bit"),
    ]


def demand_footer(item: DemandOrbit) -> list[str]:
    """How a demand's key was counted (direct or stored-key relay), when its
    ``shared_key_bits`` are shared, and the evaluation's notes on it."""
    footer = []
    if item.model == "direct" and item.stations:
        sk = item.stations[0]
        footer.append(
            f"{sk.protocol or 'no protocol'}: {fmt(item.key_bits_per_day, 'bit')} per "
            "day expected (clouds included); the finite-key block is each whole pass"
        )
    elif item.model == "stored key" and item.relayed is not None:
        footer.append(
            f"stored-key relay through trusted {item.satellite}: the stations share "
            f"min of their keys, {fmt(item.key_bits_per_day, 'bit')} per day"
        )
    days = item.days_until_shared
    if item.demand.shared_key_bits is not None:
        size = fmt(item.demand.shared_key_bits, "bit")
        footer.append(
            f"{size} shared {days:.3g} days after the window's start"
            if days is not None
            else f"{size} are never shared: no pass delivers key"
        )
    footer.extend(item.notes)
    return footer


#: Columns of a demand's Bell pairs in common view.
PAIR_COLUMNS = [
    "stations",
    "views",
    "used",
    "pairs per view P5/P50/P95",
    "per day (clear)",
    "per day",
    "per year",
    "fidelity",
]


def pair_row(pairs: PairsInView) -> list[str]:
    """Pairs sent to two stations in common view, for people."""
    pct = pairs.per_pass_percentiles
    fidelity = pairs.fidelity
    return [
        f"{pairs.first.name} + {pairs.second.name}",
        str(len(pairs.passes)),
        str(sum(1 for p in pairs.passes if p.used)),
        f"{fmt(pct['p5'])} / {fmt(pct['p50'])} / {fmt(pct['p95'])}",
        fmt(pairs.clear_sky_pairs_per_day),
        fmt(pairs.pairs_per_day),
        fmt(pairs.pairs_per_year),
        "—" if fidelity is None else f"{fidelity:.4g}",
    ]


def demand_table(item: DemandOrbit, span: str) -> Table:
    """A demand's passes: a row per station for key, one row of pairs in common view."""
    title = f"passes of {item.satellite} for demand {item.demand.name} ({span})"
    if item.pairs is not None:
        footer = [
            f"Bell pairs from untrusted {item.satellite} to both stations at once: "
            f"{fmt(item.pairs.pairs_per_day)} pairs per day expected (both skies clear); "
            "fidelity weighted by pairs",
            *item.notes,
        ]
        return Table(title, list(PAIR_COLUMNS), [pair_row(item.pairs)], footer)
    return Table(
        title, list(PASS_COLUMNS), [station_row(sk) for sk in item.stations], demand_footer(item)
    )


def orbit_tables(report: OrbitReport) -> list[Table]:
    """Tables of an orbit evaluation for ``qcalc stage/rate`` (table and markdown)."""
    window = report.window
    span = f"{window.start:%Y-%m-%d %H:%M} UTC + {window.days:g} days"
    tables = [demand_table(item, span) for item in report.demands]
    if not tables:
        tables.append(
            Table(
                f"passes ({span})",
                ["demand"],
                footer=["no demand's route passes a satellite given by a TLE"],
            )
        )
    tables[-1].footer.extend(report.notes)
    return tables


def orbit_hint_tables(scenario: Scenario) -> list[Table]:
    """For a scenario with TLE satellites evaluated without ``--from``: what the figures
    above are (the circular orbit of the TLE's mean altitude) and how to get the passes."""
    lines = tle_satellites(scenario)
    if not lines:
        return []
    t = Table("satellites given by a TLE", ["satellite", "mean altitude", "TLE epoch (UTC)"])
    for name, (line1, _) in lines.items():
        altitude = scenario.nodes[name].altitude_km
        t.rows.append([name, fmt(altitude, "km"), f"{tle_epoch(line1):%Y-%m-%d %H:%M}"])
    t.footer.append(
        "the rates above are those of a circular orbit at the TLE's mean altitude over the "
        "links' max_elevation_deg pass; add --from DATE --days N for every real pass over "
        "each station, key per pass, per day and per year (docs/orbits.md)"
    )
    return [t]
