"""Map the top-level ``resources/`` folder into the package as ``nnstudio/_resources``.

Everything else about the build lives in ``pyproject.toml``; this file exists only because
pyproject's ``packages.find`` cannot add packages that live in a folder of another name.
In a checkout ``resources/`` stays where it is (the PyInstaller spec and other tools read it
there); in a wheel it is ``site-packages/nnstudio/_resources``, and
``nnstudio.resources.resource_root()`` finds it in both places.  Every folder below
``resources/`` is listed as a (data-only) package so that setuptools copies its files.
"""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).resolve().parent
RESOURCES = HERE / "resources"
DATA_PACKAGES = ["nnstudio._resources"] + sorted(
    "nnstudio._resources." + ".".join(d.relative_to(RESOURCES).parts)
    for d in RESOURCES.rglob("*")
    if d.is_dir() and "__pycache__" not in d.parts
)

setup(
    packages=[*find_packages(include=["nnstudio", "nnstudio.*"]), *DATA_PACKAGES],
    package_dir={"nnstudio._resources": "resources"},
    package_data={name: ["*"] for name in DATA_PACKAGES},
)
