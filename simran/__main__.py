"""``python -m simran`` = the ``simran`` command."""

import sys

from simran.cli.main import main

sys.exit(main())
