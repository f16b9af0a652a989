"""The `gros` command: a thin layer over the library (`gros.cli.main`)."""
from gros.cli.main import main

__all__ = ["main"]
