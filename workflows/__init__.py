"""Inspections and escalations: a plain library pipeline, and thin Prefect flows over it.

``workflows.pipeline`` runs an inspection without Prefect; ``workflows.inspect`` and
``workflows.escalate`` are the Prefect flows; ``workflows.scheduler`` (APScheduler, one machine)
and ``workflows.deployments`` (Prefect server and workers) run them on schedules.
Only the flow modules import prefect, so the library path never pays its import.
"""

from __future__ import annotations

import os

# Prefect reads these when it starts its temporary server; set them before any flow module
# imports prefect. Offline machines: no telemetry (its thread also logs "database is locked"),
# and a fresh PREFECT_HOME needs far more than the default 20 s to start the temporary server.
PREFECT_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
}
for _name, _value in PREFECT_DEFAULTS.items():
    os.environ.setdefault(_name, _value)
