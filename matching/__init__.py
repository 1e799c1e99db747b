"""TechMatch library: the domain store, import/export and (later) matching of needs and results."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
