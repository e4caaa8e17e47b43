from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from selfsim.eval.edits import crop, jpeg, text
from selfsim.index import Index, sync
from selfsim.models.encoder import Encoder
from selfsim.search import Searcher, model_ref


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


def test_pixelated_copy_is_vouched_for_by_its_phash(photo_dir: Path, tmp_path: Path, encoder: Encoder) -> None:
    from selfsim.eval.edits import pixelate

    with Index.create(tmp_path / "idx", model_ref(encoder)) as index:
        sync(index, encoder, [photo_dir])
    gen = Image.open(photo_dir / "gen5.png").convert("RGB")
    query = pixelate(gen, np.random.default_rng(1))
    with Index.open(tmp_path / "idx") as index:
        with_hash = Searcher(index, encoder).search_images([query], k=1)[0][0]
        without = Searcher(index, encoder, vouch=None).search_images([query], k=1)[0][0]
    assert Path(with_hash.path).name == "gen5.png"
    assert with_hash.score >= 0.25 and with_hash.score >= without.score


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
