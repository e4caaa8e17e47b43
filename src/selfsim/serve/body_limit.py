"""Refuse request bodies over a cap while they arrive, never holding one whole."""

from __future__ import annotations

import json
from typing import Any

import anyio
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"request body over the cap of {max_bytes:,} bytes "
                              f"({max_bytes / 2**20:.0f} MiB; the server's --max-upload-mb)")


#: After refusing a body, read and drop up to this much of the rest (and for at most
#: DRAIN_S seconds), so that a client that sends everything before reading the answer
#: (most do) gets the 413 rather than a reset connection. Nothing read is kept.
DRAIN_BYTES = 512 * 2**20
DRAIN_S = 20.0


class BodyLimit:
    """ASGI middleware: 413 for a body over ``max_bytes``, decided from a declared
    ``Content-Length`` before anything is parsed, or (chunked) as soon as the body grows
    past the cap. The rest of the body is dropped as it arrives, never held."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            if int(declared) <= DRAIN_BYTES:
                await _drain(receive)
            await _send_413(send, BodyTooLarge(self.max_bytes))
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    if message.get("more_body", False):
                        await _drain(receive)
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except BodyTooLarge as e:  # raised where no handler turned it into a response
            if started:
                raise
            await _send_413(send, e)


async def _drain(receive: Receive) -> None:
    """Read and drop the rest of a refused body (bounded in bytes and time)."""
    dropped = 0
    try:
        with anyio.fail_after(DRAIN_S):
            while dropped <= DRAIN_BYTES:
                message = await receive()
                if message["type"] != "http.request":
                    return
                dropped += len(message.get("body", b""))
                if not message.get("more_body", False):
                    return
    except TimeoutError:
        return


async def _send_413(send: Send, e: BodyTooLarge) -> None:
    body: Any = json.dumps({"error": e.detail}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
