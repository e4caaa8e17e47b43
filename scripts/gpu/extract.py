"""Write a model folder from a training checkpoint (when training ran past its time)."""
import sys
from dataclasses import replace

import torch

from selfsim.models.encoder import Encoder
from selfsim.models.factory import default_encoder, save_encoder

ck = torch.load(sys.argv[1], map_location="cpu", weights_only=False)  # this run's own checkpoint
pre = "encoder.backbone."
sd = {k[len(pre):]: v for k, v in ck["state_dict"].items() if k.startswith(pre)}
enc = default_encoder(device="cpu")
enc.backbone.load_state_dict(sd, strict=True)
cfg = replace(enc.config, name="partial", info={"steps": ck["global_step"], "partial": True})
save_encoder(Encoder(cfg, enc.backbone, "trained"), sys.argv[2])
print("extracted", ck["global_step"], "steps")
