"""The training loop shared by detector and descriptor: steps, validation, checkpoints, DDP."""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import torch
import torch.distributed as dist
from torch import nn
from tqdm import tqdm

from ..models import load_weights, save_weights
from .checkpoint import CHECKPOINT_NAME, load_checkpoint, save_checkpoint
from .loader import step_batches
from .log import TrainLog
from .pairs import PairBatch, PairSampler

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoopConfig:
    """Optimisation and bookkeeping of one run."""

    steps: int = 2000  # total steps of the run (a resumed stage continues to this)
    batch_size: int = 8  # pairs per step and process
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup: int = 100  # linear warm-up steps, then cosine decay to lr / 10
    val_every: int = 250
    val_pairs: int = 48
    checkpoint_every: int = 250
    log_every: int = 10
    seed: int = 0
    max_minutes: float = 0.0  # stop (with a checkpoint) after this wall time; 0: no limit
    stop_at: int = 0  # stop (with a checkpoint) at this step, to train in stages; 0: no stop
    loader_workers: int = 0  # processes making batches ahead (0: made in the loop); same batches


class Task(Protocol):
    """What the loop needs from a detector or descriptor task."""

    name: str

    def model(self) -> nn.Module: ...

    def loss(
        self, model: nn.Module, batch: PairBatch
    ) -> tuple[torch.Tensor, dict[str, float]]: ...

    def validate(self, model: nn.Module, batches: list[PairBatch]) -> dict[str, float]: ...


def schedule(warmup: int, steps: int):
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, steps - warmup)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    return factor


def _distributed() -> tuple[int, int]:
    """(rank, world size); joins the process group when started by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return (dist.get_rank(), world) if world > 1 else (0, 1)


def _stage_over(config: LoopConfig, step: int, started: float, world: int) -> bool:
    """True when this stage should stop; every DDP process agrees (rank 0's clock rules)."""
    over = step == config.stop_at or (
        config.max_minutes > 0 and time.monotonic() - started > 60 * config.max_minutes
    )
    if world > 1:
        flag = torch.tensor([float(over)])
        dist.broadcast(flag, src=0)
        over = bool(flag.item())
    return over and step < config.steps


def run_training(
    task: Task,
    train_sampler: PairSampler,
    val_sampler: PairSampler,
    config: LoopConfig,
    out: Path,
    device: torch.device,
    settings: dict[str, Any],
    init: Path | None = None,
) -> dict[str, Any]:
    """Train ``task`` until ``config.steps`` (resuming from ``out`` if it holds a checkpoint).

    Writes ``out/checkpoint.pt``, the logs, and ``out/<task.name>.safetensors``
    (the model's weights, BatchNorm unfolded) at the end.

    Returns:
        the last validation record and the step reached.

    ``init`` (a ``.safetensors`` file of the same network) seeds the weights of
    a new run, e.g. a wider-augmentation stage after a milder one; a run folder
    that already holds a checkpoint ignores it.
    """
    rank, world = _distributed()
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(config.seed)
    model = task.model().to(device)
    if device.type == "cpu":  # 8-channel convolutions run 2-4x faster channels-last on the CPU
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule(config.warmup, config.steps))
    checkpoint = out / CHECKPOINT_NAME
    step = 0
    if checkpoint.is_file():
        step, _ = load_checkpoint(checkpoint, model, optimizer, scheduler)
        logger.info("resumed %s at step %d from %s", task.name, step, checkpoint)
    elif init is not None:
        load_weights(model, init, may_lack=getattr(model, "GROWN_PARAMETERS", ()))
        logger.info("%s starts from the weights in %s", task.name, init)
    # Validation pairs: fixed (seed + 1, index) so every validation sees the same pairs.
    val_batches = [val_sampler.batch(i, 8) for i in range(math.ceil(config.val_pairs / 8))]
    train_model = nn.parallel.DistributedDataParallel(model) if world > 1 else model
    log = TrainLog(out, {**settings, "loop": asdict(config), "world_size": world}, step)
    started, last_val = time.monotonic(), {}
    progress = tqdm(total=config.steps, initial=step, desc=f"train {task.name}", disable=rank)
    batches = step_batches(
        train_sampler, step, config.steps, config.batch_size, rank, config.loader_workers
    )
    while step < config.steps:
        model.train()
        batch = next(batches).to(device)
        loss, metrics = task.loss(train_model, batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        step += 1
        progress.update(1)
        if not math.isfinite(loss.item()):
            raise RuntimeError(f"{task.name} loss is {loss.item()} at step {step}")
        if rank == 0 and (step % config.log_every == 0 or step == config.steps):
            record = {"step": step, "loss": loss.item(), "lr": scheduler.get_last_lr()[0]}
            log.add_train({**record, **metrics, "minutes": (time.monotonic() - started) / 60})
            progress.set_postfix(loss=f"{loss.item():.4f}")
        out_of_time = _stage_over(config, step, started, world)
        if rank == 0 and (step % config.val_every == 0 or step == config.steps):
            last_val = {"step": step, **task.validate(model, val_batches)}
            log.add_val(last_val)
            logger.info("%s step %d validation %s", task.name, step, last_val)
        if rank == 0 and (
            step % config.checkpoint_every == 0 or step == config.steps or out_of_time
        ):
            save_checkpoint(checkpoint, model, optimizer, scheduler, step)
            log.write()
        if out_of_time:
            logger.info("stage ends at step %d (run again to resume)", step)
            break
    progress.close()
    if rank == 0:
        log.write()
        model.eval()
        save_weights(model, out / f"{task.name}.safetensors", {"step": str(step)})
    if world > 1:
        dist.barrier()
    return {"step": step, "validation": last_val}
