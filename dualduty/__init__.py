"""dualduty: 一岗双责 (one post, dual responsibilities) made machine-checkable.

This package is the application shell: settings, errors, the CLI. The domain lives in the
top-level packages the customer asked for: ``rules`` (the rule language and engine),
``evidence`` (sources and the evidence store), ``models`` (tables and the services that change
them), ``notifiers`` (delivery channels), ``workflows`` (Prefect flows) and ``console`` (web UI).
"""

__version__ = "0.1.0"
