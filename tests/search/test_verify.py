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
