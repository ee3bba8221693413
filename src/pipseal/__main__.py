"""``python -m pipseal``."""

from pipseal.cli.main import run

run()
