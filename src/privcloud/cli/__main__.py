"""``python -m privcloud.cli``."""

import sys

from privcloud.cli import main

sys.exit(main())
