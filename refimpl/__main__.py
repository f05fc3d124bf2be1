"""``python -m refimpl``: the walk-through of one PPMID and one HCALCS update."""

import sys

from refimpl.demo import main

sys.exit(main())
