"""Scratch Python environments for the platform tests: a wheel installed, not editable, into a
fresh venv that borrows this test environment's torch, numpy and friends (no network)."""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What the project's wheel is built from; the rest of the checkout stays out of the copy.
WHEEL_SOURCES = ("pyproject.toml", "README.md", "autograder", "reference")


@dataclass(frozen=True)
class ScratchEnv:
    """A venv with wheels installed; `run` calls its console scripts from a given folder."""

    prefix: Path

    @property
    def python(self) -> Path:
        return self.prefix / "bin" / "python"

    def script(self, name: str) -> Path:
        return self.prefix / "bin" / name

    def site_packages(self) -> Path:
        return next((self.prefix / "lib").glob("python3*/site-packages"))

    def run(
        self,
        *args: str | Path,
        cwd: Path,
        env: Mapping[str, str] | None = None,
        timeout: float = 300,
    ) -> subprocess.CompletedProcess[str]:
        """`args` run with this venv's bin/ first on PATH, as a user's shell would, with the
        variables in `env` added."""
        environ = {**os.environ, "PATH": f"{self.prefix / 'bin'}{os.pathsep}{os.environ['PATH']}"}
        environ.pop("PYTHONPATH", None)
        environ.update(env or {})
        return subprocess.run(
            [str(a) for a in args], cwd=cwd, env=environ, capture_output=True, text=True,
            timeout=timeout, check=False,
        )  # fmt: skip


def copy_checkout(names: tuple[str, ...], folder: Path) -> Path:
    """A copy of the checkout's top-level entries `names` in `folder`, caches left out."""
    folder.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in names:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, folder / name, ignore=ignore)
        else:
            shutil.copy2(ROOT / name, folder / name)
    return folder


def build_kit_wheel(out: Path) -> Path:
    """The project's wheel, built by pip from a copy of its sources (the checkout stays clean)."""
    source = copy_checkout(WHEEL_SOURCES, out / "source")
    wheels = out / "wheels"
    _pip("wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", wheels, source)
    (wheel,) = wheels.glob("optim_grader-*.whl")
    return wheel


def make_env(prefix: Path, *wheels: Path) -> ScratchEnv:
    """A new venv at `prefix` with `wheels` installed (no dependencies, no index); the test
    environment's packages come after its own on sys.path, through a .pth file."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", prefix], check=True)
    env = ScratchEnv(prefix)
    borrowed = "\n".join(p for p in site.getsitepackages() if "site-packages" in p)
    (env.site_packages() / "borrowed_from_tests.pth").write_text(borrowed + "\n")
    if wheels:
        _pip("--python", env.python, "install", "--no-deps", "--no-index", *wheels)
    return env


def _pip(*args: str | Path) -> None:
    command = [sys.executable, "-m", "pip", "--quiet", "--disable-pip-version-check", *args]
    result = subprocess.run(
        [str(a) for a in command], capture_output=True, text=True, timeout=300, check=False
    )
    if result.returncode != 0:
        raise AssertionError(f"pip {' '.join(map(str, args))} failed:\n{result.stderr}")
