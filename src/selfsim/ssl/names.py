"""The names of the trainable methods, importable without loading PyTorch (for the CLI)."""

from selfsim.names import SSL_METHODS as METHODS

__all__ = ["METHODS"]
