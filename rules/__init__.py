"""The rule language: packs in YAML, expressions, the set-based engine.

Imports neither prefect nor fastapi: the CLI, the flows and the console all use it as a library.
"""
