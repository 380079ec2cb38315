"""Training the conditional GAN, with checkpoints to resume from and artifacts a worker can load.

A training run is a job a merchant waits on: it reports progress, can be cancelled between steps,
and leaves a checkpoint (``work_dir/checkpoint.pt``) at the end of every epoch and when it stops, so a
restarted worker continues where the last one left off instead of starting again. The shuffle order of
every epoch is derived from the seed and the epoch number, and the RNG states are saved, so a resumed
run sees the same batches in the same order as an uninterrupted one would.

What is served is an *artifact*: the EMA generator's weights, its config and metrics, and a manifest
with a format version, written into a temp folder and renamed into place, the same rule as the text
model store: a half-written artifact is never used, and an artifact of another format is refused.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch.utils.data import Dataset

from .data import CATEGORIES, COLOURS, fetch_batch, save_grid, to_pil
from .models import Discriminator, Generator, d_hinge_loss, g_hinge_loss

if TYPE_CHECKING:
    from PIL import Image

logger = logging.getLogger(__name__)

# Bump when the artifact layout or the generator's architecture changes: older artifacts are refused.
FORMAT_VERSION = 1
CHECKPOINT_VERSION = 1
CHECKPOINT_NAME = "checkpoint.pt"
MANIFEST_NAME = "manifest.json"
ARTIFACT_KIND = "conditional-gan"

# How long to train may change between a run and its resumption; anything else changes the model.
_LENGTH_FIELDS = frozenset({"epochs", "max_steps"})


class ArtifactError(RuntimeError):
    """An artifact folder is missing, incomplete or of another format; the message says which."""


@dataclass
class GanConfig:
    """Everything that defines a GAN training run (and, minus its length, the model it makes)."""

    image_size: int = 64
    z_dim: int = 64
    base_channels: int = 16  # 2 CPU cores, 64 images a step: ~0.5-0.6 s at 64×64, ~0.1 s at 32×32
    batch_size: int = 64
    epochs: int = 1
    max_steps: int | None = None
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.0, 0.9)
    ema_decay: float = 0.999
    seed: int = 0
    n_categories: int = len(CATEGORIES)
    n_colours: int = len(COLOURS)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["betas"] = list(self.betas)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GanConfig:
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        if "betas" in values:
            values["betas"] = tuple(float(b) for b in values["betas"])
        return cls(**values)


@dataclass
class TrainResult:
    """What a run did: ``steps`` is the total step count (including steps before a resume)."""

    config: GanConfig
    steps: int
    epochs_completed: int
    seconds: float
    images_per_second: float
    losses: list[tuple[int, float, float]] = field(default_factory=list)
    checkpoint: Path | None = None
    stopped: bool = False


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _device(device: str | torch.device | None = None) -> torch.device:
    if device is not None:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def build_models(config: GanConfig) -> tuple[Generator, Discriminator]:
    generator = Generator(
        z_dim=config.z_dim,
        n_categories=config.n_categories,
        n_colours=config.n_colours,
        image_size=config.image_size,
        base_channels=config.base_channels,
    )
    discriminator = Discriminator(
        n_categories=config.n_categories,
        n_colours=config.n_colours,
        image_size=config.image_size,
        base_channels=config.base_channels,
    )
    return generator, discriminator


def _epoch_order(seed: int, epoch: int, n: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=generator)


@torch.no_grad()
def _update_ema(ema: Generator, model: Generator, decay: float) -> None:
    for ema_param, param in zip(ema.parameters(), model.parameters(), strict=True):
        ema_param.lerp_(param, 1.0 - decay)
    for ema_buffer, buffer in zip(ema.buffers(), model.buffers(), strict=True):
        ema_buffer.copy_(buffer)


def _rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _atomic_torch_save(obj: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as temp_file:
            torch.save(obj, temp_file)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def _atomic_write_text(path: Path, text: str) -> None:
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as temp_file:
            temp_file.write(text)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def config_differences(saved: GanConfig, wanted: GanConfig) -> list[str]:
    """Fields (other than the run length) whose values differ, as 'name: saved → wanted'."""
    old, new = saved.to_dict(), wanted.to_dict()
    return [
        f"{name}: {old.get(name)!r} → {new.get(name)!r}"
        for name in new
        if name not in _LENGTH_FIELDS and old.get(name) != new.get(name)
    ]


def _fixed_condition_grid(config: GanConfig, device: torch.device) -> tuple[torch.Tensor, ...]:
    """One cell per (category, colour): rows are categories, columns colours, one noise per column.

    The noise is drawn from its own seeded generator, so grids of every epoch are comparable.
    """
    noise_rng = torch.Generator().manual_seed(config.seed + 12_345)
    z = torch.randn(config.n_colours, config.z_dim, generator=noise_rng)
    categories = torch.arange(config.n_categories).repeat_interleave(config.n_colours)
    colours = torch.arange(config.n_colours).repeat(config.n_categories)
    return z.repeat(config.n_categories, 1).to(device), categories.to(device), colours.to(device)


def write_sample_grid(generator: Generator, config: GanConfig, path: Path) -> Path:
    device = next(generator.parameters()).device
    z, categories, colours = _fixed_condition_grid(config, device)
    was_training = generator.training
    generator.eval()
    with torch.inference_mode():
        images = generator(z, categories, colours)
    generator.train(was_training)
    return save_grid(images, path, nrow=config.n_colours)


def train_gan(
    config: GanConfig,
    dataset: Dataset,
    work_dir: Path,
    *,
    resume: bool = False,
    progress: Callable[[int, int, dict[str, float]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    device: str | torch.device | None = None,
) -> TrainResult:
    """Train (or, with ``resume``, continue training) the GAN on ``dataset`` items ``(image, c, k)``.

    ``progress(step, total_steps, {"d_loss", "g_loss", "images_per_second"})`` is called after every
    step; ``should_stop()`` is asked before each step and, when true, the run saves a checkpoint and
    returns with ``stopped=True``. The run ends at ``epochs`` epochs or ``max_steps`` total steps.
    """
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    checkpoint_path = work_dir / CHECKPOINT_NAME
    _seed_everything(config.seed)
    device = _device(device)
    n = len(dataset)
    steps_per_epoch = n // config.batch_size
    if steps_per_epoch == 0:
        raise ValueError(f"The dataset has {n} images, fewer than one batch of {config.batch_size}")

    generator, discriminator = build_models(config)
    generator.to(device)
    discriminator.to(device)
    ema = copy.deepcopy(generator).eval()
    betas = (float(config.betas[0]), float(config.betas[1]))
    opt_g = torch.optim.Adam(generator.parameters(), lr=config.lr_g, betas=betas)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=config.lr_d, betas=betas)
    step = epoch = batch_in_epoch = 0
    losses: list[tuple[int, float, float]] = []

    if resume and checkpoint_path.exists():
        # Our own file; weights_only would refuse the Python and numpy RNG states it holds.
        state = torch.load(checkpoint_path, map_location=device, weights_only=False)
        if state.get("version") != CHECKPOINT_VERSION:
            raise ValueError(
                f"{checkpoint_path} is checkpoint version {state.get('version')}, not {CHECKPOINT_VERSION}"
            )
        differences = config_differences(GanConfig.from_dict(state["config"]), config)
        if differences:
            raise ValueError(
                f"Cannot resume {checkpoint_path} with a different config ({'; '.join(differences)}); "
                "use the same config or a new work_dir"
            )
        generator.load_state_dict(state["generator"])
        discriminator.load_state_dict(state["discriminator"])
        ema.load_state_dict(state["ema"])
        opt_g.load_state_dict(state["opt_g"])
        opt_d.load_state_dict(state["opt_d"])
        step, epoch, batch_in_epoch = state["step"], state["epoch"], state["batch_in_epoch"]
        losses = [tuple(row) for row in state.get("losses", [])]
        _set_rng_state(state["rng"])
        logger.info("Resuming GAN training at step %d (epoch %d) from %s", step, epoch, checkpoint_path)
    elif resume:
        logger.info("No checkpoint in %s; starting a new GAN training run", work_dir)

    total_steps = config.epochs * steps_per_epoch
    if config.max_steps is not None:
        total_steps = min(total_steps, config.max_steps)

    def save_checkpoint() -> Path:
        _atomic_torch_save(
            {
                "version": CHECKPOINT_VERSION,
                "config": config.to_dict(),
                "generator": generator.state_dict(),
                "discriminator": discriminator.state_dict(),
                "ema": ema.state_dict(),
                "opt_g": opt_g.state_dict(),
                "opt_d": opt_d.state_dict(),
                "step": step,
                "epoch": epoch,
                "batch_in_epoch": batch_in_epoch,
                "losses": losses,
                "rng": _rng_state(),
            },
            checkpoint_path,
        )
        return checkpoint_path

    generator.train()
    discriminator.train()
    started = time.perf_counter()
    run_steps = 0
    stopped = False
    saved: Path | None = None
    while epoch < config.epochs and step < total_steps and not stopped:
        order = _epoch_order(config.seed, epoch, n)
        while batch_in_epoch < steps_per_epoch and step < total_steps:
            if should_stop is not None and should_stop():
                stopped = True
                break
            indices = order[batch_in_epoch * config.batch_size : (batch_in_epoch + 1) * config.batch_size]
            real, categories, colours = fetch_batch(dataset, indices)
            real, categories, colours = real.to(device), categories.to(device), colours.to(device)

            # Discriminator: real vs fakes drawn for the same conditions, so only realism differs.
            with torch.no_grad():
                fake = generator(torch.randn(len(real), config.z_dim, device=device), categories, colours)
            d_loss = d_hinge_loss(
                discriminator(real, categories, colours), discriminator(fake, categories, colours)
            )
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()

            # Generator: new noise, the batch's conditions.
            fake = generator(torch.randn(len(real), config.z_dim, device=device), categories, colours)
            g_loss = g_hinge_loss(discriminator(fake, categories, colours))
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            opt_g.step()

            step += 1
            run_steps += 1
            batch_in_epoch += 1
            # Warm-up: early on the average follows the model closely, else a short run would sample
            # from a generator still close to its random start.
            _update_ema(ema, generator, min(config.ema_decay, (1 + step) / (10 + step)))
            d_value, g_value = float(d_loss.detach()), float(g_loss.detach())
            losses.append((step, d_value, g_value))
            if progress is not None:
                elapsed = time.perf_counter() - started
                progress(
                    step,
                    total_steps,
                    {
                        "d_loss": d_value,
                        "g_loss": g_value,
                        "images_per_second": run_steps * config.batch_size / max(elapsed, 1e-9),
                    },
                )
        if batch_in_epoch >= steps_per_epoch:
            epoch += 1
            batch_in_epoch = 0
            saved = save_checkpoint()
            write_sample_grid(ema, config, work_dir / "samples" / f"epoch-{epoch:03d}.png")

    seconds = time.perf_counter() - started
    if saved is None or batch_in_epoch:  # stopped (cancelled or max_steps) inside an epoch
        saved = save_checkpoint()
        if run_steps:
            write_sample_grid(ema, config, work_dir / "samples" / f"step-{step:06d}.png")
    return TrainResult(
        config=config,
        steps=step,
        epochs_completed=epoch,
        seconds=seconds,
        images_per_second=run_steps * config.batch_size / seconds if seconds > 0 else 0.0,
        losses=losses,
        checkpoint=saved,
        stopped=stopped,
    )


def save_artifact(
    result_or_state: TrainResult | dict[str, Any] | Path,
    target_dir: Path,
    *,
    metrics: dict[str, Any],
    name: str,
    categories: Sequence[str] | None = None,
    colours: Sequence[str] | None = None,
) -> Path:
    """Write the servable generator (EMA weights only) into ``target_dir``, atomically.

    ``result_or_state`` is a :class:`TrainResult`, a checkpoint path or a loaded checkpoint dict. The
    files are written into a temp folder beside the target and renamed into place; an older artifact
    is moved aside first and then removed, so readers see either the old or the new one, whole.
    ``categories``/``colours`` label the condition ids (the demo's English names by default).
    """
    if isinstance(result_or_state, TrainResult):
        if result_or_state.checkpoint is None:
            raise ValueError("This training result has no checkpoint to build an artifact from")
        result_or_state = result_or_state.checkpoint
    if isinstance(result_or_state, (str, Path)):
        state = torch.load(Path(result_or_state), map_location="cpu", weights_only=False)
    else:
        state = result_or_state
    config = GanConfig.from_dict(state["config"])
    if categories is None and config.n_categories == len(CATEGORIES):
        categories = [c.en for c in CATEGORIES]
    if colours is None and config.n_colours == len(COLOURS):
        colours = [c.en for c in COLOURS]

    target_dir = Path(target_dir)
    target_dir.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target_dir.name}-", dir=target_dir.parent))
    try:
        ema_state = {key: value.detach().cpu() for key, value in state["ema"].items()}
        torch.save(ema_state, scratch / "generator.pt")
        (scratch / "config.json").write_text(json.dumps(config.to_dict(), indent=2) + "\n")
        (scratch / "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n")
        # The manifest goes last: its presence with the right version marks a complete artifact.
        (scratch / MANIFEST_NAME).write_text(
            json.dumps(
                {
                    "format_version": FORMAT_VERSION,
                    "kind": ARTIFACT_KIND,
                    "name": name,
                    "image_size": config.image_size,
                    "steps": state.get("step"),
                    "categories": list(categories) if categories is not None else None,
                    "colours": list(colours) if colours is not None else None,
                    "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                },
                indent=2,
                ensure_ascii=False,
            )
            + "\n"
        )
        old = None
        if target_dir.exists():
            old = target_dir.with_name(f".{target_dir.name}.old-{os.getpid()}")
            os.replace(target_dir, old)
        os.replace(scratch, target_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target_dir


class GanSampler:
    """A loaded generator that draws product images for a (category, colour) condition."""

    def __init__(self, generator: Generator, config: GanConfig, manifest: dict[str, Any]) -> None:
        self.generator = generator.eval()
        self.config = config
        self.manifest = manifest
        self.device = next(generator.parameters()).device

    @property
    def image_size(self) -> int:
        return self.config.image_size

    def generate(
        self, categories: torch.Tensor, colours: torch.Tensor, *, seed: int | None = None
    ) -> torch.Tensor:
        """Images (N, 3, S, S) in [-1, 1] on the CPU for per-image condition ids."""
        categories = torch.as_tensor(categories, dtype=torch.long)
        colours = torch.as_tensor(colours, dtype=torch.long)
        if (
            categories.numel()
            and not 0 <= int(categories.min()) <= int(categories.max()) < self.config.n_categories
        ):
            raise ValueError(f"category ids must be in 0..{self.config.n_categories - 1}")
        if colours.numel() and not 0 <= int(colours.min()) <= int(colours.max()) < self.config.n_colours:
            raise ValueError(f"colour ids must be in 0..{self.config.n_colours - 1}")
        noise_rng = torch.Generator()
        if seed is None:
            noise_rng.seed()
        else:
            noise_rng.manual_seed(seed)
        z = torch.randn(len(categories), self.config.z_dim, generator=noise_rng)
        with torch.inference_mode():
            images = self.generator(z.to(self.device), categories.to(self.device), colours.to(self.device))
        return images.float().cpu()

    def sample(self, category: int, colour: int, count: int, seed: int | None = None) -> list[Image.Image]:
        """``count`` images of the trained size for one condition; a seed makes them reproducible."""
        if count < 1:
            raise ValueError("count must be at least 1")
        images = self.generate(torch.full((count,), category), torch.full((count,), colour), seed=seed)
        return [to_pil(image) for image in images]


def load_sampler(artifact_dir: Path, device: str | torch.device | None = None) -> GanSampler:
    """Load an artifact written by :func:`save_artifact`; refuses incomplete or other-format folders."""
    artifact_dir = Path(artifact_dir)
    manifest_path = artifact_dir / MANIFEST_NAME
    try:
        manifest = json.loads(manifest_path.read_text())
    except FileNotFoundError:
        raise ArtifactError(f"{artifact_dir} is not a GAN artifact (no {MANIFEST_NAME})") from None
    except ValueError as exc:
        raise ArtifactError(f"{manifest_path} is not valid JSON: {exc}") from None
    if manifest.get("kind") != ARTIFACT_KIND:
        raise ArtifactError(
            f"{artifact_dir} holds a {manifest.get('kind')!r} artifact, not {ARTIFACT_KIND!r}"
        )
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(
            f"{artifact_dir} is GAN artifact format {manifest.get('format_version')}, this code reads "
            f"format {FORMAT_VERSION}; train the model again to rebuild it"
        )
    config = GanConfig.from_dict(json.loads((artifact_dir / "config.json").read_text()))
    device = _device(device)
    generator, _ = build_models(config)
    generator.load_state_dict(
        torch.load(artifact_dir / "generator.pt", map_location="cpu", weights_only=True)
    )
    return GanSampler(generator.to(device), config, manifest)
