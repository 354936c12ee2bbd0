"""Built once per test session and shared: the project's wheel and a venv it is installed in."""

from pathlib import Path

import pytest

from tests.platforms.scratch_env import ScratchEnv, build_kit_wheel, make_env


@pytest.fixture(scope="session")
def kit_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """optim_grader-*.whl, built by pip from the project's sources."""
    return build_kit_wheel(tmp_path_factory.mktemp("kit-wheel"))


@pytest.fixture(scope="session")
def installed_kit(tmp_path_factory: pytest.TempPathFactory, kit_wheel: Path) -> ScratchEnv:
    """A scratch venv with the kit's wheel installed, not editable."""
    return make_env(tmp_path_factory.mktemp("installed-kit") / "venv", kit_wheel)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A working folder outside the checkout."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return folder
