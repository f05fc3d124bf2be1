"""``python -m otaproof.refimpl``: the walk-through of one PPMID and one HCALCS update."""

import sys

from otaproof.refimpl.demo import main

sys.exit(main())
