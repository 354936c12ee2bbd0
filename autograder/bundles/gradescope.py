"""`bundle gradescope NAME -o autograder.zip`: Gradescope's autograder for one assignment.

The zip holds, at its root, the kit's wheel (engine, reference, rubrics), `setup.sh`, which
installs it with its pinned CPU torch when Gradescope builds the image and locks the answer
key away, and `run_autograder`, which grades each submission into results/results.json
(autograder/platforms/gradescope.py does the work, and writes a no-point fallback whenever
grading fails).
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from string import Template
from tempfile import TemporaryDirectory

import autograder
import reference
from autograder.bundles.wheel import package_files, write_wheel
from autograder.distribution import TORCH_CPU_INDEX, kit
from autograder.errors import BundleError

VENV = "/opt/optim-grader"

SETUP = Template("""\
#!/usr/bin/env bash
# Gradescope runs this once, as root, in /autograder/source (the unpacked zip) when it builds
# the image: it installs optim-grader from the wheel beside it, with its pinned torch from the
# CPU-only index, into a venv at $venv, then locks the answer key (the reference, the rubrics,
# this folder) away from other users: student code runs as an unprivileged one.
# OPTIM_GRADER_PYTHON names a Python that already has the kit: the install is skipped.
set -euo pipefail
here=$$(cd "$$(dirname "$${BASH_SOURCE[0]}")" && pwd)
python=$${OPTIM_GRADER_PYTHON:-$venv/bin/python}
if "$$python" -c "import autograder" 2>/dev/null; then
    echo "optim-grader is already installed for $$python: nothing to install"
else
    base=$$(command -v python3.13 || command -v python3.12 || command -v python3.11 || true)
    if [ -z "$$base" ]; then
        apt-get update -q && apt-get install -y -q python3.11 python3.11-venv
        base=$$(command -v python3.11)
    fi
    if ! "$$base" -m venv "$venv"; then
        apt-get update -q && apt-get install -y -q "$$(basename "$$base")-venv"
        "$$base" -m venv --clear "$venv"
    fi
    python=$venv/bin/python
    "$$python" -m pip install -q --upgrade pip
    "$$python" -m pip install -q --extra-index-url $index "$$here/$wheel"
fi
"$$python" -P -m autograder.platforms.gradescope lock "$$here"
""")

RUN_AUTOGRADER = Template("""\
#!/usr/bin/env bash
# Gradescope runs this for each submission, as root: it grades $$GRADESCOPE_ROOT/submission
# (default root /autograder) on the assignment $assignment into
# $$GRADESCOPE_ROOT/results/results.json. If the kit itself cannot run, the submission still
# gets a valid results.json, with no point.
root=$${GRADESCOPE_ROOT:-/autograder}
python=$${OPTIM_GRADER_PYTHON:-$venv/bin/python}
export GRADESCOPE_ROOT=$$root
mkdir -p "$$root/results"
rm -rf "$$root/results/results.json"
"$$python" -P -m autograder.platforms.gradescope grade $assignment
if [ ! -f "$$root/results/results.json" ]; then
    echo "optim-grader could not run: wrote a fallback results.json (score 0)"
    printf '%s\\n' '$fallback' >"$$root/results/results.json"
fi
""")

# What run_autograder writes when the kit cannot even start (a broken install).
NO_KIT = (
    '{"score": 0.0, "output": "**Could not grade:** the autograder could not start. This '
    'submission scores 0 until it is graded again: ask your instructor to regrade it.", '
    '"output_format": "md", "stdout_visibility": "hidden", "tests": []}'
)


def write_kit_wheel(folder: Path) -> Path:
    """optim_grader-VERSION-py3-none-any.whl in `folder`: the whole kit, rubrics included."""
    try:
        dist = kit()
    except LookupError as error:
        raise BundleError(str(error)) from None
    files = {
        **package_files(Path(autograder.__file__).resolve().parent),
        **package_files(Path(reference.__file__).resolve().parent),
    }
    summary = "optim-grader: the grading kit, its reference and its rubrics"
    return write_wheel(dist, summary, files, folder)


def _add(archive: zipfile.ZipFile, name: str, content: bytes, mode: int) -> None:
    entry = zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0))
    entry.external_attr = mode << 16
    entry.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(entry, content)


def write_gradescope(assignment: str, out: Path) -> None:
    """The autograder zip of `assignment` at `out` (a .zip path; replaced if it exists)."""
    if out.suffix != ".zip":
        raise BundleError(f"{out}: Gradescope takes a .zip; name the output NAME.zip")
    with TemporaryDirectory() as scratch:
        wheel = write_kit_wheel(Path(scratch))
        scripts = {
            "setup.sh": SETUP.substitute(venv=VENV, index=TORCH_CPU_INDEX, wheel=wheel.name),
            "run_autograder": RUN_AUTOGRADER.substitute(
                assignment=assignment, venv=VENV, fallback=NO_KIT
            ),
        }
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out, "w") as archive:
            for name, script in scripts.items():
                _add(archive, name, script.encode(), 0o755)
            _add(archive, wheel.name, wheel.read_bytes(), 0o644)
