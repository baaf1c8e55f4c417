"""Tests for ``actors.logs``.

The development venv does not install the project, and the ``pytest`` script (unlike
``python -m pytest`` or tox, which installs it) does not put the repo root on ``sys.path``.
Until the project's pytest config sets ``pythonpath``, this makes ``import actors`` work.
"""

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
