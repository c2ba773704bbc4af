"""``python -m derive.cli`` is the ``derive`` command, as ``python -m derive`` is."""

from __future__ import annotations

import sys

from derive.cli import main

sys.exit(main())
