"""Entry point of `python -m drills` (the `scripts/drills` command)."""

import sys

from drills.cli import main

sys.exit(main())
