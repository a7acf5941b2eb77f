"""``python -m datom_engines``: the ``datom`` command line."""

import sys

from .cli import main

sys.exit(main())
