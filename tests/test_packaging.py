"""The distribution installs exactly one top-level package, `lineage`, with everything in it.

server/, client/ and viewers/ are installed as lineage.server, lineage.client and
lineage.viewers through `[tool.setuptools] package-dir`; every package directory must be
listed in `packages` (setuptools does not discover them with an explicit list), or it is
silently left out of the wheel.
"""

from __future__ import annotations

import fnmatch
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# source folder -> installed package name
SOURCE_TREES = {
    "lineage": "lineage",
    "server": "lineage.server",
    "client": "lineage.client",
    "viewers": "lineage.viewers",
}
IGNORED_DIRS = {"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"}


def _pyproject() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


def _package_dirs() -> dict[str, Path]:
    """Installed package name -> source directory, for every dir with an __init__.py."""
    found: dict[str, Path] = {}
    for src, pkg in SOURCE_TREES.items():
        top = ROOT / src
        if not (top / "__init__.py").exists():
            continue
        for init in sorted(top.rglob("__init__.py")):
            d = init.parent
            rel = d.relative_to(top)
            if any(part in IGNORED_DIRS or part.endswith(".egg-info") for part in rel.parts):
                continue
            found[".".join([pkg, *rel.parts])] = d
    return found


def test_every_package_dir_is_listed_in_pyproject() -> None:
    tool = _pyproject()["tool"]["setuptools"]
    listed = set(tool["packages"])
    on_disk = _package_dirs()
    missing = sorted(set(on_disk) - listed)
    assert not missing, (
        f"package directories not in [tool.setuptools] packages of pyproject.toml "
        f"(they would not be installed): {missing}"
    )
    stale = sorted(listed - set(on_disk))
    assert not stale, (
        f"listed in [tool.setuptools] packages but no such dir with __init__.py: {stale}"
    )
    for src, pkg in SOURCE_TREES.items():
        assert tool["package-dir"].get(pkg) == src, f"package-dir must map {pkg!r} to {src!r}"


def _expected_files() -> set[str]:
    """Paths inside the wheel of every module and package-data file of the source trees."""
    patterns = [
        p
        for pats in _pyproject()["tool"]["setuptools"].get("package-data", {}).values()
        for p in pats
    ]
    expected: set[str] = set()
    for src, pkg in SOURCE_TREES.items():
        top = ROOT / src
        for f in top.rglob("*"):
            rel = f.relative_to(top)
            if not f.is_file() or any(
                part in IGNORED_DIRS or part.endswith(".egg-info") for part in rel.parts
            ):
                continue
            if f.suffix == ".py" or any(fnmatch.fnmatch(f.name, p) for p in patterns):
                expected.add("/".join([*pkg.split("."), *rel.parts]))
    return expected


def build_wheel(tmp_path: Path) -> Path:
    """This project's wheel, built from a clean copy of its sources (setuptools' build/
    dir in the work tree can hold stale files)."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "setup.py", "setup.cfg", "MANIFEST.in"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, src / name)
    ignore = shutil.ignore_patterns(*IGNORED_DIRS, "*.egg-info", "*.pyc")
    for tree in [*SOURCE_TREES, "proto"]:
        if (ROOT / tree).is_dir():
            shutil.copytree(ROOT / tree, src / tree, ignore=ignore)
    out = tmp_path / "dist"
    command = [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out)]
    proc = subprocess.run(
        [*command, str(src)], capture_output=True, text=True, timeout=600, check=False
    )
    assert proc.returncode == 0, (
        f"wheel build failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    )
    wheels = list(out.glob("lineage-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_wheel_has_only_top_level_lineage(tmp_path: Path) -> None:
    wheels = [build_wheel(tmp_path)]

    with zipfile.ZipFile(wheels[0]) as whl:
        names = whl.namelist()
        entry_points = next(
            (whl.read(n).decode() for n in names if n.endswith(".dist-info/entry_points.txt")), ""
        )
    top_level = {n.split("/", 1)[0] for n in names if ".dist-info/" not in n}
    assert top_level == {"lineage"}, f"wheel has top-level entries besides lineage/: {top_level}"

    for pkg in (
        "lineage/server/__init__.py",
        "lineage/client/__init__.py",
        "lineage/viewers/__init__.py",
    ):
        assert pkg in names

    missing = sorted(_expected_files() - set(names))
    assert not missing, (
        "files of the source trees missing from the wheel (is their folder a package listed in "
        f"[tool.setuptools] packages, and their suffix in package-data?): {missing}"
    )
    assert "lineage = lineage.cli:main" in entry_points


def test_lock_pins_every_dependency_of_pyproject() -> None:
    """requirements.lock is current: it pins a fitting version of every requirement."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pins: dict[str, str] = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[canonicalize_name(name.split("[", 1)[0])] = version.split(";", 1)[0].strip()

    project = _pyproject()["project"]
    reqs = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        reqs += extra
    problems = []
    for text in reqs:
        req = Requirement(text)
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        pinned = pins.get(canonicalize_name(req.name))
        if pinned is None:
            problems.append(f"{text}: not in requirements.lock")
        elif not req.specifier.contains(pinned, prereleases=True):
            problems.append(f"{text}: requirements.lock pins {pinned}")
    assert not problems, "requirements.lock is out of date, run scripts/lock.sh:\n" + "\n".join(
        problems
    )
