"""``python -m simran`` = the ``simran`` command."""

import sys

from simran.cli import main

sys.exit(main())
