"""The API's request and response bodies (pydantic), as OpenAPI shows them at /docs."""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, Field

from selfsim.json_values import finite
from selfsim.search.results import SearchHit
from selfsim.serve.service import Added, DedupGroupView, Deleted, MatchOutcome


def _num(value: float) -> float | None:
    return finite(value, 6)


class ErrorBody(BaseModel):
    error: str = Field(description="what went wrong, in one line")


class Health(BaseModel):
    status: str = "ok"


class Info(BaseModel):
    version: str
    model: str = Field(description="the index's model name")
    fingerprint: str = Field(description="identity of the model's weights and settings")
    dim: int = Field(description="length of each embedding")
    images: int = Field(description="pictures in the index")
    generation: int = Field(description="grows by one with every change to the index")
    writable: bool = Field(description="whether adds and deletes are enabled (a token was set)")
    max_body_bytes: int
    max_pixels: int


class Hit(BaseModel):
    id: int = Field(description="the image's id in the index")
    path: str = Field(description="the file as it was indexed")
    score: float | None = Field(description="calibrated score: one threshold means the same for every query")
    similarity: float | None = Field(description="cosine similarity of the two embeddings")
    verified: bool = Field(description="geometric verification confirmed the hit")

    @classmethod
    def of(cls, h: SearchHit) -> Hit:
        return cls(id=h.id, path=h.path, score=_num(h.score), similarity=_num(h.similarity), verified=h.verified)


class SearchResponse(BaseModel):
    query: str = Field(description="the uploaded file's name (a label only) or 'id:N'")
    k: int
    verify: int
    hits: list[Hit] = Field(description="best first")
    took_ms: float


class MatchResponse(BaseModel):
    match: bool = Field(description="the verdict")
    score: float | None = Field(description="calibrated probability that both show the same thing")
    inliers: int
    matches: int
    inlier_ratio: float | None
    homography: list[list[float | None]] | None = Field(description="3x3, pixels of A to pixels of B")
    box_a: list[float | None] | None
    box_b: list[float | None] | None
    coverage: float | None
    reason: str
    size_a: tuple[int, int] = Field(description="(width, height) of A, the pixels the points refer to")
    size_b: tuple[int, int]
    points_a: list[tuple[float, float]] = Field(description="inliers in A (at most 300)")
    points_b: list[tuple[float, float]] = Field(description="the same inliers in B")
    took_ms: float

    @classmethod
    def of(cls, m: MatchOutcome, took_ms: float, max_points: int = 300) -> MatchResponse:
        r = m.result
        d: dict[str, Any] = r.to_json_dict()
        step = max(1, math.ceil(len(r.points_a) / max_points))
        return cls(
            match=r.match, score=d["score"], inliers=r.inliers, matches=r.matches, inlier_ratio=d["inlier_ratio"],
            homography=d["homography"], box_a=d["box_a"], box_b=d["box_b"], coverage=_num(r.coverage),
            reason=r.reason, size_a=m.size_a, size_b=m.size_b,
            points_a=[(round(float(x), 2), round(float(y), 2)) for x, y in r.points_a[::step]],
            points_b=[(round(float(x), 2), round(float(y), 2)) for x, y in r.points_b[::step]],
            took_ms=round(took_ms, 1),
        )


class ImageInfo(BaseModel):
    id: int
    path: str
    sha256: str
    bytes: int
    width: int
    height: int


class DedupMemberBody(BaseModel):
    id: int
    path: str


class DedupGroupBody(BaseModel):
    kind: str = Field(description="exact, near or similar (as `selfsim dedup`)")
    keeper: DedupMemberBody
    members: list[DedupMemberBody] = Field(description="the keeper first")
    score: float

    @classmethod
    def of(cls, g: DedupGroupView) -> DedupGroupBody:
        return cls(kind=g.kind, keeper=DedupMemberBody(id=g.keeper.id, path=g.keeper.path),
                   members=[DedupMemberBody(id=m.id, path=m.path) for m in g.members], score=round(g.score, 6))


class DedupResponse(BaseModel):
    generation: int
    groups: list[DedupGroupBody]


class AddedBody(BaseModel):
    id: int
    path: str = Field(description="where the server stored the file (a name it made)")
    sha256: str
    name: str = Field(description="the uploaded file's name, as a label")
    existed: bool = Field(description="the same content was stored already")

    @classmethod
    def of(cls, a: Added) -> AddedBody:
        return cls(id=a.id, path=a.path, sha256=a.sha256, name=a.label, existed=a.existed)


class AddResponse(BaseModel):
    added: list[AddedBody]
    images: int


class DeleteResponse(BaseModel):
    id: int
    path: str
    file_deleted: bool = Field(description="the file was removed too (only files the server stored)")

    @classmethod
    def of(cls, d: Deleted) -> DeleteResponse:
        return cls(id=d.id, path=d.path, file_deleted=d.file_deleted)
