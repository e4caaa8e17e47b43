"""The changing picture folder of the kill loop (``kill_loop.py``): distinct generated
pictures in a few subfolders, and between runs new ones, replaced contents, deletions
and folder renames, with a record of every (path, content) the folder ever held."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from selfsim.data.files import file_sha256
from selfsim.data.synthetic import synthetic_picture

FORMATS = ("png", "jpg", "webp")
PIL_FORMATS = {"png": "PNG", "jpg": "JPEG", "webp": "WEBP"}
SUBFOLDERS = 4
ADD_SHARE, REPLACE_SHARE, DELETE_SHARE = 0.08, 0.04, 0.02  # of the initial number of pictures, per run
MAX_DELETED_SHARE = 1 / 3  # of the initial number of pictures, over the whole loop
RENAME_EVERY = 4  # runs


def write_picture(path: Path, content: int) -> str:
    """Write picture number ``content`` (96 to 200 px a side, in the format of the
    name's suffix) to ``path`` atomically; returns its sha256."""
    w, h = (int(s) for s in np.random.default_rng([content, 7]).integers(96, 201, size=2))
    tmp = path.with_name(f".{path.name}.tmp")
    synthetic_picture(content, (w, h)).save(tmp, format=PIL_FORMATS[path.suffix[1:]])
    os.replace(tmp, path)  # never half-written under its own name
    return file_sha256(path)


@dataclass
class Changes:
    added: int = 0
    replaced: int = 0
    deleted: int = 0
    moved: int = 0  # pictures in renamed folders
    renames: int = 0

    def __iadd__(self, other: Changes) -> Changes:
        for k in vars(self):
            setattr(self, k, getattr(self, k) + getattr(other, k))
        return self

    def short(self) -> str:
        if not any(vars(self).values()):
            return "-"
        return f"+{self.added} ~{self.replaced} -{self.deleted}" + (f" >{self.moved}" if self.moved else "")


class Folder:
    """The picture folder and everything it ever held: what is on disk now, each
    (path, sha256) pair that ever existed, and where renamed pictures went."""

    def __init__(self, root: Path, images: int, seed: int) -> None:
        self.root = root
        self.images = images
        self.seed = seed
        self.disk: dict[str, str] = {}  # absolute path -> sha256, as on disk now
        self.history: set[tuple[str, str]] = set()  # every (path, sha256) the folder held
        self.moved_to: dict[str, str] = {}  # old path -> its path now (pictures of renamed folders)
        self.renames: list[tuple[str, str]] = []  # (old folder prefix, new folder prefix), in order
        self.subfolders = [root / f"album{i}" for i in range(SUBFOLDERS)]
        self.contents = 0  # pictures drawn so far (each one distinct)
        self.names = 0  # file names used so far (never reused)
        self.deleted = 0
        self.total = Changes()
        root.mkdir(parents=True, exist_ok=True)
        for sub in self.subfolders:
            sub.mkdir()
        for i in range(images):
            self._add(self.subfolders[i % SUBFOLDERS])

    def _content(self) -> int:
        self.contents += 1
        return self.seed * 100_003 + self.contents

    def _add(self, sub: Path) -> None:
        path = sub / f"{self.names:04d}.{FORMATS[self.names % len(FORMATS)]}"
        self.names += 1
        self._write(path)

    def _write(self, path: Path) -> None:
        sha = write_picture(path, self._content())
        key = str(path.resolve())
        self.disk[key] = sha
        self.history.add((key, sha))

    def change(self, rng: random.Random, run: int) -> Changes:
        """Change the folder as between two runs (drawn from ``rng``)."""
        c = Changes()
        if run % RENAME_EVERY == 0:
            i = rng.randrange(SUBFOLDERS)
            old = self.subfolders[i]
            new = self.root / f"album{i}-r{run:02d}"
            os.rename(old, new)
            self.subfolders[i] = new
            prefix, target = str(old.resolve()) + os.sep, str(new.resolve()) + os.sep
            for p in [p for p in self.disk if p.startswith(prefix)]:
                q = target + p[len(prefix):]
                self.disk[q] = self.disk.pop(p)
                self.history.add((q, self.disk[q]))
                self.moved_to[p] = q
                c.moved += 1
            for p, q in self.moved_to.items():  # renamed again
                if q.startswith(prefix):
                    self.moved_to[p] = target + q[len(prefix):]
            self.renames.append((prefix, target))
            c.renames += 1
        n_replace = round(REPLACE_SHARE * self.images)
        n_delete = min(round(DELETE_SHARE * self.images), int(MAX_DELETED_SHARE * self.images) - self.deleted)
        chosen = rng.sample(sorted(self.disk), min(len(self.disk), n_replace + max(0, n_delete)))
        for p in chosen[:n_replace]:
            self._write(Path(p))
            c.replaced += 1
        for p in chosen[n_replace:]:
            os.unlink(p)
            del self.disk[p]
            self.deleted += 1
            c.deleted += 1
        for _ in range(round(ADD_SHARE * self.images)):
            self._add(self.subfolders[rng.randrange(SUBFOLDERS)])
            c.added += 1
        self.total += c
        return c

    def now(self, path: str) -> str:
        """Where the picture once at ``path`` is now (its own path unless its folder was renamed)."""
        return self.moved_to.get(path, path)

    def aliases(self, path: str) -> list[str]:
        """Every path the picture once at ``path`` has had since: after two renames
        before a run completes, selfsim may hold it under the middle one."""
        out = [path]
        for prefix, target in self.renames:  # in order; folder names are never reused
            if out[-1].startswith(prefix):
                out.append(target + out[-1][len(prefix):])
        return out
