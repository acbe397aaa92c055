"""Process-group plumbing for ``torchrun`` data-parallel training (CPU gloo or CUDA nccl).

``torchrun --nproc-per-node N -m uwac.acoustics train ...`` sets ``RANK``/``WORLD_SIZE``/``LOCAL_RANK``; a plain
``uwac train`` is world size 1 and touches none of this.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    """This process's place in the job and the device it trains on."""

    rank: int
    world: int
    local_rank: int
    device: torch.device
    backend: str | None

    @property
    def main(self) -> bool:
        """Rank 0 writes every file; the others only compute."""
        return self.rank == 0


def pick_device(setting: str, local_rank: int) -> torch.device:
    """``auto``: CUDA (this process's local GPU) when present, else CPU; ``cpu``/``cuda``/``cuda:N`` as asked."""
    if setting == "auto":
        return torch.device(f"cuda:{local_rank}") if torch.cuda.is_available() else torch.device("cpu")
    device = torch.device(setting)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {setting!r} asked for, but this torch build sees no CUDA GPU; use device: cpu")
    if device.type == "cuda" and device.index is None:
        device = torch.device(f"cuda:{local_rank}")
    return device


def setup(device_setting: str) -> DistInfo:
    """Join the process group when launched by torchrun; a single process otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local_rank = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    device = pick_device(device_setting, local_rank)
    backend = None
    if world > 1:
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(device)
        if not dist.is_initialized():
            dist.init_process_group(backend=backend)
    return DistInfo(rank, world, local_rank, device, backend)


def barrier(info: DistInfo) -> None:
    """Wait for every rank (no-op for one process)."""
    if info.world > 1:
        dist.barrier()


def broadcast(info: DistInfo, value):
    """Rank 0's ``value`` (any picklable object) on every rank."""
    if info.world == 1:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def weights_digest(module: torch.nn.Module) -> str:
    """SHA-256 of every parameter and buffer's bytes, in state_dict order: equal digests, equal weights."""
    h = hashlib.sha256()
    for name, tensor in module.state_dict().items():
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def gather(info: DistInfo, value) -> list:
    """Every rank's ``value``, in rank order."""
    if info.world == 1:
        return [value]
    out = [None] * info.world
    dist.all_gather_object(out, value)
    return out


def teardown(info: DistInfo) -> None:
    """Leave the process group."""
    if info.world > 1 and dist.is_initialized():
        dist.destroy_process_group()
