from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from selfsim.data.edits import paste
from selfsim.index import Index, sync
from selfsim.models.encoder import Encoder
from selfsim.search import Searcher, Verifier, model_ref
from selfsim.search.verify import VERIFIED_BASE

FIXTURES = Path(__file__).parents[1] / "fixtures"


def test_verification_confirms_a_pasted_copy_and_caches_features(
    photo_dir: Path, tmp_path: Path, encoder: Encoder
) -> None:
    (photo_dir / "orange.jpg").unlink()
    with Index.create(tmp_path / "idx", model_ref(encoder)) as index:
        sync(index, encoder, [photo_dir])
    baboon = Image.open(photo_dir / "baboon.jpg").convert("RGB")
    background = Image.open(FIXTURES / "orange.jpg").convert("RGB").resize((640, 480))
    query = paste(baboon, np.random.default_rng(0), background)
    with Index.open(tmp_path / "idx") as index:
        verifier = Verifier(index)
        searcher = Searcher(index, encoder, verifier=verifier, verify_top=8)
        hit = searcher.search_images([query], k=3)[0][0]
        assert Path(hit.path).name == "baboon.jpg" and hit.verified
        assert hit.score >= VERIFIED_BASE + 0.5 * verifier.matcher.calibration.threshold
        rec = next(r for r in index.records() if r.path.endswith("baboon.jpg"))
        assert index.catalog.get_features(rec.sha256, "sift/1024/2000/v2") is not None

        unrelated = Image.open(FIXTURES / "orange.jpg").convert("RGB")
        hits = searcher.search_images([unrelated], k=3)[0]
        assert not any(h.verified for h in hits)


def test_a_picture_pasted_into_another_is_confirmed_from_the_query_regions(
    photo_dir: Path, tmp_path: Path, encoder: Encoder
) -> None:
    with Index.create(tmp_path / "idx", model_ref(encoder)) as index:
        sync(index, encoder, [photo_dir])
    baboon = Image.open(photo_dir / "baboon.jpg").convert("RGB")
    orange = Image.open(photo_dir / "orange.jpg").convert("RGB")
    # The baboon covers a small part of a picture that is itself indexed: the whole
    # query's best hit is the orange, and only the first hit is verified.
    query = orange.copy()
    small = baboon.resize((orange.width * 3 // 10, orange.width * 3 // 10 * baboon.height // baboon.width))
    query.paste(small, (orange.width // 20, orange.height // 20))
    with Index.open(tmp_path / "idx") as index:
        without = Searcher(index, encoder, verifier=Verifier(index), verify_top=1, regions=None)
        hits = without.search_images([query], k=3)[0]
        assert Path(hits[0].path).name == "orange.jpg" and hits[0].verified
        assert not any(Path(h.path).name == "baboon.jpg" and h.verified for h in hits)

        hits = Searcher(index, encoder, verifier=Verifier(index), verify_top=1).search_images([query], k=3)[0]
        verified = {Path(h.path).name for h in hits if h.verified}
        assert verified == {"orange.jpg", "baboon.jpg"}
        # Regions' hits that verification does not confirm are not added.
        assert len(hits) == len({h.id for h in hits}) and all(np.isfinite(h.score) for h in hits)
