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

    v = PhashVouch(max_distance=8, min_score=-0.15, base=0.25, step=0.025, close_min_score=-0.30)
    out = v.score(np.array([0, 8, 9, 0, 0, 8, 4, 4]),
                  np.array([0.1, -0.15, 0.9, -0.35, -0.29, -0.2, -0.22, -0.23], np.float32))
    assert out[0] == pytest.approx(0.45) and out[1] == pytest.approx(0.25) and out[4] == pytest.approx(0.45)
    assert out[6] == pytest.approx(0.35)  # half-way: the guard is -0.225
    # too far; identical hashes but the embedding far below the background; at the
    # limit the embedding must agree more; half-way, just below the guard
    assert np.isneginf(out[[2, 3, 5, 7]]).all()


def test_a_flat_or_common_hash_vouches_for_nothing() -> None:
    from selfsim.search.scoring import PhashVouch

    v = PhashVouch(min_bits=24, max_shared=8)
    photo = int(np.int64(0x9E1EFCF00001F7E3 - 2**64))  # 32 bits set, as a photo's hash has
    assert v.informative(photo, within_reach=3)
    assert not v.informative(photo, within_reach=9)  # a layout many indexed pictures share
    assert not v.informative(int(np.uint64(1 << 63).view(np.int64)), within_reach=1)  # a flat picture's hash


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


def test_the_query_background_mixes_the_sample_and_the_collection() -> None:
    sample = np.array([0.9, 0.3, 0.2, 0.1], np.float32)
    collection = np.array([0.9, 0.6, 0.5, 0.4], np.float32)  # a larger collection: closer neighbours
    norm = ScoreNormalizer(skip=1, count=2, collection=0.75, reference=0)
    assert norm.query_background(sample, collection) == pytest.approx(0.25 * 0.25 + 0.75 * 0.55)
    assert ScoreNormalizer(skip=1, count=2, collection=0).query_background(sample, collection) == pytest.approx(0.25)
    assert ScoreNormalizer(skip=1, count=2, collection=1).query_background(sample, collection) == pytest.approx(0.55)


def test_a_reference_that_resembles_many_pictures_has_a_higher_background() -> None:
    norm = ScoreNormalizer(skip=1, count=2, reference=0.3)
    sims = np.array([[-np.inf, 0.2, 0.1, 0.0],  # itself left out (-inf)
                     [0.9995, 0.7, 0.6, 0.1],   # an identical picture (>= 0.999) is not background
                     [0.5, -np.inf, -np.inf, -np.inf]], np.float32)  # one neighbour: what there is
    assert np.allclose(norm.reference_backgrounds(sims), [0.15, 0.65, 0.5])
    assert np.allclose(norm.offsets(0.4, np.array([0.15, 0.65], np.float32)), [0.7 * 0.4 + 0.3 * 0.15, 0.7 * 0.4 + 0.3 * 0.65])
    assert ScoreNormalizer(reference=0).offsets(0.4, np.array([0.15], np.float32)) == pytest.approx(0.4)
    assert ScoreNormalizer(count=0).reference == 0  # raw scores: no background of either kind


def test_weights_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError, match="weights"):
        ScoreNormalizer(reference=1.5)
