"""`python -m qcalc` runs the command line."""

from qcalc.cli import main

main()
