"""Build the standalone app, install the .deb into a temporary root and run it from there.

The build runs once per session (``python packaging/build.py --out TMP``, a few minutes), or
is reused from ``NNSTUDIO_DIST=dist`` when that build is newer than every source file.
The installed app runs with a clean environment (no venv on PATH, no PYTHONPATH, a temporary
HOME) from a folder outside the checkout: what a user without Python gets.
Sizes are checked against the goals; times are printed (``pytest -s``), never asserted.
"""

from __future__ import annotations

import configparser
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from nnstudio import __version__

REPO = Path(__file__).resolve().parents[2]
MB = 2**20
GOAL_DEB_MB, GOAL_UNPACKED_MB, GOAL_START_S = 80, 250, 3.0

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="builds a Linux .deb"),
    pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb"),
    pytest.mark.timeout(1800),
]


@dataclass
class Build:
    dist: Path
    app: Path
    tarball: Path
    deb: Path
    log: str


@dataclass
class Installed:
    root: Path  # the temporary root the .deb was unpacked into
    exe: Path  # root/usr/bin/nnstudio
    home: Path
    env: dict[str, str]

    def run(self, *args: str, timeout: float = 300, exe: Path | None = None):
        return subprocess.run(
            [str(exe or self.exe), *args], cwd=self.home, env=self.env, timeout=timeout,
            capture_output=True, text=True,
        )


def _artifacts(dist: Path) -> Build:
    return Build(dist, dist / "nnstudio", dist / f"nnstudio-{__version__}-linux-x86_64.tar.gz",
                 dist / f"nnstudio_{__version__}_amd64.deb", "")


def _newest_source() -> tuple[float, Path]:
    files = [p for d in ("nnstudio", "resources", "packaging") for p in (REPO / d).rglob("*")
             if p.is_file() and "__pycache__" not in p.parts]
    newest = max(files, key=lambda p: p.stat().st_mtime)
    return newest.stat().st_mtime, newest


@pytest.fixture(scope="session")
def build(tmp_path_factory) -> Build:
    reuse = os.environ.get("NNSTUDIO_DIST")
    if reuse:
        b = _artifacts(Path(reuse).resolve())
        if not (b.deb.is_file() and b.tarball.is_file() and b.app.is_dir()):
            pytest.fail(f"NNSTUDIO_DIST={reuse} holds no nnstudio {__version__} build")
        mtime, newest = _newest_source()
        if b.deb.stat().st_mtime < mtime:
            pytest.fail(f"NNSTUDIO_DIST={reuse} is older than {newest.relative_to(REPO)}: "
                        "rebuild (python packaging/build.py) or unset NNSTUDIO_DIST")
        return b
    if shutil.which("objdump") is None:
        pytest.fail("PyInstaller needs objdump: apt-get install binutils")
    tmp = tmp_path_factory.mktemp("build")
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(REPO / "packaging" / "build.py"), "--out", str(tmp / "dist"),
         "--work", str(tmp / "work")],
        cwd=REPO, capture_output=True, text=True, timeout=1500,
    )
    if proc.returncode != 0:
        pytest.fail(f"build failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n"
                    f"{proc.stderr[-4000:]}")
    print(f"\n[packaging] build {time.monotonic() - t0:.0f} s\n{proc.stdout.strip()}")
    b = _artifacts(tmp / "dist")
    b.log = proc.stdout
    return b


def _clean_env(home: Path) -> dict[str, str]:
    """What a desktop session would give the app: no Python, no venv, no repo on the path."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
           "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(home / ".config"),
           "XDG_DATA_HOME": str(home / ".local/share"), "XDG_CACHE_HOME": str(home / ".cache"),
           "XDG_RUNTIME_DIR": str(home / "run")}
    (home / "run").mkdir(mode=0o700, exist_ok=True)
    return env


@pytest.fixture(scope="session")
def installed(build, tmp_path_factory) -> Installed:
    root = tmp_path_factory.mktemp("root")
    subprocess.run(["dpkg-deb", "-x", str(build.deb), str(root)], check=True)
    home = tmp_path_factory.mktemp("home")
    return Installed(root, root / "usr" / "bin" / "nnstudio", home, _clean_env(home))


def _tree_size(path: Path) -> int:
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _check(name: str, value: float, goal: float, unit: str) -> str:
    verdict = "ok" if value <= goal else "OVER GOAL"
    return f"[packaging] {name:<22} {value:8.2f} {unit}  (goal <= {goal} {unit}: {verdict})"


# --- the package ---------------------------------------------------------------------------------

def test_sizes_meet_goals(build, installed):
    deb_mb = build.deb.stat().st_size / MB
    tar_mb = build.tarball.stat().st_size / MB
    app_mb = _tree_size(installed.root / "usr" / "lib" / "nnstudio") / MB
    print()
    print(_check(".deb", deb_mb, GOAL_DEB_MB, "MB"))
    print(_check("unpacked app", app_mb, GOAL_UNPACKED_MB, "MB"))
    print(f"[packaging] {'tar.gz':<22} {tar_mb:8.2f} MB")
    assert deb_mb <= GOAL_DEB_MB
    assert app_mb <= GOAL_UNPACKED_MB


def test_deb_metadata_and_desktop_integration(build, installed):
    fields = {}
    for key in ("Package", "Version", "Architecture", "Depends", "Recommends"):
        out = subprocess.run(["dpkg-deb", "-f", str(build.deb), key], capture_output=True,
                             text=True, check=True).stdout.strip()
        fields[key] = out
    assert fields["Package"] == "nnstudio"
    assert fields["Version"] == __version__
    assert fields["Architecture"] == "amd64"
    depends = {alt.split()[0] for d in fields["Depends"].split(",") for alt in d.split("|")}
    for lib in ("libc6", "libgl1", "libegl1", "libfontconfig1", "libfreetype6", "libxkbcommon0",
                "libxkbcommon-x11-0", "libdbus-1-3", "libxcb1", "libxcb-cursor0",
                "libxcb-icccm4", "libxcb-keysyms1", "libx11-6", "libstdc++6"):
        assert lib in depends, f"{lib} missing from Depends: {fields['Depends']}"

    usr = installed.root / "usr"
    assert os.access(installed.exe, os.X_OK)
    desktop = configparser.ConfigParser(interpolation=None)
    desktop.optionxform = str
    desktop.read(usr / "share" / "applications" / "nnstudio.desktop", encoding="utf-8")
    entry = desktop["Desktop Entry"]
    assert entry["Type"] == "Application"
    assert entry["Exec"].split()[0] == "nnstudio"
    assert entry["Icon"] == "nnstudio"
    for icon in ("scalable/apps/nnstudio.svg", "256x256/apps/nnstudio.png"):
        assert (usr / "share" / "icons" / "hicolor" / icon).is_file()
    # No symlink may point out of the package (the app is relocatable).
    for p in installed.root.rglob("*"):
        if p.is_symlink():
            assert installed.root in p.resolve().parents, f"{p} -> {os.readlink(p)}"


def test_deb_dependencies_resolve_with_apt(build):
    """Every Depends/Recommends names a real package of this system's release (simulated)."""
    lists = Path("/var/lib/apt/lists")
    if shutil.which("apt-get") is None or not any(lists.glob("*_Packages*")):
        pytest.skip("no apt package lists (apt-get update) to resolve the Depends against")
    r = subprocess.run(["apt-get", "install", "--simulate", "-q", str(build.deb)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    assert "Inst nnstudio" in r.stdout


def test_bundle_has_what_the_app_needs_and_nothing_unused(build):
    internal = build.app / "_internal"
    for res in ("examples/xor.nnsproj", "icons/nnstudio.svg", "style/app.qss"):
        assert (internal / "resources" / res).is_file(), res
    qt = internal / "PySide6" / "Qt"
    platforms = {p.name for p in (qt / "plugins" / "platforms").iterdir()}
    assert platforms == {"libqxcb.so", "libqoffscreen.so", "libqwayland.so"}
    assert (qt / "plugins" / "imageformats" / "libqsvg.so").is_file()
    assert (qt / "plugins" / "iconengines" / "libqsvgicon.so").is_file()
    for lib in ("libQt6OpenGL.so.6", "libQt6OpenGLWidgets.so.6", "libQt6Svg.so.6"):
        assert (qt / "lib" / lib).is_file(), lib
    assert not (qt / "translations").exists()
    names = {p.name for p in internal.rglob("*")}
    for unused in ("torch", "sklearn", "pandas", "onnxruntime", "tkinter", "_tkinter", "pytest",
                   "PyQt5", "PyQt6", "libQt6Quick.so.6", "libQt6Qml.so.6", "libQt6Network.so.6",
                   "libQt6Pdf.so.6", "tests", "benchmarks"):
        assert not any(n == unused or n.startswith(unused + ".") for n in names), unused


def test_python_modules_in_the_bundle(build):
    from PyInstaller.archive.readers import CArchiveReader

    modules = set(CArchiveReader(str(build.app / "nnstudio")).open_embedded_archive("PYZ.pyz").toc)
    for needed in ("nnstudio.gui.app", "nnstudio.cli.commands", "nnstudio.cli.selftest",
                   "pyqtgraph", "onnx", "numpy"):
        assert needed in modules, needed
    if importlib.util.find_spec("threadpoolctl"):  # the training worker pins BLAS threads
        assert "threadpoolctl" in modules
    top = {m.split(".")[0] for m in modules}
    for unused in ("torch", "sklearn", "scipy", "pandas", "onnxruntime", "matplotlib",
                   "tkinter", "pytest", "_pytest", "pytestqt", "PyInstaller", "setuptools",
                   "tests", "benchmarks", "PyQt5", "PyQt6"):
        assert unused not in top, unused


# --- the installed app ---------------------------------------------------------------------------

def test_installed_version_from_a_relocated_root(installed, tmp_path):
    r = installed.run("--version", timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"nnstudio {__version__}"
    # Through a symlink elsewhere on PATH, as /usr/local/bin/nnstudio -> ... would be.
    link = tmp_path / "nnstudio"
    link.symlink_to(installed.exe)
    r = installed.run("--version", timeout=60, exe=link)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"nnstudio {__version__}"


def test_installed_selftest(installed):
    r = installed.run("selftest")
    assert r.returncode == 0, f"{r.stdout}\n{r.stderr}"


def _bundled_example(installed, name: str) -> Path:
    path = installed.root / "usr/lib/nnstudio/_internal/resources/examples" / f"{name}.nnsproj"
    assert path.is_file(), path
    return path


def test_installed_train_and_export(installed):
    project = _bundled_example(installed, "xor")
    model = installed.home / "m.npz"
    r = installed.run("train", str(project), "--out", str(model), "--epochs", "2")
    assert r.returncode == 0, f"{r.stdout}\n{r.stderr}"
    with np.load(model, allow_pickle=False) as z:
        assert len(z.files) > 0
    r = installed.run("export", str(model), "--format", "onnx", "--out",
                      str(installed.home / "m.onnx"))
    assert r.returncode == 0, f"{r.stdout}\n{r.stderr}"
    assert (installed.home / "m.onnx").stat().st_size > 0
    # The NumPy export copies a module's source text: it must be in the bundle too.
    r = installed.run("export", str(model), "--format", "numpy", "--out",
                      str(installed.home / "standalone"))
    assert r.returncode == 0, f"{r.stdout}\n{r.stderr}"


def _start_gui(installed, *args: str) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    r = installed.run(*args, "--quit-after-shown", timeout=120)
    return time.perf_counter() - t0, r


def test_installed_gui_opens_and_closes(installed):
    seconds, r = _start_gui(installed, "--example", "xor")
    assert r.returncode == 0, f"{r.stdout}\n{r.stderr}"
    for bad in ("Traceback", "Could not load the Qt platform plugin"):
        assert bad not in r.stderr, r.stderr
    # Launch to visible main window: median of 5 runs (a warm file cache, like a 2nd start).
    times = []
    for _ in range(5):
        seconds, r = _start_gui(installed)
        assert r.returncode == 0, r.stderr
        times.append(seconds)
    median = statistics.median(times)
    print()
    print(_check("start-up (median of 5)", median, GOAL_START_S, "s"))
    print(f"[packaging] start-up runs: {', '.join(f'{t:.2f}' for t in times)} s")


def test_tarball_unpacks_and_runs(build, tmp_path):
    subprocess.run(["tar", "-xzf", str(build.tarball), "-C", str(tmp_path)], check=True)
    exe = tmp_path / "nnstudio" / "nnstudio"
    r = subprocess.run([str(exe), "--version"], cwd=tmp_path, env=_clean_env(tmp_path),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"nnstudio {__version__}"
