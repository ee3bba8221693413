"""``python -m pipseal``."""

from pipseal.cli.main import main

raise SystemExit(main())
