"""`python -m bachlstm ...` entry point."""

import sys

from bachlstm.cli import main

sys.exit(main())
