"""The kit's own distribution: its version and runtime requirements, read from its installed
metadata, whose one source is pyproject.toml (torch is pinned there and nowhere else)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata

KIT = "optim-grader"
STUDENT = "optim-grader-student"
# Where pip finds torch's CPU-only builds (the default build on Linux carries CUDA, gigabytes).
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
# What the kit's wheels declare: the optim-grader command, and the pytest plugin of `check`.
ENTRY_POINT_GROUPS = ("console_scripts", "pytest11")


@dataclass(frozen=True)
class Distribution:
    """What a wheel of the kit (or of its student side) declares about itself."""

    name: str
    version: str
    requires_python: str
    requires: tuple[str, ...]
    entry_points: tuple[tuple[str, str, str], ...] = ()  # (group, name, "module:attribute")

    @property
    def wheel_name(self) -> str:
        """The wheel's file name (PEP 427), e.g. optim_grader-0.1.0-py3-none-any.whl."""
        return f"{self.name.replace('-', '_')}-{self.version}-py3-none-any.whl"

    @property
    def torch(self) -> str:
        """The torch requirement, e.g. 'torch==2.13.0'."""
        return next(r for r in self.requires if r.startswith("torch"))


def kit(name: str = KIT) -> Distribution:
    """The installed kit's metadata under `name` (the student side shares everything but the
    name); a LookupError naming the fix when the kit runs without being installed."""
    try:
        found = metadata.metadata(KIT)
        requires = metadata.requires(KIT) or []
    except metadata.PackageNotFoundError:
        raise LookupError(
            f"{KIT} is not installed, so its version and requirements are unknown: "
            "install it (`pip install -e .` in the checkout, or its wheel)"
        ) from None
    return Distribution(
        name=name,
        version=found["Version"],
        requires_python=found["Requires-Python"] or ">=3.11",
        requires=tuple(r for r in requires if "extra ==" not in r),
        entry_points=tuple(
            (e.group, e.name, e.value)
            for e in metadata.distribution(KIT).entry_points
            if e.group in ENTRY_POINT_GROUPS
        ),
    )


def student() -> Distribution:
    """The student checker's distribution: the kit's version and runtime requirements."""
    return kit(STUDENT)
