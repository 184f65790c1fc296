"""The inspectors' console and JSON API (FastAPI)."""
