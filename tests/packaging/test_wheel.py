"""Build sdist and wheel with ``python -m build``, install the wheel into a fresh virtual
environment and run it from outside the checkout: what ``pip install nnstudio`` or
``pipx install nnstudio-*.whl`` gives a user.

The fresh environment gets nnstudio only from the wheel (``--no-deps --no-index``); its
third-party dependencies (PySide6, NumPy, onnx, ...) come from the test interpreter's
site-packages through a ``.pth`` line, so the test needs no network. That line adds a plain
folder, so an editable nnstudio installed there is not importable in the fresh venv (its
``.pth`` hooks are not processed): the test also checks that ``nnstudio`` is imported from
the fresh environment.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

from nnstudio import __version__

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    pytest.importorskip("build", reason="python -m build needs the 'build' package (test extra)")
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(REPO)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def fresh(dist, tmp_path_factory) -> tuple[Path, dict[str, str], Path]:
    root = tmp_path_factory.mktemp("venv")
    env_dir = root / "env"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    purelib = Path(subprocess.check_output(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        text=True).strip())
    home = root / "home"
    home.mkdir(mode=0o700)
    env = {"PATH": f"{env_dir / 'bin'}:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
           "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(home)}
    wheel = next(dist.glob("nnstudio-*.whl"))
    # A clean environment: with the checkout on PYTHONPATH pip would find its egg-info and
    # call nnstudio installed already.
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    str(wheel)], check=True, capture_output=True, timeout=300, cwd=home, env=env)
    # After the install: pip would otherwise see the test venv's nnstudio as installed.
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (purelib / "_nnstudio_test_deps.pth").write_text("\n".join(sorted(deps)) + "\n")
    return env_dir, env, home


def test_sdist_and_wheel_hold_the_resources(dist):
    wheel = next(dist.glob(f"nnstudio-{__version__}-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {p.relative_to(REPO / "resources").as_posix()
                for p in (REPO / "resources").rglob("*") if p.is_file()}
    assert expected, "resources/ is empty"
    missing = {e for e in expected if f"nnstudio/_resources/{e}" not in names}
    assert not missing, f"not in the wheel: {sorted(missing)}"
    assert not any(n.startswith("resources/") for n in names)
    # the files the PyTorch project export copies (a folder, not a package)
    for f in ("train.py", "data.py", "nnstudio_layers.py", "nnstudio_sequence.py"):
        assert f"nnstudio/core/io/export_pytorch/project_files/{f}" in names
    sdist = next(dist.glob(f"nnstudio-{__version__}.tar.gz"))
    with tarfile.open(sdist) as tar:
        members = tar.getnames()
    assert f"nnstudio-{__version__}/resources/style/app.qss" in members


def test_installed_wheel_runs_selftest_and_opens_an_example(fresh):
    env_dir, env, home = fresh
    where = subprocess.run(
        [str(env_dir / "bin" / "python"), "-c",
         "import nnstudio, nnstudio.resources as r; print(nnstudio.__file__);"
         "print(r.resource_path('style', 'app.qss').is_file());"
         "print(sorted(p.name for p in r.resource_path('examples').glob('*.nnsproj')))"],
        cwd=home, env=env, capture_output=True, text=True, timeout=60)
    assert where.returncode == 0, where.stderr
    module, qss, examples = where.stdout.strip().splitlines()
    assert Path(module).is_relative_to(env_dir), f"nnstudio imported from {module}"
    assert qss == "True"
    assert "house_price.nnsproj" in examples

    selftest = subprocess.run([str(env_dir / "bin" / "nnstudio"), "selftest"], cwd=home,
                              env=env, capture_output=True, text=True, timeout=300)
    assert selftest.returncode == 0, selftest.stdout + selftest.stderr
    assert "selftest passed" in selftest.stdout

    shot = home / "window.png"
    gui = subprocess.run(
        [str(env_dir / "bin" / "nnstudio"), "--example", "house_price", "--screenshot",
         str(shot), "--quit-after-shown"],
        cwd=home, env=env, capture_output=True, text=True, timeout=120)
    assert gui.returncode == 0, gui.stdout + gui.stderr
    assert shot.is_file() and shot.stat().st_size > 10_000
    assert "Traceback" not in gui.stderr
