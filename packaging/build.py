"""Build the standalone nnstudio app and, on Linux, its .tar.gz and .deb.

    python packaging/build.py [--out DIR] [--work DIR] [--clean] [--skip-deb]

Steps: PyInstaller (packaging/nnstudio.spec) -> DIR/nnstudio/ (one folder; nnstudio.app too on
macOS); on Linux then DIR/nnstudio-<version>-linux-<arch>.tar.gz and
DIR/nnstudio_<version>_<debarch>.deb (dpkg-deb).  Windows and macOS installers are made from
the folder by packaging/windows/nnstudio.iss and packaging/macos/make_dmg.sh.
Needs PyInstaller (`pip install .[test]`) and, on Linux, binutils (objdump) and dpkg-deb.
SOURCE_DATE_EPOCH (default: the last commit's time) sets every timestamp in the archives.
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SPEC = HERE / "nnstudio.spec"
ICON_SVG = ROOT / "resources" / "icons" / "nnstudio.svg"
ICON_PNG = ROOT / "resources" / "icons" / "nnstudio.png"

# Measured on the pruned bundle (packaging/README.md): xz 42.7 MB in 63 s (190-225 s when the 2
# cores are busy: single-threaded); zstd -3 57.3 MB in 2 s; zstd -9 52.3 MB in 6 s; zstd -19
# 46.4 MB in 93 s.  zstd -9 meets the 80 MB goal with room to grow at a few seconds' cost; every
# dpkg that can run the app (glibc >= 2.35: Debian 12+, Ubuntu 22.04+) reads zstd.
DEB_COMPRESSION = os.environ.get("NNSTUDIO_DEB_COMPRESSION", "zstd -z9").split()

# Shared libraries the app takes from the target system (the spec leaves them out of the
# bundle), with the Debian package that provides each.  The .deb's Depends is computed from
# what the bundled binaries really link to; a library missing here stops the build.
# "a | a-t64": Debian 13 / Ubuntu 24.04 renamed some packages for 64-bit time_t.
SYSTEM_LIBS = {
    "libc6": "libc.so.6 libm.so.6 libmvec.so.1 libdl.so.2 libpthread.so.0 librt.so.1 libutil.so.1 "
             "ld-linux-x86-64.so.2 ld-linux-aarch64.so.1",
    "libstdc++6": "libstdc++.so.6",
    "libgcc-s1": "libgcc_s.so.1",
    "zlib1g": "libz.so.1",
    "libbz2-1.0": "libbz2.so.1.0",
    "liblzma5": "liblzma.so.5",
    "libzstd1": "libzstd.so.1",
    "libffi8": "libffi.so.8",
    "libexpat1": "libexpat.so.1",
    "libuuid1": "libuuid.so.1",
    "libmpdec3": "libmpdec.so.3",
    "libtinfo6": "libtinfo.so.6",
    "libncursesw6": "libncursesw.so.6",
    "libcrypt1": "libcrypt.so.1",
    "libgl1": "libGL.so.1",
    "libegl1": "libEGL.so.1",
    "libopengl0": "libOpenGL.so.0",
    "libglx0": "libGLX.so.0",
    "libfontconfig1": "libfontconfig.so.1",
    "libfreetype6": "libfreetype.so.6",
    "libglib2.0-0 | libglib2.0-0t64": "libglib-2.0.so.0 libgobject-2.0.so.0 libgio-2.0.so.0 "
                                      "libgthread-2.0.so.0 libgmodule-2.0.so.0",
    "libdbus-1-3": "libdbus-1.so.3",
    "libxkbcommon0": "libxkbcommon.so.0",
    "libxkbcommon-x11-0": "libxkbcommon-x11.so.0",
    "libx11-6": "libX11.so.6",
    "libx11-xcb1": "libX11-xcb.so.1",
    "libsm6": "libSM.so.6",
    "libice6": "libICE.so.6",
    "libxcb1": "libxcb.so.1",
    "libxcb-cursor0": "libxcb-cursor.so.0",
    "libxcb-glx0": "libxcb-glx.so.0",
    "libxcb-icccm4": "libxcb-icccm.so.4",
    "libxcb-image0": "libxcb-image.so.0",
    "libxcb-keysyms1": "libxcb-keysyms.so.1",
    "libxcb-randr0": "libxcb-randr.so.0",
    "libxcb-render-util0": "libxcb-render-util.so.0",
    "libxcb-render0": "libxcb-render.so.0",
    "libxcb-shape0": "libxcb-shape.so.0",
    "libxcb-shm0": "libxcb-shm.so.0",
    "libxcb-sync1": "libxcb-sync.so.1",
    "libxcb-util1": "libxcb-util.so.1",
    "libxcb-xfixes0": "libxcb-xfixes.so.0",
    "libxcb-xinerama0": "libxcb-xinerama.so.0",
    "libxcb-xinput0": "libxcb-xinput.so.0",
    "libxcb-xkb1": "libxcb-xkb.so.1",
    "libxcb-present0": "libxcb-present.so.0",
    "libxcb-dri3-0": "libxcb-dri3.so.0",
    # Wayland: only the optional wayland platform plugin uses these; without them Qt falls
    # back to xcb (XWayland), so they are Recommends, not Depends.
    "libwayland-client0": "libwayland-client.so.0",
    "libwayland-cursor0": "libwayland-cursor.so.0",
    "libwayland-egl1": "libwayland-egl.so.1",
}
RECOMMENDED = {"libwayland-client0", "libwayland-cursor0", "libwayland-egl1"}
# Always there for a desktop app: fonts (else every glyph is a box).
EXTRA_DEPENDS = ("fonts-dejavu-core | fonts-freefont-ttf | fonts-liberation2",)


def log(msg: str) -> None:
    print(f"==> {msg}", flush=True)


def mib(n: int) -> str:
    return f"{n / 2**20:.1f} MB"


def version() -> str:
    text = (ROOT / "nnstudio" / "__init__.py").read_text(encoding="utf-8")
    return re.search(r'^__version__\s*=\s*"([^"]+)"', text, re.M).group(1)


def source_date_epoch() -> int:
    """SOURCE_DATE_EPOCH, else the last commit's time, else now; exported for dpkg-deb."""
    value = os.environ.get("SOURCE_DATE_EPOCH")
    if not value:
        try:
            value = subprocess.run(
                ["git", "-C", str(ROOT), "log", "-1", "--format=%ct"],
                capture_output=True, text=True, check=True,
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            value = ""
    value = value or str(int(time.time()))
    os.environ["SOURCE_DATE_EPOCH"] = value
    return int(value)


def tree_size(path: Path) -> int:
    """Bytes in the files under ``path`` (symlinks not followed)."""
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def preflight(skip_deb: bool) -> None:
    """Stop early, with the fix, when a build tool is missing."""
    try:
        from PyInstaller.depend.bindepend import get_python_library_path
    except ImportError:
        raise SystemExit("PyInstaller is missing: pip install -e '.[test]'") from None
    if not sys.platform.startswith("linux"):
        return
    ver = f"{sys.version_info[0]}.{sys.version_info[1]}"
    missing = [] if get_python_library_path() else [f"libpython{ver}"]
    missing += [] if shutil.which("objdump") else ["binutils"]
    missing += [] if skip_deb or shutil.which("dpkg-deb") else ["dpkg"]
    if missing:
        raise SystemExit(f"missing build tools: apt-get install {' '.join(missing)}")


def run_pyinstaller(out: Path, work: Path, clean: bool) -> None:
    # PyInstaller writes base_library.zip in set order: fix the hash seed so that two builds
    # of one commit (same SOURCE_DATE_EPOCH, same tools) are identical byte for byte.
    env = dict(os.environ, PYTHONHASHSEED="0")
    icon = None
    if sys.platform == "win32":
        icon = work / "nnstudio.ico"
        subprocess.run([sys.executable, str(HERE / "icons.py"), "ico", str(icon)], check=True)
    elif sys.platform == "darwin":
        icon = work / "nnstudio.icns"
        subprocess.run([sys.executable, str(HERE / "icons.py"), "icns", str(icon)], check=True)
    if icon:
        env["NNSTUDIO_ICON"] = str(icon)
    cmd = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
           "--distpath", str(out), "--workpath", str(work / "pyinstaller"), str(SPEC)]
    if clean:
        cmd.insert(3, "--clean")
    subprocess.run(cmd, check=True, env=env, cwd=ROOT)


# --- Linux ------------------------------------------------------------------------------------

def deb_arch() -> tuple[str, str]:
    machine = platform.machine().lower()
    return machine, {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


def needed_libs(app: Path) -> dict[str, set[str]]:
    """{soname: {bundle files that link to it}} for the libraries not in the bundle itself."""
    elves = [p for p in app.rglob("*")
             if p.is_file() and not p.is_symlink() and p.open("rb").read(4) == b"\x7fELF"]
    bundled = {p.name for p in app.rglob("*")}

    def needed(path: Path) -> list[str]:
        out = subprocess.run(["objdump", "-p", str(path)], capture_output=True, text=True).stdout
        return re.findall(r"^\s+NEEDED\s+(\S+)", out, re.M)

    result: dict[str, set[str]] = {}
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for path, names in zip(elves, pool.map(needed, elves), strict=True):
            for name in names:
                if name not in bundled:
                    result.setdefault(name, set()).add(str(path.relative_to(app)))
    return result


def system_dependencies(app: Path) -> tuple[list[str], list[str]]:
    """(Depends, Recommends) for the .deb, from what the bundled binaries link to."""
    package_of = {so: pkg for pkg, sonames in SYSTEM_LIBS.items() for so in sonames.split()}
    needed = needed_libs(app)
    unknown = {so: sorted(users)[:3] for so, users in needed.items() if so not in package_of}
    if unknown:
        lines = "\n".join(f"  {so} (used by {', '.join(u)})" for so, u in sorted(unknown.items()))
        raise SystemExit(
            "The bundle links to system libraries with no Debian package in SYSTEM_LIBS "
            f"(packaging/build.py):\n{lines}\nAdd them (dpkg -S <file> tells the package)."
        )
    packages = {package_of[so] for so in needed}
    glibc = (os.confstr("CS_GNU_LIBC_VERSION") or "glibc 2.36").split()[-1]
    depends = (packages - RECOMMENDED - {"libc6"}) | set(EXTRA_DEPENDS) | {f"libc6 (>= {glibc})"}
    return sorted(depends), sorted(packages & RECOMMENDED)


def _tar_filter(epoch: int):
    def clamp(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        info.mtime = min(info.mtime, epoch)
        if not info.issym():
            info.mode = 0o755 if info.isdir() or info.mode & 0o111 else 0o644
        return info
    return clamp


def make_tarball(app: Path, dest: Path, epoch: int) -> None:
    """A reproducible .tar.gz of the app folder: sorted, root-owned, clamped times."""
    tmp = dest.with_suffix(".tmp")
    with open(tmp, "wb") as raw, gzip.GzipFile(
        filename="", mode="wb", fileobj=raw, mtime=epoch, compresslevel=6
    ) as gz, tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
        paths = sorted(app.rglob("*"), key=lambda p: p.relative_to(app).as_posix())
        add = _tar_filter(epoch)
        tar.add(app, arcname=app.name, recursive=False, filter=add)
        for p in paths:
            tar.add(p, arcname=f"{app.name}/{p.relative_to(app).as_posix()}",
                    recursive=False, filter=add)
    tmp.replace(dest)


def stage_deb(app: Path, stage: Path, ver: str, arch: str) -> None:
    """The installed tree: /usr/lib/nnstudio (the app), /usr/bin/nnstudio, menu entry, icons."""
    if stage.exists():
        shutil.rmtree(stage)
    linux = HERE / "linux"
    usr = stage / "usr"
    shutil.copytree(app, usr / "lib" / "nnstudio", symlinks=True)
    installs = {
        linux / "nnstudio": usr / "bin" / "nnstudio",
        linux / "nnstudio.desktop": usr / "share" / "applications" / "nnstudio.desktop",
        linux / "nnstudio-mime.xml": usr / "share" / "mime" / "packages" / "nnstudio.xml",
        linux / "copyright": usr / "share" / "doc" / "nnstudio" / "copyright",
        ICON_SVG: usr / "share" / "icons" / "hicolor" / "scalable" / "apps" / "nnstudio.svg",
        ICON_PNG: usr / "share" / "icons" / "hicolor" / "256x256" / "apps" / "nnstudio.png",
    }
    for src, dst in installs.items():
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
    (usr / "bin" / "nnstudio").chmod(0o755)
    # Normalise permissions (the checkout's umask must not leak into the package).
    for p in [stage, *stage.rglob("*")]:
        if p.is_symlink():
            continue
        mode = p.stat().st_mode
        p.chmod(0o755 if p.is_dir() or mode & 0o111 else 0o644)

    depends, recommends = system_dependencies(app)
    control = (linux / "control.in").read_text(encoding="utf-8")
    fields = {
        "VERSION": ver,
        "ARCH": arch,
        "INSTALLED_SIZE": str((tree_size(stage) + 1023) // 1024),
        "DEPENDS": ", ".join(depends),
        "RECOMMENDS": ", ".join(recommends),
    }
    control = re.sub(r"@(\w+)@", lambda m: fields[m.group(1)], control)
    control = "\n".join(line for line in control.splitlines() if not line.endswith(": ")) + "\n"
    (stage / "DEBIAN").mkdir(mode=0o755)
    (stage / "DEBIAN" / "control").write_text(control, encoding="utf-8")


def build_deb(stage: Path, dest: Path) -> None:
    tmp = dest.with_suffix(".tmp")
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", f"-Z{DEB_COMPRESSION[0]}", *DEB_COMPRESSION[1:],
         "--build", str(stage), str(tmp)],
        check=True, stdout=subprocess.DEVNULL,
    )
    tmp.replace(dest)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=ROOT / "dist", help="output folder (default: dist/)")
    p.add_argument("--work", type=Path, default=ROOT / "build",
                   help="scratch folder (default: build/)")
    p.add_argument("--clean", action="store_true",
                   help="remove earlier output and PyInstaller's cache first")
    p.add_argument("--skip-deb", action="store_true", help="Linux: do not build the .deb")
    args = p.parse_args(argv)
    out, work = args.out.resolve(), args.work.resolve()

    preflight(args.skip_deb)
    ver = version()
    epoch = source_date_epoch()
    t_start = time.monotonic()
    app = out / "nnstudio"
    if args.clean:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(app, ignore_errors=True)
        shutil.rmtree(out / "nnstudio.app", ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)

    log(f"nnstudio {ver}: PyInstaller -> {app}")
    t = time.monotonic()
    run_pyinstaller(out, work, args.clean)
    report = [("app folder", app, tree_size(app), time.monotonic() - t)]

    if sys.platform.startswith("linux"):
        machine, arch = deb_arch()
        tarball = out / f"nnstudio-{ver}-linux-{machine}.tar.gz"
        log(f"archive -> {tarball.name}")
        t = time.monotonic()
        make_tarball(app, tarball, epoch)
        report.append(("tar.gz", tarball, tarball.stat().st_size, time.monotonic() - t))
        if not args.skip_deb:
            deb = out / f"nnstudio_{ver}_{arch}.deb"
            log(f"Debian package ({' '.join(DEB_COMPRESSION)}) -> {deb.name}")
            t = time.monotonic()
            stage = work / "deb" / f"nnstudio_{ver}_{arch}"
            stage_deb(app, stage, ver, arch)
            build_deb(stage, deb)
            report.append((".deb", deb, deb.stat().st_size, time.monotonic() - t))

    print()
    for what, path, size, secs in report:
        print(f"  {what:<11} {mib(size):>9}  {secs:6.1f} s  {path}")
    print(f"  {'total':<11} {'':>9}  {time.monotonic() - t_start:6.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
