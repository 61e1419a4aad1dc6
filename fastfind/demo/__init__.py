"""The bundled demo C-FIND SCP (``fastfind-demo-scp``, ``python -m fastfind.demo``)."""

from .server import main

__all__ = ["main"]
