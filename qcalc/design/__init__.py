"""Designing a network: where to put repeaters and trusted nodes (:mod:`qcalc.design.plan`)
and how demands share the links and nodes they cross (:mod:`qcalc.design.capacity`).

Both read the fibre graph of a scenario (:mod:`qcalc.design.graph`) and judge every
route with qcalc's own evaluation chain (:func:`qcalc.demands.evaluate_demand`): no
model is re-derived here.
"""
