"""``Service``: what ``selfsim serve`` does, without HTTP.

The index, its encoder and the settings are loaded once and shared by every request
thread. The index is read under one lock, only as long as a lookup takes (FAISS and
SQLite answer in milliseconds); embedding, decoding and verification run outside it.
Adds and deletes take the same lock, so a search sees the collection before a change
or after it, never half-way.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from selfsim import __version__
from selfsim.atomic import fsync_dir
from selfsim.data.reader import read_image
from selfsim.dedup.finder import DedupOptions, find_duplicates
from selfsim.errors import ImageReadError, SelfsimError
from selfsim.index import Index
from selfsim.index.ingest import embed_file
from selfsim.index.opening import index_encoder
from selfsim.match import Calibration, Matcher, MatchResult
from selfsim.models import Embedder
from selfsim.search import Searcher, SearchHit, Verifier
from selfsim.serve.errors import ServiceError, upload_error
from selfsim.serve.limits import Limits

log = logging.getLogger(__name__)

#: How often a read-only server looks for changes made by `selfsim index`.
REFRESH_S = 2.0

#: Extensions of stored uploads, by the format their content was read as.
_SUFFIX = {"JPEG": ".jpg", "MPO": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".gif", "BMP": ".bmp",
           "TIFF": ".tif", "JPEG2000": ".jp2", "PPM": ".ppm", "HEIF": ".heic", "AVIF": ".avif"}


@dataclass(frozen=True)
class Upload:
    """An uploaded file: its bytes and the form field it came in (for messages).

    The client's file name is never used as a path, only shown back as a label."""

    data: bytes
    field: str
    label: str = ""


@dataclass(frozen=True)
class Added:
    id: int
    path: str
    sha256: str
    label: str
    existed: bool


@dataclass(frozen=True)
class Deleted:
    id: int
    path: str
    file_deleted: bool


@dataclass(frozen=True)
class MatchOutcome:
    result: MatchResult
    size_a: tuple[int, int]
    size_b: tuple[int, int]
    png: bytes | None


@dataclass(frozen=True)
class DedupMember:
    id: int
    path: str


@dataclass(frozen=True)
class DedupGroupView:
    kind: str
    keeper: DedupMember
    members: list[DedupMember]
    score: float


class Service:
    """One index served: search, match, dedup, add, delete, thumbnails.

    Args:
        index_path: an index made by ``selfsim index``.
        token: the bearer token that allows adds and deletes; None serves read-only
            (the index is then opened read-only and re-read when ``selfsim index``
            changes it).
        uploads: where added pictures are stored (default: ``INDEX/uploads``), under
            names the server makes from their content.
        limits: the caps (see :class:`Limits`).
    """

    def __init__(
        self,
        index_path: str | os.PathLike[str],
        *,
        token: str | None = None,
        uploads: str | os.PathLike[str] | None = None,
        limits: Limits = Limits(),
        encoder: Embedder | None = None,
    ) -> None:
        self.token = token or None
        self.limits = limits
        self.index = Index.open(index_path, writable=self.token is not None)
        try:
            self.encoder = encoder or index_encoder(self.index)
            self.encoder.eval()
            folder = self.index.folder
            if uploads is None and folder is None and self.token is not None:
                raise SelfsimError(f"{self.index.path} keeps no files of selfsim's; give --uploads DIR for "
                                   f"the pictures added through the server")
            self.uploads = Path(uploads) if uploads else (folder or Path.cwd()) / "uploads"
            self.lock = threading.Lock()  # the index: lookups, adds, deletes
            self._checked = time.monotonic()
            self._dedup_lock = threading.Lock()
            self._write_lock = threading.Lock()  # adds and deletes, one at a time
            self._calibration = Calibration.default()
            self._threads = threading.local()  # one matcher per worker thread (OpenCV detectors)
            self._dedup: tuple[tuple[int, bool], list[DedupGroupView]] | None = None
            _ = self.searcher(0)  # refuses an encoder of another model now, not per request
        except BaseException:
            self.index.close()
            raise

    def close(self) -> None:
        with self.lock:
            self.index.close()  # a writable index saves its vector file

    # -- reading ----------------------------------------------------------------
    @property
    def writable(self) -> bool:
        return self.token is not None

    def _fresh(self) -> None:
        """A read-only server sees what `selfsim index` committed since (every few s)."""
        if self.writable or time.monotonic() - self._checked < REFRESH_S:
            return
        with self.lock:
            if self.index.refresh():
                log.info("the index changed on disk; now %d images", len(self.index))
            self._checked = time.monotonic()

    def info(self) -> dict[str, object]:
        self._fresh()
        with self.lock:
            model = self.index.model
            return {
                "version": __version__,
                "model": model.name,
                "fingerprint": model.fingerprint,
                "dim": model.dim,
                "images": len(self.index),
                "generation": self.index.catalog.generation,
                "writable": self.writable,
                "max_body_bytes": self.limits.max_body_bytes,
                "max_pixels": self.limits.max_pixels,
            }

    def matcher(self) -> Matcher:
        """This thread's matcher: made once per worker thread, as OpenCV's detectors keep
        state that threads must not share."""
        matcher = getattr(self._threads, "matcher", None)
        if matcher is None:
            matcher = self._threads.matcher = Matcher(calibration=self._calibration)
        return matcher

    def searcher(self, verify: int) -> Searcher:
        """A searcher for one request (cheap: it holds references)."""
        verifier = Verifier(self.index, self.matcher()) if verify > 0 else None
        return Searcher(self.index, self.encoder, verifier=verifier, verify_top=verify,
                        max_pixels=self.limits.max_pixels, lock=self.lock)

    def read_upload(self, upload: Upload, min_side: int | None = None) -> Image.Image:
        try:
            return read_image(upload.data, min_side=min_side, max_pixels=self.limits.max_pixels)
        except ImageReadError as e:
            raise upload_error(e, upload.field) from None

    def search_upload(self, upload: Upload, k: int, verify: int = 0) -> list[SearchHit]:
        """The indexed images most like an uploaded picture, best first."""
        self._fresh()
        searcher = self.searcher(verify)
        image = self.read_upload(upload, self.encoder.config.input_size)  # as indexing reads it
        detail = None
        if verify > 0:
            assert searcher.verifier is not None
            side = searcher.verifier.matcher.extractor.max_side
            detail = self.read_upload(upload, side)
            if max(detail.size) > side:
                detail.thumbnail((side, side), Image.Resampling.BILINEAR)
        return searcher.search_images([image], k, [detail] if detail is not None else None)[0]

    def search_id(self, image_id: int, k: int, verify: int = 0) -> list[SearchHit]:
        """"More like this": the indexed images most like indexed image ``image_id``
        (itself left out), from its stored vector."""
        self._fresh()
        with self.lock:
            rec = self.index.catalog.record(image_id)
            if rec is None:
                raise ServiceError(404, f"no image with id {image_id} in the index")
            vector = self.index.vectors([image_id])
        searcher = self.searcher(verify)
        hits = searcher.search_vectors(vector, k + 5 + verify)[0]
        hits = [h for h in hits if h.id != image_id]
        if verify > 0 and searcher.verifier is not None:
            side = searcher.verifier.matcher.extractor.max_side
            try:
                query = read_image(rec.path, min_side=side, max_pixels=self.limits.max_pixels)
            except ImageReadError as e:
                raise ServiceError(409, f"cannot verify: the indexed file {e.reason}") from None
            if max(query.size) > side:
                query.thumbnail((side, side), Image.Resampling.BILINEAR)
            hits = searcher.verifier.verify(query, hits, verify)
        return hits[:k]

    def record(self, image_id: int) -> dict[str, object]:
        with self.lock:
            rec = self.index.catalog.record(image_id)
        if rec is None:
            raise ServiceError(404, f"no image with id {image_id} in the index")
        return {"id": rec.id, "path": rec.path, "sha256": rec.sha256, "bytes": rec.size,
                "width": rec.width, "height": rec.height}

    def read_indexed(self, image_id: int, purpose: str, min_side: int | None = None) -> Image.Image:
        """Indexed image ``image_id``'s file: 404 when the id is unknown, 410 when the file
        is gone since indexing, 422 when it cannot be read now."""
        path = str(self.record(image_id)["path"])
        try:
            return read_image(path, min_side=min_side, max_pixels=self.limits.max_pixels)
        except ImageReadError as e:
            raise ServiceError(410 if e.kind == "file" else 422,
                               f"image {image_id} cannot be {purpose}: {e.reason}") from None

    def thumbnail(self, image_id: int, size: int) -> bytes:
        """A JPEG of indexed image ``image_id``, at most ``size`` pixels a side."""
        img = self.read_indexed(image_id, "shown", min_side=size)
        img.thumbnail((size, size), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        img.save(out, "JPEG", quality=85)
        return out.getvalue()

    # -- matching ---------------------------------------------------------------
    def match(self, a: Upload, b: Upload | int, draw: bool = False) -> MatchOutcome:
        """Do ``a`` and ``b`` (an upload, or an indexed image's id) show the same thing?"""
        ia = self.read_upload(a)
        ib = self.read_indexed(b, "matched") if isinstance(b, int) else self.read_upload(b)
        result = self.matcher().match(ia, ib)
        png = None
        if draw:
            from selfsim.match.draw import draw_match

            out = io.BytesIO()
            draw_match(ia, ib, result).save(out, "PNG")
            png = out.getvalue()
        return MatchOutcome(result, ia.size, ib.size, png)

    # -- dedup ------------------------------------------------------------------
    def dedup(self, similar: bool = False) -> list[DedupGroupView]:
        """``selfsim dedup --json``'s groups for the index as it is now (kept until it
        changes; one computation at a time, on a snapshot of its own)."""
        self._fresh()
        with self.lock:
            key = (self.index.catalog.generation, similar)
        with self._dedup_lock:
            if self._dedup is not None and self._dedup[0] == key:
                return self._dedup[1]
            with Index.open(self.index.path) as snapshot:
                groups = find_duplicates(snapshot, DedupOptions(similar=similar))
                ids = {r.path: r.id for r in snapshot.records()}
            views = [
                DedupGroupView(g.kind, DedupMember(ids[g.keeper], g.keeper),
                               [DedupMember(ids[m], m) for m in g.members], float(g.score))
                for g in groups
            ]
            self._dedup = (key, views)
            return views

    # -- writing ----------------------------------------------------------------
    def check_token(self, header: str | None) -> None:
        """401/403 unless ``header`` is ``Bearer <the token>``."""
        import hmac

        if self.token is None:
            raise ServiceError(403, "this server is read-only; start it with --token or SELFSIM_TOKEN "
                                    "set to allow adding and deleting images")
        scheme, _, given = (header or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), self.token.encode()):
            raise ServiceError(401, "adding and deleting need the header 'Authorization: Bearer <token>' "
                                    "with the server's token", {"WWW-Authenticate": "Bearer"})

    def add(self, uploads: list[Upload]) -> list[Added]:
        """Store and index uploaded pictures. All are checked first: one bad file and
        nothing is stored. Each is on disk (fsynced) and committed when this returns."""
        if not self.writable:
            raise ServiceError(403, "this server is read-only")
        formats = []
        for u in uploads:
            self.read_upload(u, self.encoder.config.input_size)  # refuses what cannot be indexed
            with Image.open(io.BytesIO(u.data)) as im:
                formats.append(im.format or "")
        self.uploads.mkdir(parents=True, exist_ok=True)
        with self._write_lock:
            return [self._add_one(u, fmt) for u, fmt in zip(uploads, formats)]

    def _add_one(self, u: Upload, fmt: str) -> Added:
        sha = hashlib.sha256(u.data).hexdigest()
        path = (self.uploads / f"{sha[:32]}{_SUFFIX.get(fmt, '.img')}").resolve()
        existed = path.is_file() and _same_bytes(path, u.data)
        if existed:
            with self.lock:
                rec = self.index.catalog.record_at(str(path))
            if rec is not None and rec.sha256 == sha:  # added before: nothing to do
                return Added(rec.id, rec.path, sha, u.label, True)
        else:
            _write_durably(path, u.data)
        try:
            new = embed_file(str(path), self.encoder, max_pixels=self.limits.max_pixels)
        except ImageReadError as e:
            raise upload_error(e, u.field) from None
        with self.lock:
            image_id = int(self.index.add([new])[0])
        return Added(image_id, str(path), sha, u.label, existed)

    def delete(self, image_id: int) -> Deleted:
        """Remove an image from the index; its file too when the server stored it."""
        if not self.writable:
            raise ServiceError(403, "this server is read-only")
        with self._write_lock:
            with self.lock:
                rec = self.index.catalog.record(image_id)
                if rec is None:
                    raise ServiceError(404, f"no image with id {image_id} in the index")
                self.index.remove([image_id])
            path = Path(rec.path)
            ours = path.parent == self.uploads.resolve()
            if ours:
                path.unlink(missing_ok=True)
            return Deleted(image_id, rec.path, ours)


def _same_bytes(path: Path, data: bytes) -> bool:
    try:
        return path.stat().st_size == len(data) and path.read_bytes() == data
    except OSError:
        return False


def _write_durably(path: Path, data: bytes) -> None:
    """Write, fsync, rename into place, fsync the folder: acknowledged means on disk."""
    tmp = path.with_name(f".{path.name}.part-{os.getpid()}-{threading.get_ident()}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


__all__ = ["Added", "DedupGroupView", "DedupMember", "Deleted", "MatchOutcome", "Service", "Upload"]
