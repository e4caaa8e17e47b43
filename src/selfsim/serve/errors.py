"""Errors with an HTTP status: every one becomes ``{"error": "<one line>"}``."""

from __future__ import annotations

from selfsim.errors import ImageReadError, SelfsimError


class ServiceError(SelfsimError):
    """A request the service refuses, with the status and headers to answer with."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


#: ImageReadError.kind -> status of an upload that cannot be read.
_UPLOAD_STATUS = {"format": 415, "size": 413, "data": 422, "file": 422}


def upload_error(e: ImageReadError, field: str) -> ServiceError:
    """Why an uploaded picture is refused, as the status its kind calls for."""
    what = "is not a picture in an accepted format (JPEG, PNG, WebP, GIF, BMP, TIFF, ...)" \
        if e.kind == "format" else e.reason
    return ServiceError(_UPLOAD_STATUS.get(e.kind, 422), f"{field}: {what}")
