"""Inside the worker: the import hook that keeps `reference` and `solutions` out of reach.

It runs inside the student's calls (every import asks it first), so the watch for delegation
looks through it (delegation.py).
"""

from __future__ import annotations

import importlib.abc
import types
from collections.abc import Sequence

FORBIDDEN = ("reference", "solutions")


class ForbiddenImports(importlib.abc.MetaPathFinder):
    """Makes `import reference` and `import solutions` fail, whatever sys.path holds."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: types.ModuleType | None = None,
    ) -> None:
        if fullname.partition(".")[0] in FORBIDDEN:
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
