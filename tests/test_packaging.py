"""What `pip install .` installs: every package folder of the source tree is a package pyproject.toml lists."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def listed_packages() -> tuple[set[str], dict[str, str]]:
    tomllib = pytest.importorskip("tomllib")
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    return set(setuptools["packages"]), setuptools["package-dir"]


def test_every_package_folder_is_installed():
    packages, folders = listed_packages()
    found = set()
    for name, folder in folders.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder)
            found.add(".".join([name, *relative.parts]))
    assert {"mnistconv.core", "mnistconv.gui", "mnistconv.gui.network_view"} <= found
    assert found == packages, "list every package folder in pyproject.toml's [tool.setuptools] packages"


def test_every_resource_file_is_installed():
    """The bundled model, icons, statistics and the real handwriting ship with the program."""
    import fnmatch

    tomllib = pytest.importorskip("tomllib")
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["package-data"]
    resources = ROOT / "resources"
    files = [p.relative_to(resources).as_posix() for p in resources.rglob("*")
             if p.is_file() and p.suffix != ".py" and "__pycache__" not in p.parts]
    assert "unipen/digits.npz" in files and "mnist_conv.pt" in files
    left_out = [f for f in files if not any(fnmatch.fnmatchcase(f, pattern) for pattern in patterns["mnistconv.resources"])]
    assert not left_out, f"add these to [tool.setuptools.package-data]: {left_out}"
