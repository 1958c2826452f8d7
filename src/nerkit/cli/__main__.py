"""``python -m nerkit.cli``: the ``nerkit`` command (also what ``torchrun -m nerkit.cli`` runs)."""

import sys

from nerkit.cli import main

sys.exit(main())
