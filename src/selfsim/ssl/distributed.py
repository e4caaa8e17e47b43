"""Training on several processes: DDP through Lightning, launched by Lightning itself
(``--devices N`` on one machine), by ``torchrun`` or by SLURM (``--num-nodes M``).

What selfsim adds to Lightning's DDP: the number of processes a run has, which one
is the main one (it alone cleans the output folder, writes the model and reports),
and the strategy settings (SyncBatchNorm where the backbone has batch norm).
"""

from __future__ import annotations

import os

from torch import nn


def process_rank() -> int:
    """This process's global rank as its launcher set it (0 when not launched for DDP,
    and in the process a user started, which launches the others)."""
    for name in ("RANK", "SLURM_PROCID"):
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name])
    local = os.environ.get("LOCAL_RANK", "")
    node = os.environ.get("NODE_RANK", "0")
    if local.isdigit():
        devices = int(os.environ.get("LOCAL_WORLD_SIZE", "1") or 1)
        return int(node or 0) * devices + int(local)
    return 0


def is_main_process() -> bool:
    return process_rank() == 0


def has_batch_norm(module: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())


def trainer_options(devices: int, num_nodes: int, sync_batch_norm: bool) -> dict[str, object]:
    """``pl.Trainer`` arguments for ``devices`` processes on each of ``num_nodes`` machines
    (one process: Lightning's defaults)."""
    if devices * num_nodes == 1:
        return {"devices": 1}
    return {"devices": devices, "num_nodes": num_nodes, "strategy": "ddp", "sync_batchnorm": sync_batch_norm,
            "use_distributed_sampler": True}


__all__ = ["has_batch_norm", "is_main_process", "process_rank", "trainer_options"]
