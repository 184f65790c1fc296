"""Rich consoles for output (stdout) and diagnostics (stderr)."""

from rich.console import Console

out = Console()
err_console = Console(stderr=True)
