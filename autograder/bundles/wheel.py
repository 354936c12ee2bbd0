"""Pack files of the installed kit into a wheel (PEP 427), with no build tool.

The bundles ship the kit as wheels built from the kit that runs, editable or installed
alike: the whole kit for Gradescope, its student side for the student bundle.
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath

from autograder.distribution import Distribution

# Fixed timestamps: the same files make the same wheel, byte for byte.
_EPOCH = (2020, 1, 1, 0, 0, 0)


def package_files(
    package: Path, keep: Callable[[PurePosixPath], bool] = lambda _: True
) -> dict[str, Path]:
    """The .py and .toml files below `package` (a folder), keyed by their path in the wheel
    (e.g. 'autograder/rubric.py'), `keep` deciding on each path relative to `package`."""
    found: dict[str, Path] = {}
    for path in sorted(package.rglob("*")):
        relative = PurePosixPath(path.relative_to(package).as_posix())
        source = path.suffix in {".py", ".toml"} and "__pycache__" not in relative.parts
        if source and keep(relative):
            found[f"{package.name}/{relative}"] = path
    return found


def _metadata(dist: Distribution, summary: str) -> str:
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {dist.name}",
        f"Version: {dist.version}",
        f"Summary: {summary}",
        f"Requires-Python: {dist.requires_python}",
        *(f"Requires-Dist: {requirement}" for requirement in dist.requires),
    ]
    return "\n".join(lines) + "\n"


def _record_line(path: str, content: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(content)}"


def write_wheel(
    dist: Distribution,
    summary: str,
    files: Mapping[str, Path],
    folder: Path,
) -> Path:
    """Write folder/NAME-VERSION-py3-none-any.whl holding `files` and the kit's entry points
    (the optim-grader command, the pytest plugin); return its path."""
    info = f"{dist.name.replace('-', '_')}-{dist.version}.dist-info"
    contents = {path: source.read_bytes() for path, source in files.items()}
    contents[f"{info}/METADATA"] = _metadata(dist, summary).encode()
    contents[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: optim-grader\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    groups = sorted({group for group, _, _ in dist.entry_points})
    contents[f"{info}/entry_points.txt"] = "\n".join(
        f"[{group}]\n" + "".join(f"{n} = {v}\n" for g, n, v in dist.entry_points if g == group)
        for group in groups
    ).encode()
    record = [_record_line(path, content) for path, content in contents.items()]
    contents[f"{info}/RECORD"] = ("\n".join([*record, f"{info}/RECORD,,"]) + "\n").encode()
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / dist.wheel_name
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, content in contents.items():
            entry = zipfile.ZipInfo(path, _EPOCH)
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, content)
    return wheel
