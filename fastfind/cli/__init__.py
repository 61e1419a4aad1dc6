"""fastfind's command line: DCMTK findscu's options, log texts and exit codes over the API."""

from .main import main

__all__ = ["main"]
