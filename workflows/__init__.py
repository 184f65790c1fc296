"""Prefect flows: thin orchestration over the library packages. The only package that imports prefect."""
