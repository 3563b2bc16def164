"""``python -m ttnet`` runs the command-line interface (see :mod:`ttnet.cli`)."""

import sys

from .cli import main

sys.exit(main())
