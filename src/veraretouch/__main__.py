"""``python -m veraretouch`` is the ``veraretouch`` command (and lets ``torchrun -m veraretouch`` launch it)."""
import sys

from .cli import main

sys.exit(main())
