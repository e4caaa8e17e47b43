from __future__ import annotations

import sys
from pathlib import Path

import imagehash
import numpy as np
import pytest
from PIL import Image, ImageFilter, ImageOps

from selfsim.data.edits import crop, jpeg, text
from selfsim.index import Index, sync
from selfsim.models.encoder import Encoder
from selfsim.search import Searcher, model_ref
from selfsim.search.searcher import DEFAULT_VOUCH

sys.path.insert(0, str(Path(__file__).parents[1]))
from conftest import make_picture  # noqa: E402


def test_edited_copies_find_their_original_and_outscore_unrelated_queries(
    photo_dir: Path, tmp_path: Path, encoder: Encoder
) -> None:
    (photo_dir / "orange.jpg").unlink()  # its copies must now score low
    with Index.create(tmp_path / "idx", model_ref(encoder)) as index:
        sync(index, encoder, [photo_dir])
    rng = np.random.default_rng(0)
    baboon = Image.open(photo_dir / "baboon.jpg").convert("RGB")
    queries = [jpeg(baboon, rng), ImageOps.mirror(baboon), text(crop(baboon, rng), rng)]
    unrelated = Image.open(Path(__file__).parents[1] / "fixtures" / "orange.jpg").convert("RGB")
    with Index.open(tmp_path / "idx") as index:
        searcher = Searcher(index, encoder)
        hits = searcher.search_images(queries, k=3)
        assert all(Path(h[0].path).name == "baboon.jpg" for h in hits)
        assert all(h[0].score >= h[1].score >= h[2].score for h in hits)
        # The same picture is also found without edits, with the highest score.
        exact = searcher.search_images([baboon], k=1)[0][0]
        assert exact.similarity > 0.99
        other = searcher.search_images([unrelated], k=1)[0][0]
        assert min(h[0].score for h in hits) > other.score + 0.1


def test_search_paths_reports_unreadable_queries(photo_dir: Path, tmp_path: Path, encoder: Encoder) -> None:
    with Index.create(tmp_path / "idx", model_ref(encoder)) as index:
        sync(index, encoder, [photo_dir])
    qdir = tmp_path / "q"
    qdir.mkdir()
    (qdir / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    Image.open(photo_dir / "gen4.png").save(qdir / "good.jpg")
    failures = []
    with Index.open(tmp_path / "idx") as index:
        results = list(Searcher(index, encoder).search_paths([qdir], k=2, on_failure=failures.append))
    assert [Path(r.query).name for r in results] == ["good.jpg"]
    assert Path(results[0].hits[0].path).name == "gen4.png"
    assert [Path(f.query).name for f in failures] == ["bad.png"]


def _pixelated(img: Image.Image, factor: int) -> Image.Image:
    small = img.resize((img.width // factor, img.height // factor), Image.Resampling.BILINEAR)
    return small.resize(img.size, Image.Resampling.NEAREST)


@pytest.mark.parametrize("edit", ["pixelate", "blur"])
def test_phash_vouches_for_a_copy_the_embedding_misses_and_for_nothing_else(
    edit: str, photo_dir: Path, tmp_path: Path, encoder: Encoder
) -> None:
    with Index.create(tmp_path / "idx", model_ref(encoder)) as index:
        sync(index, encoder, [photo_dir])
    gen = Image.open(photo_dir / "gen5.png").convert("RGB")
    # (pixelated 16 times, a copy the default encoder finds by itself; 20 times, it does not)
    copy = _pixelated(gen, 20) if edit == "pixelate" else gen.filter(ImageFilter.GaussianBlur(12))
    unrelated = make_picture(101)
    names = sorted(p.name for p in photo_dir.iterdir())
    # What the hash sees, computed here with imagehash itself: the copy is within reach, the
    # unrelated picture is not near any indexed one.
    distance = imagehash.phash(copy) - imagehash.phash(gen)
    assert distance <= DEFAULT_VOUCH.max_distance
    assert min(imagehash.phash(unrelated) - imagehash.phash(Image.open(photo_dir / n)) for n in names) > 16

    with Index.open(tmp_path / "idx") as index:
        # Without corner views, which on their own lift the blurred copy to about the floor.
        on, off = Searcher(index, encoder, corner_crops=0.0), Searcher(index, encoder, corner_crops=0.0, vouch=None)
        (copy_on, unrelated_on), (copy_off, unrelated_off) = (
            [{Path(h.path).name: h.score for h in hits} for hits in s.search_images([copy, unrelated], k=len(names))]
            for s in (on, off)
        )
    # Without the hash the embedding alone scores the copy far below the vouch floor, with a
    # score no threshold would accept (about as high as unrelated pictures get) ...
    assert copy_off["gen5.png"] < DEFAULT_VOUCH.base - 0.1
    # ... with it the copy gets exactly the vouched score and comes first.
    vouched = DEFAULT_VOUCH.base + DEFAULT_VOUCH.step * (DEFAULT_VOUCH.max_distance - distance)
    assert copy_on["gen5.png"] == pytest.approx(vouched, abs=1e-6) and vouched >= DEFAULT_VOUCH.base
    assert max(copy_on, key=copy_on.get) == "gen5.png"
    # Nothing else is raised: not the other references for the copy, nothing for the unrelated picture.
    assert {n: s for n, s in copy_on.items() if n != "gen5.png"} == {
        n: s for n, s in copy_off.items() if n != "gen5.png"}
    assert unrelated_on == unrelated_off and max(unrelated_on.values()) < DEFAULT_VOUCH.base


def test_a_flat_query_is_not_vouched_for_by_flat_pictures(photo_dir: Path, tmp_path: Path,
                                                          encoder: Encoder) -> None:
    """Flat pictures all hash alike (one bit set), so their hashes prove nothing: a flat
    query of another colour scores exactly as without pHash."""
    for i, colour in enumerate([(40, 30, 60), (200, 200, 190), (90, 140, 60)]):
        Image.new("RGB", (256, 256), colour).save(photo_dir / f"flat{i}.png")
    with Index.create(tmp_path / "idx", model_ref(encoder)) as index:
        sync(index, encoder, [photo_dir])
    query = Image.new("RGB", (300, 200), (45, 35, 70))
    assert imagehash.phash(query) - imagehash.phash(Image.open(photo_dir / "flat0.png")) == 0
    with Index.open(tmp_path / "idx") as index:
        on, off = (Searcher(index, encoder, vouch=v).search_images([query], k=3)[0] for v in (DEFAULT_VOUCH, None))
    assert [(h.path, h.score) for h in on] == [(h.path, h.score) for h in off]


def test_phash_vouching_holds_on_any_similarity_scale(tmp_path: Path, encoder: Encoder) -> None:
    """A model whose unrelated pictures sit near cosine 0 (an adapted encoder) still gets
    vouched copies; a hash collision far below the query's background does not."""
    from selfsim.index.catalog import NewImage

    rng = np.random.default_rng(0)
    d = encoder.dim

    def unit(v: np.ndarray) -> np.ndarray:
        return (v / np.linalg.norm(v)).astype(np.float32)

    refs = [unit(rng.standard_normal(d)) for _ in range(12)]
    hashes = [int(h) for h in rng.integers(0, 2**62, size=12)]
    with Index.create(tmp_path / "idx", model_ref(encoder)) as index:
        index.add([NewImage(f"r{i}.jpg", str(i), 1, 0, 8, 8, v, h) for i, (v, h) in enumerate(zip(refs, hashes))])
        index.save()
    noise = unit(rng.standard_normal(d) - (rng.standard_normal(d) @ refs[0]) * refs[0])
    weak_copy = unit(0.1 * refs[0] + noise)      # cosine 0.1 to r0, about 0 to the rest
    collision = unit(-0.5 * refs[0] + noise)     # cosine -0.5: not the same picture
    with Index.open(tmp_path / "idx") as index:
        hits = Searcher(index, encoder).search_vectors(np.stack([weak_copy, collision]), k=1,
                                                       phashes=np.array([hashes[0], hashes[0]], np.int64))
    assert hits[0][0].path == "r0.jpg" and hits[0][0].score == np.float32(0.45)
    assert hits[1][0].path != "r0.jpg" and hits[1][0].score < 0.25


def test_the_corner_views_find_a_picture_pasted_into_a_corner(photo_dir: Path, tmp_path: Path,
                                                             encoder: Encoder) -> None:
    (photo_dir / "orange.jpg").unlink()
    with Index.create(tmp_path / "idx", model_ref(encoder)) as index:
        sync(index, encoder, [photo_dir])
    baboon = Image.open(photo_dir / "baboon.jpg").convert("RGB").resize((200, 200))
    canvas = Image.open(Path(__file__).parents[1] / "fixtures" / "orange.jpg").convert("RGB").resize((480, 480))
    canvas.paste(baboon, (480 - 200 - 10, 10))  # top right, 42 % of the width
    with Index.open(tmp_path / "idx") as index:
        plain = Searcher(index, encoder, corner_crops=0.0)
        corners = Searcher(index, encoder)
        assert len(corners.query_views(canvas)) == len(plain.query_views(canvas)) + 4
        before = {Path(h.path).name: h.similarity for h in plain.search_images([canvas], k=8)[0]}
        hits = corners.search_images([canvas], k=8)[0]
    assert Path(hits[0].path).name == "baboon.jpg"
    assert hits[0].similarity > before["baboon.jpg"] + 0.05, (hits[0].similarity, before)


def test_a_large_collection_measures_the_background_on_a_fixed_sample(photo_dir: Path, tmp_path: Path,
                                                                      encoder: Encoder) -> None:
    from selfsim.search.scoring import ScoreNormalizer, background_sample

    with Index.create(tmp_path / "idx", model_ref(encoder)) as index:
        sync(index, encoder, [photo_dir])
    query = jpeg(Image.open(photo_dir / "baboon.jpg").convert("RGB"), np.random.default_rng(0))
    with Index.open(tmp_path / "idx") as index:
        # 8 pictures: more than the sample; the query's background from the sample alone
        norm = ScoreNormalizer(skip=1, count=2, sample=4, collection=0, reference=0)
        searcher = Searcher(index, encoder, normalizer=norm, vouch=None)
        hit = searcher.search_images([query], k=1)[0][0]
        ids = background_sample(index.catalog.ids(), 4)
        assert len(ids) == 4
        views = searcher.embed_queries([query])[0]
        sims = np.sort((index.vectors(ids) @ views.T).max(axis=1))[::-1]
        assert hit.score == pytest.approx(hit.similarity - sims[1:3].mean(), abs=1e-5)
        # Among all 8 pictures (the default sample holds them all) the background differs.
        whole = Searcher(index, encoder, normalizer=ScoreNormalizer(skip=1, count=2, reference=0), vouch=None)
        assert whole.search_images([query], k=1)[0][0].score != pytest.approx(hit.score, abs=1e-4)

        # Both query backgrounds mixed, and the reference's own: its 2 nearest sample pictures.
        mixed = Searcher(index, encoder, vouch=None,
                         normalizer=ScoreNormalizer(skip=1, count=2, sample=4, collection=0.25, reference=0.4))
        hit = mixed.search_images([query], k=1)[0][0]
        every = np.sort((index.vectors(index.catalog.ids()) @ views.T).max(axis=1))[::-1]
        query_bg = 0.75 * sims[1:3].mean() + 0.25 * every[1:3].mean()
        to_sample = index.vectors(ids).astype(np.float32) @ index.vectors([hit.id])[0].astype(np.float32)
        reference_bg = np.sort(to_sample[ids != hit.id])[::-1][:2].mean()
        assert hit.score == pytest.approx(hit.similarity - 0.6 * query_bg - 0.4 * reference_bg, abs=1e-4)


def test_the_background_sample_is_read_again_only_when_the_collection_has_changed_by_a_share(
        tmp_path: Path, encoder: Encoder, monkeypatch: pytest.MonkeyPatch) -> None:
    from selfsim.index.catalog import NewImage
    from selfsim.search.scoring import ScoreNormalizer

    rng = np.random.default_rng(0)

    def pictures(start: int, n: int) -> list[NewImage]:
        v = rng.standard_normal((n, encoder.dim)).astype(np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        return [NewImage(f"p{start + i}.jpg", str(start + i), 1, 0, 8, 8, v[i], 0) for i in range(n)]

    with Index.create(tmp_path / "idx", model_ref(encoder)) as index:
        index.add(pictures(0, 300))
        reads = []
        ids = index.catalog.ids
        monkeypatch.setattr(index.catalog, "ids", lambda: reads.append(1) or ids())
        searcher = Searcher(index, encoder, normalizer=ScoreNormalizer(sample=50), vouch=None)
        query = pictures(1000, 1)[0].vector[None]
        searcher.search_vectors(query, k=1)
        index.add(pictures(300, 3))  # 1 %: the sample stays
        searcher.search_vectors(query, k=1)
        assert len(reads) == 1
        index.add(pictures(303, 1))
        searcher.search_vectors(query, k=1)
        assert len(reads) == 2
