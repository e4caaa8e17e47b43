"""Packages that export names without importing them until first use (PEP 562), so
that importing ``selfsim`` or one light module never loads PyTorch, FAISS or OpenCV."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, exports: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: name -> module it comes from."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(importlib.import_module(package), name, value)  # found directly next time
        return value

    def __dir__() -> list[str]:
        return sorted(exports)

    return __getattr__, __dir__
