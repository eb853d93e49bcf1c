"""A process's place in a multi-process RL run (torchrun, Ray Train): its rank, the gathering of every
process's sampled batch, and agreeing when to stop. Only rank 0 writes files."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch

from .dapo import SampledBatch, concat, concat_rollouts


@dataclass
class Distributed:
    """This process's place in a run: rank and world size (1 when not distributed)."""

    rank: int = 0
    world: int = 1
    collectives: bool = field(default=False, repr=False)

    @classmethod
    def current(cls) -> Distributed:
        """From an initialised `torch.distributed` group, else from torchrun's environment (the gloo
        group is then started here), else a single process."""
        import torch.distributed as dist

        if not dist.is_initialized() and int(os.environ.get("WORLD_SIZE", "1")) > 1:
            dist.init_process_group("gloo")
        if dist.is_initialized():
            return cls(dist.get_rank(), dist.get_world_size(), True)
        return cls()

    def gather(self, batch: SampledBatch) -> SampledBatch:
        """Every process's filtered batch, joined in rank order (the same on every process)."""
        import torch.distributed as dist

        parts: list = [None] * self.world
        dist.all_gather_object(parts, batch)
        kept = [part for part in parts if part.prompts is not None]
        draws = sum(part.draws for part in parts)
        drawn = sum(part.groups_drawn for part in parts)
        mean = sum(part.drawn_reward_mean * part.groups_drawn for part in parts) / max(drawn, 1)
        if not kept:
            return SampledBatch(None, None, torch.cat([part.rewards for part in parts]), draws, drawn, mean)
        return SampledBatch(concat([part.prompts for part in kept]),
                            concat_rollouts([part.rollouts for part in kept]),
                            torch.cat([part.rewards for part in kept]), draws, drawn, mean)

    def all_agree(self, wanted: bool) -> bool:
        """True only when every process wants to go on (so all stop at the same step)."""
        if not self.collectives:
            return wanted
        import torch.distributed as dist

        flag = torch.tensor([int(wanted)])
        dist.all_reduce(flag, op=dist.ReduceOp.MIN)
        return bool(flag.item())
