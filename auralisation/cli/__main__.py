"""``python -m auralisation.cli``: the same as the ``auralisation`` command."""

import sys

from . import main

sys.exit(main())
