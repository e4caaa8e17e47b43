"""Groups from confirmed pairs: no chaining through a middle picture."""

from __future__ import annotations

from selfsim.dedup.clusters import centre_groups
from selfsim.index.catalog import ImageRecord


def rec(i: int, w: int) -> ImageRecord:
    return ImageRecord(i, f"/p/{i}.jpg", str(i), 1000, 1, w, w)


def test_copies_of_one_original_form_one_group_around_it() -> None:
    records = {1: rec(1, 900), 2: rec(2, 400), 3: rec(3, 300), 4: rec(4, 200)}
    pairs = [(2, 1, 0.95), (3, 1, 0.9), (4, 1, 0.8), (2, 3, 0.85)]
    assert centre_groups(pairs, records) == [([1, 2, 3, 4], 0.8)]


def test_no_chaining_through_a_picture_linked_to_two_others() -> None:
    # 1 and 3 are unrelated pictures; 2 is linked to both (a collage, a burst in between)
    records = {1: rec(1, 900), 2: rec(2, 400), 3: rec(3, 800)}
    groups = centre_groups([(1, 2, 0.9), (2, 3, 0.85)], records)
    assert groups == [([1, 2], 0.9)]  # 2 goes to the centre it is most surely a copy of; 3 stays alone


def test_two_groups_merge_only_when_their_centres_are_a_pair() -> None:
    records = {i: rec(i, 1000 - i) for i in range(1, 7)}
    pairs = [(1, 2, 0.9), (3, 4, 0.9), (2, 3, 0.7)]  # the groups touch through their members only
    assert sorted(m for m, _ in centre_groups(pairs, records)) == [[1, 2], [3, 4]]
    pairs += [(1, 3, 0.75), (1, 4, 0.72)]  # now the centres are copies of each other, and 4 of 1
    assert centre_groups(pairs, records) == [([1, 2, 3, 4], 0.72)]
    pairs2 = [(1, 2, 0.9), (3, 4, 0.9), (1, 3, 0.8)]  # centres linked, but 4 is no copy of 1
    assert sorted(m for m, _ in centre_groups(pairs2, records)) == [[1, 2], [3, 4]]


def test_an_original_of_the_same_size_takes_the_centre_from_its_larger_captioned_copy() -> None:
    # 1 is the original, 2 its captioned copy (same pixels, larger file: the keeper rule's
    # favourite), 3 a crop of 1 that does not match 2.
    records = {1: ImageRecord(1, "/p/1.jpg", "1", 1000, 1, 900, 900), 2: ImageRecord(2, "/p/2.jpg", "2", 2000, 2, 900, 900),
               3: rec(3, 500)}
    groups = centre_groups([(1, 2, 0.95), (1, 3, 0.8)], records)
    assert groups == [([2, 1, 3], 0.8)]  # members by keeper rank: 2 is still the suggested keeper


def test_a_small_collage_never_gathers_the_pictures_it_holds() -> None:
    records = {1: rec(1, 900), 2: rec(2, 400), 3: rec(3, 800)}  # 2 holds parts of 1 and of 3
    assert centre_groups([(1, 2, 0.9), (2, 3, 0.85)], records) == [([1, 2], 0.9)]
