"""``python -m servicekit <command> <service>``: run, migrate, rebuild-projections, dead-letters,
access-log."""
from servicekit.green import patch

patch()  # before anything opens a socket

import sys  # noqa: E402

from servicekit.cli import main  # noqa: E402

sys.exit(main())
