"""The names of the trainable methods, importable without loading PyTorch (for the CLI)."""

METHODS = ("simclr", "byol", "simsiam", "vicreg", "dino", "sscd")
