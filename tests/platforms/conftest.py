"""Built once per test session and shared by every xdist worker: the project's wheel and a
venv it is installed in."""

from pathlib import Path

import pytest
from filelock import FileLock

from tests.platforms.scratch_env import ScratchEnv, build_kit_wheel, make_env


@pytest.fixture(scope="session")
def shared(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    """A folder all the workers of this test session see (the session's own without xdist)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if hasattr(request.config, "workerinput") else base


@pytest.fixture(scope="session")
def kit_wheel(shared: Path) -> Path:
    """optim_grader-*.whl, built by pip from the project's sources."""
    with FileLock(shared / "kit-wheel.lock"):
        built = sorted((shared / "kit-wheel" / "wheels").glob("optim_grader-*.whl"))
        return built[0] if built else build_kit_wheel(shared / "kit-wheel")


@pytest.fixture(scope="session")
def installed_kit(shared: Path, kit_wheel: Path) -> ScratchEnv:
    """A scratch venv with the kit's wheel installed, not editable."""
    prefix = shared / "installed-kit"
    with FileLock(shared / "installed-kit.lock"):
        if (prefix / "bin" / "optim-grader").is_file():
            return ScratchEnv(prefix)
        return make_env(prefix, kit_wheel)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A working folder outside the checkout."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return folder
