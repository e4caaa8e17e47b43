"""The FastAPI application: HTTP in, :class:`Service` calls, JSON or pictures out.

Every error is ``{"error": "<one line>"}`` with its status; no request can make the
server print a stack trace to a client or stop serving.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from importlib.resources import files
from typing import Any, TypeVar

import anyio
from fastapi import FastAPI, File, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import UploadFile as StarletteUpload
from starlette.exceptions import HTTPException

from selfsim import __version__
from selfsim.errors import ImageReadError, SelfsimError
from selfsim.serve.body_limit import BodyLimit
from selfsim.serve.errors import ServiceError, upload_error
from selfsim.serve.gate import Gate
from selfsim.serve.limits import MAX_FILES, MAX_K, MAX_THUMBNAIL, MAX_VERIFY
from selfsim.serve.schemas import (
    AddedBody,
    AddResponse,
    DedupGroupBody,
    DedupResponse,
    DeleteResponse,
    ErrorBody,
    Health,
    Hit,
    ImageInfo,
    Info,
    MatchResponse,
    SearchResponse,
)
from selfsim.serve.service import Service, Upload

log = logging.getLogger(__name__)
T = TypeVar("T")

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 403, 404, 413, 415, 422, 503)
}


class JSONBody(JSONResponse):
    """JSON with non-ASCII escaped, so a file name that is not UTF-8 (kept as the
    escape ``\\udcNN`` of each such byte, as the CLI writes it) can always be sent."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode()


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONBody:
    return JSONBody({"error": message}, status_code=status, headers=headers)


def create_app(service: Service) -> FastAPI:
    """The application for ``service`` (``uvicorn.run(create_app(service))``)."""
    limits = service.limits
    gate = Gate(limits.slots, limits.queue, limits.wait_s)
    app = FastAPI(
        title="selfsim", version=__version__, default_response_class=JSONBody,
        description="Search a folder of pictures by picture, find copies, compare two pictures. "
        "Writes (adding, deleting) need `Authorization: Bearer <token>` when the server was started "
        "with a token, and are refused otherwise.",
    )
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes)
    app.state.service = service
    app.state.gate = gate

    async def compute(fn: Callable[..., T], *args: Any) -> T:
        """Run CPU work in a worker thread, holding one of the gate's slots."""
        async with gate.slot():
            return await anyio.to_thread.run_sync(fn, *args)

    # -- errors -------------------------------------------------------------------
    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, e: ServiceError) -> JSONBody:
        return _error(e.status, e.message, e.headers)

    @app.exception_handler(SelfsimError)
    async def _selfsim_error(request: Request, e: SelfsimError) -> JSONBody:
        if isinstance(e, ImageReadError):
            e = upload_error(e, "image")
            return _error(e.status, e.message)
        return _error(422, str(e))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, e: RequestValidationError) -> JSONBody:
        parts = []
        for err in e.errors()[:3]:
            where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("query", "body", "path"))
            parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else str(err.get("msg", "invalid")))
        return _error(422, "; ".join(parts) or "invalid request")

    @app.exception_handler(HTTPException)
    async def _http(request: Request, e: HTTPException) -> JSONBody:
        return _error(e.status_code, str(e.detail), getattr(e, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, e: Exception) -> JSONBody:
        log.exception("unexpected error in %s %s", request.method, request.url.path)
        return _error(500, f"internal error ({type(e).__name__}); the server log has the details")

    # -- reading ------------------------------------------------------------------
    @app.get("/v1/health", response_model=Health, tags=["info"])
    async def health() -> Health:
        return Health()

    @app.get("/v1/info", response_model=Info, tags=["info"])
    async def info() -> Info:
        return Info(**(await anyio.to_thread.run_sync(service.info)))  # type: ignore[arg-type]

    @app.post("/v1/search", response_model=SearchResponse, responses=ERRORS, tags=["search"])
    async def search(
        image: UploadFile = File(description="the query picture"),
        k: int = Query(10, ge=1, le=MAX_K, description="hits to return"),
        verify: int = Query(0, ge=0, le=MAX_VERIFY, description="verify this many of the first hits "
                            "geometrically (slower; finds crops and pictures pasted into others)"),
    ) -> SearchResponse:
        """The indexed pictures most like an uploaded one, best first."""
        upload = await _upload(image, "image")
        start = time.perf_counter()
        hits = await compute(service.search_upload, upload, k, verify)
        return SearchResponse(query=upload.label, k=k, verify=verify, hits=[Hit.of(h) for h in hits],
                              took_ms=round(1000 * (time.perf_counter() - start), 1))

    @app.get("/v1/images/{image_id}/similar", response_model=SearchResponse, responses=ERRORS, tags=["search"])
    async def similar(
        image_id: int,
        k: int = Query(10, ge=1, le=MAX_K),
        verify: int = Query(0, ge=0, le=MAX_VERIFY),
    ) -> SearchResponse:
        """"More like this": the pictures most like an indexed one (itself left out)."""
        start = time.perf_counter()
        hits = await compute(service.search_id, image_id, k, verify)
        return SearchResponse(query=f"id:{image_id}", k=k, verify=verify, hits=[Hit.of(h) for h in hits],
                              took_ms=round(1000 * (time.perf_counter() - start), 1))

    @app.get("/v1/images/{image_id}", response_model=ImageInfo, responses=ERRORS, tags=["images"])
    async def image_info(image_id: int) -> ImageInfo:
        return ImageInfo(**(await anyio.to_thread.run_sync(service.record, image_id)))  # type: ignore[arg-type]

    @app.get("/v1/images/{image_id}/thumbnail", responses={200: {"content": {"image/jpeg": {}}}, **ERRORS},
             response_class=Response, tags=["images"])
    async def thumbnail(image_id: int, size: int = Query(256, ge=16, le=MAX_THUMBNAIL)) -> Response:
        """A JPEG of an indexed picture, at most ``size`` pixels a side."""
        data = await compute(service.thumbnail, image_id, size)
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=300"})

    @app.post("/v1/match", response_model=MatchResponse, responses={200: {"content": {"image/png": {}}}, **ERRORS},
              tags=["match"])
    async def match(
        a: UploadFile = File(description="picture A"),
        b: UploadFile | None = File(None, description="picture B (or give b_id)"),
        b_id: int | None = Query(None, description="an indexed picture as B, by id"),
        format: str = Query("json", pattern="^(json|png)$", description="json, or png: both pictures "
                            "with inlier lines and the matched region"),
    ) -> Response | MatchResponse:
        """Do A and B show the same picture, object or scene? The verdict with its evidence."""
        if (b is None) == (b_id is None):
            raise ServiceError(422, "give exactly one of the file b and the parameter b_id")
        ua = await _upload(a, "a")
        other: Upload | int = b_id if b_id is not None else await _upload(b, "b")  # type: ignore[arg-type]
        start = time.perf_counter()
        outcome = await compute(service.match, ua, other, format == "png")
        if format == "png":
            return Response(outcome.png, media_type="image/png")
        return MatchResponse.of(outcome, 1000 * (time.perf_counter() - start))

    @app.get("/v1/dedup", response_model=DedupResponse, tags=["dedup"])
    async def dedup(similar: bool = Query(False, description="also other shots of one scene")) -> DedupResponse:
        """Groups of copies in the index, as `selfsim dedup --json` finds them (kept until the index
        changes; the first call on a large index takes a while)."""
        groups = await anyio.to_thread.run_sync(service.dedup, similar)
        generation = (await anyio.to_thread.run_sync(service.info))["generation"]
        return DedupResponse(generation=int(generation),  # type: ignore[call-overload]
                             groups=[DedupGroupBody.of(g) for g in groups])

    # -- writing ------------------------------------------------------------------
    @app.post("/v1/images", response_model=AddResponse, status_code=201, tags=["images"],
              responses=ERRORS, openapi_extra=_files_body())
    async def add(request: Request) -> AddResponse:
        """Add pictures (multipart field `files`, one or more). They are stored on the server
        under names it makes from their content, then indexed; acknowledged means durable."""
        service.check_token(request.headers.get("authorization"))  # before the body is read
        form = await request.form(max_files=MAX_FILES, max_fields=16)
        try:
            items = [f for f in form.getlist("files") if isinstance(f, StarletteUpload)]
            if not items:
                raise ServiceError(422, "files: give one or more pictures in the multipart field 'files'")
            uploads = [await _upload(f, f"files[{n}]") for n, f in enumerate(items)]
        finally:
            await form.close()
        added = await compute(service.add, uploads)
        images = (await anyio.to_thread.run_sync(service.info))["images"]
        return AddResponse(added=[AddedBody.of(a) for a in added], images=int(images))  # type: ignore[call-overload]

    @app.delete("/v1/images/{image_id}", response_model=DeleteResponse, responses=ERRORS, tags=["images"])
    async def delete(image_id: int, request: Request) -> DeleteResponse:
        """Remove a picture from the index (and its file, when the server stored it)."""
        service.check_token(request.headers.get("authorization"))
        return DeleteResponse.of(await anyio.to_thread.run_sync(service.delete, image_id))

    # -- the page ------------------------------------------------------------------
    static = files("selfsim.serve") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(str(static / "index.html"), media_type="text/html")

    return app


async def _upload(file: StarletteUpload, field: str) -> Upload:
    """The bytes of one uploaded file (already within the body cap); its name is a label."""
    data = await file.read()
    if not data:
        raise ServiceError(422, f"{field}: the file is empty")
    label = (file.filename or field)[-200:]
    return Upload(data, field, label)


def _files_body() -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["files"],
        "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"}}},
    }}}}}


__all__ = ["create_app", "ImageReadError"]
