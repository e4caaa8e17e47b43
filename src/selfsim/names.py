"""Names and defaults that the command line shows, importable without NumPy, Pillow,
OpenCV, FAISS or PyTorch, so that ``selfsim --help`` answers at once.

The modules that do the work take their constants from here; tests check that each
name list matches what its module implements.
"""

from __future__ import annotations

#: Largest image (width x height) selfsim decodes: 100 megapixels, e.g. 12000 x 8000.
#: Pillow itself refuses anything over about 179 MP, so a larger cap has no effect.
DEFAULT_MAX_PIXELS = 100_000_000

#: Local features of ``selfsim match`` and verification (match/features.py).
FEATURE_METHODS = ("sift", "orb", "akaze")
#: Geometric models of ``selfsim match`` (match/geometry.py).
GEOMETRY_MODES = ("homography", "fundamental")
#: Kinds of vector store an index can use (index/store.py).
STORE_KINDS = ("auto", "flat", "hnsw", "ivfpq")
#: Self-supervised methods ``selfsim train`` knows (ssl/losses.py).
SSL_METHODS = ("simclr", "byol", "simsiam", "vicreg", "dino", "sscd")
#: Where ``selfsim train`` starts (ssl/train.py): random weights, the shipped default encoder,
#: or the ImageNet EfficientNet-Lite0 the default was adapted from.
SSL_INITS = ("scratch", "default", "imagenet")
#: Edits that make copies (data/edits.py), and "chain" (several at once).
EDIT_NAMES = ("crop", "rotate", "jpeg", "blur", "color", "grayscale", "text", "paste", "flip", "border",
              "perspective", "pixelate", "noise", "stretch", "chain")
#: ``selfsim eval``'s methods: baselines that need no model, then those run per encoder.
EVAL_BASELINES = ("phash", "orb")
EVAL_ENCODER_METHODS = ("search", "cosine", "verified")
#: Embedding similarity a pair needs before ``selfsim dedup`` checks it (dedup/finder.py).
#: Tuned on ``benchmarks/dedup_quality.py --seed 1`` (and ``--hard``) for the default
#: encoder: 0.6 lost strong crops (F1 0.870 with ``--hard``), 0.3 joined other shots.
DEDUP_MIN_SIMILARITY = 0.4
#: Pictures with a shorter side than this are left out of training (data/cleaning.py).
CLEAN_MIN_SIDE = 16
