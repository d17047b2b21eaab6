"""Entry point of `python -m localregion`; see localregion.cli."""

import sys

from localregion.cli import main

sys.exit(main())
