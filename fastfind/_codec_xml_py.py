"""Pure-Python twin of ``_codec_xml.pxi`` (placeholder: filled in by its branch)."""

from __future__ import annotations

__all__: list[str] = []
