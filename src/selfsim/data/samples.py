"""Real sample pictures from Debian packages, fetched on demand into a cache.

``apt-get download`` plus ``dpkg -x`` unpack a package's files without installing
it system-wide. Used by the demo and the benchmarks; never at import time.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
from PIL import Image

from selfsim.errors import SelfsimError

log = logging.getLogger(__name__)

#: Packages of real photographs, artworks and OpenCV's matching samples.
PHOTO_PACKAGES = ("mate-backgrounds", "ukui-wallpapers", "plasma-workspace-wallpapers", "gnome-backgrounds")
OPENCV_SAMPLES = "opencv-doc"
OPENCV_DATA = "usr/share/doc/opencv-doc/examples/data"


def cache_dir() -> Path:
    return Path(os.environ.get("SELFSIM_CACHE", Path.home() / ".cache" / "selfsim"))


def fetch_package(name: str) -> Path:
    """Unpack Debian package ``name`` into the cache (once) and return its root."""
    root = cache_dir() / "pkgs" / name
    if (root / ".complete").exists():
        return root
    if shutil.which("apt-get") is None or shutil.which("dpkg") is None:
        raise SelfsimError(f"cannot fetch sample package '{name}': apt-get/dpkg not found (Debian/Ubuntu only)")
    debs = cache_dir() / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    found = sorted(debs.glob(f"{name}_*.deb"))
    if not found:
        log.info("downloading Debian package %s", name)
        if _apt_download(name, debs) != 0 and os.geteuid() == 0:
            subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True)
            _apt_download(name, debs)
        found = sorted(debs.glob(f"{name}_*.deb"))
    if not found:
        raise SelfsimError(
            f"could not download Debian package '{name}' (try `sudo apt-get update` first)"
        )
    tmp = root.with_name(root.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    subprocess.run(["dpkg", "-x", str(found[-1]), str(tmp)], check=True)
    (tmp / ".complete").touch()
    shutil.rmtree(root, ignore_errors=True)
    tmp.rename(root)
    return root


def _apt_download(name: str, dest: Path) -> int:
    return subprocess.run(
        ["apt-get", "download", "-qq", name], cwd=dest, capture_output=True, check=False
    ).returncode


def fashion_mnist() -> Path:
    """Folder with Fashion-MNIST's IDX files (Debian package dataset-fashion-mnist)."""
    system = Path("/usr/share/datasets/fashion-mnist")
    if system.is_dir():
        return system
    return fetch_package("dataset-fashion-mnist") / "usr/share/datasets/fashion-mnist"


def opencv_data() -> Path:
    """OpenCV's sample images (graf1/graf3 with H1to3p.xml, box/box_in_scene, ...)."""
    return fetch_package(OPENCV_SAMPLES) / OPENCV_DATA


# Colour variants of one design (only the first of each group is kept).
_SAME_DESIGN = {
    "Ubuntu-Mate-Dark-no-logo", "Ubuntu-Mate-Radioactive-no-logo", "Ubuntu-Mate-Warm-no-logo",
    "MATE-Stripes-Light",
}


def _is_overlay(path: Path) -> bool:
    """Mostly transparent wallpapers are overlays for a desktop colour, not pictures."""
    with Image.open(path) as im:
        if "A" not in im.getbands():
            return False
        alpha = im.getchannel("A")
        alpha.thumbnail((256, 256))
        return float(np.asarray(alpha).mean()) < 200


def photo_files(packages: tuple[str, ...] = PHOTO_PACKAGES) -> list[Path]:
    """One file per distinct picture in the wallpaper packages.

    Wallpaper packages ship each picture at several sizes (and light/dark or colour
    variants); only the largest file of each picture is kept, and transparent
    overlays are left out, so that no two files show the same picture.
    """
    out: list[Path] = []
    for pkg in packages:
        root = fetch_package(pkg)
        groups: dict[str, list[Path]] = {}
        for f in root.rglob("*"):
            if f.suffix.lower() not in (".jpg", ".jpeg", ".png", ".webp") or "screenshot" in f.name:
                continue
            groups.setdefault(_picture_key(pkg, root, f), []).append(f)
        for key in sorted(groups):
            best = max(groups[key], key=lambda p: p.stat().st_size)
            if best.stem not in _SAME_DESIGN and not _is_overlay(best):
                out.append(best)
    return out


def _picture_key(pkg: str, root: Path, f: Path) -> str:
    rel = f.relative_to(root)
    if pkg == "plasma-workspace-wallpapers":
        return rel.parts[3]  # usr/share/wallpapers/<Name>/contents/images*/WxH.ext
    stem = f.stem
    if pkg == "gnome-backgrounds":
        stem = stem.rsplit("-", 1)[0]  # adwaita-l / adwaita-d are one design
    for suffix in ("_3840x2160", "_5640x3172"):
        stem = stem.replace(suffix, "")
    return stem
