from __future__ import annotations

import numpy as np
import pytest

from selfsim.search.scoring import ScoreNormalizer


def test_background_is_mean_after_skip() -> None:
    sims = np.array([0.9, 0.5, 0.4, 0.3, 0.2], np.float32)
    norm = ScoreNormalizer(skip=1, count=3)
    assert norm.background(sims) == pytest.approx(0.4)
    assert np.allclose(norm(sims), sims - 0.4)


def test_short_lists_and_raw_mode() -> None:
    assert ScoreNormalizer(skip=1, count=10)(np.array([0.8], np.float32))[0] == pytest.approx(0.8)
    sims = np.array([0.8, 0.7], np.float32)
    assert np.allclose(ScoreNormalizer(count=0)(sims), sims)


def test_same_similarity_scores_lower_against_a_busier_background() -> None:
    norm = ScoreNormalizer(skip=1, count=3)
    distinct = norm(np.array([0.8, 0.2, 0.2, 0.2], np.float32))[0]
    generic = norm(np.array([0.8, 0.7, 0.7, 0.7], np.float32))[0]
    assert distinct > generic


def test_phash_vouch_scores() -> None:
    from selfsim.search.scoring import PhashVouch

    v = PhashVouch(max_distance=8, min_score=-0.15, base=0.25, step=0.025)
    out = v.score(np.array([0, 8, 9, 0, 0]), np.array([0.1, -0.15, 0.9, -0.2, -0.1], np.float32))
    assert out[0] == pytest.approx(0.45) and out[1] == pytest.approx(0.25) and out[4] == pytest.approx(0.45)
    assert np.isneginf(out[2]) and np.isneginf(out[3])  # too far; embedding far below the background


def test_exact_duplicates_of_the_best_hit_are_not_background() -> None:
    norm = ScoreNormalizer(skip=1, count=2)
    with_dupes = np.array([0.9, 0.9, 0.9, 0.5, 0.3], np.float32)
    assert norm.background(with_dupes) == pytest.approx(0.4)
    assert norm(with_dupes)[0] == pytest.approx(0.5)


def test_the_background_sample_is_fixed_and_changes_gradually_as_the_collection_grows() -> None:
    from selfsim.search.scoring import background_sample

    ids = np.arange(1, 10_001, dtype=np.int64)
    s = background_sample(ids, 100)
    assert len(s) == 100 and len(set(s.tolist())) == 100 and np.all(np.diff(s) > 0)
    assert np.array_equal(s, background_sample(ids[::-1].copy(), 100))  # order does not matter
    spread = np.histogram(s, bins=4, range=(1, 10_001))[0]
    assert spread.min() >= 10  # not only the first ids
    grown = background_sample(np.arange(1, 11_001, dtype=np.int64), 100)
    assert len(np.intersect1d(s, grown)) >= 80  # about 100 x 10,000 / 11,000 stay
    assert np.array_equal(background_sample(ids[:50], 100), ids[:50])  # small: all of it
