"""Entry point of `python -m wasm`."""

import sys

from wasm.cli import main

sys.exit(main())
