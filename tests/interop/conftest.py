"""Interop tests run real MLflow in its own venv through ``bench.mlflow_env``.

``bench`` lives at the repository root; make it importable whatever the pytest
import mode or working directory.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
