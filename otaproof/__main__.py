"""``python -m otaproof``."""

import sys

from otaproof.cli import main

sys.exit(main())
