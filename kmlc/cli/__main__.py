"""`python -m kmlc.cli`: the `kmlc` command."""

import sys

from kmlc.cli import main

sys.exit(main())
