"""Judging generated images: a small two-head classifier and the metrics built on it.

"Does the model draw a red dress when asked for one?" is answered by a classifier trained here on the
same tinted data: the share of generated images whose predicted category and colour equal the
condition. Its own accuracy on held-out real images is reported beside it, since a match rate is only
as meaningful as the judge. Its penultimate features give a Fréchet distance between real and generated
images (FID's formula with an in-project feature extractor: no Inception weights to download, and
comparable only between runs that use the same classifier).
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from .data import CATEGORIES, COLOURS, DEFAULT_ROOT, TintedFashionMNIST, fetch_batch
from .labels import JUDGE_FILE, JUDGE_FORMAT_VERSION
from .models import Generator
from .train import GanConfig, GanSampler, build_models

logger = logging.getLogger(__name__)

FORMAT_VERSION = JUDGE_FORMAT_VERSION
ARTIFACT_KIND = "gan-judge-classifier"
# Inputs of any size are resized to this: cheap, and colour and silhouette survive it.
INPUT_SIZE = 32


class _Network(nn.Module):
    def __init__(self, n_categories: int, n_colours: int, feature_dim: int = 128) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(64, 128, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(128 * (INPUT_SIZE // 8) ** 2, feature_dim),
            nn.ReLU(),
        )
        self.category_head = nn.Linear(feature_dim, n_categories)
        self.colour_head = nn.Linear(feature_dim, n_colours)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if images.shape[-1] != INPUT_SIZE or images.shape[-2] != INPUT_SIZE:
            images = F.interpolate(images, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", antialias=True)
        features = self.body(images)
        return features, self.category_head(features), self.colour_head(features)


class Classifier:
    """Predicts (category, colour) of images in [-1, 1]; batches internally, runs under inference mode."""

    def __init__(self, network: _Network, n_categories: int, n_colours: int) -> None:
        self.network = network.eval()
        self.n_categories = n_categories
        self.n_colours = n_colours
        self.device = next(network.parameters()).device

    def _run(self, images: torch.Tensor, batch_size: int = 256) -> tuple[torch.Tensor, ...]:
        outputs: list[tuple[torch.Tensor, ...]] = []
        with torch.inference_mode():
            for start in range(0, len(images), batch_size):
                chunk = images[start : start + batch_size].to(self.device)
                outputs.append(tuple(t.float().cpu() for t in self.network(chunk)))
        if not outputs:
            raise ValueError("no images given")
        return tuple(torch.cat(parts) for parts in zip(*outputs, strict=True))

    def predict(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(category ids, colour ids), each (N,) int64."""
        _, category_logits, colour_logits = self._run(images)
        return category_logits.argmax(dim=1), colour_logits.argmax(dim=1)

    def category_probabilities(self, images: torch.Tensor) -> torch.Tensor:
        """(N, n_categories) softmax: how sure the judge is, for suggestions made from photos."""
        _, category_logits, _ = self._run(images)
        return category_logits.softmax(dim=1)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Penultimate features (N, F) for the Fréchet distance."""
        return self._run(images)[0]

    def accuracy(self, dataset: Dataset, *, limit: int | None = None) -> dict[str, float]:
        """Category and colour accuracy on (real) labelled images."""
        n = len(dataset) if limit is None else min(limit, len(dataset))
        images, categories, colours = fetch_batch(dataset, torch.arange(n))
        predicted_categories, predicted_colours = self.predict(images)
        return {
            "category_accuracy": float((predicted_categories == categories).float().mean()),
            "colour_accuracy": float((predicted_colours == colours).float().mean()),
        }

    def save(self, path: Path) -> Path:
        """One file with a format version, written to a temp file and renamed into place."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "kind": ARTIFACT_KIND,
            "format_version": FORMAT_VERSION,
            "n_categories": self.n_categories,
            "n_colours": self.n_colours,
            "state_dict": {k: v.detach().cpu() for k, v in self.network.state_dict().items()},
        }
        handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as temp_file:
                torch.save(payload, temp_file)
            os.replace(temp_name, path)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
        return path


def load_classifier(path: Path, device: str | torch.device | None = None) -> Classifier:
    """Load a classifier saved by :meth:`Classifier.save`; another format version is refused."""
    payload = torch.load(Path(path), map_location="cpu", weights_only=True)
    if payload.get("kind") != ARTIFACT_KIND or payload.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path} is not a judge classifier of format {FORMAT_VERSION} "
            f"(kind {payload.get('kind')!r}, format {payload.get('format_version')!r}); train it again"
        )
    network = _Network(payload["n_categories"], payload["n_colours"])
    network.load_state_dict(payload["state_dict"])
    device = torch.device(device) if device else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return Classifier(network.to(device), payload["n_categories"], payload["n_colours"])


def train_classifier(
    dataset: Dataset,
    *,
    steps: int,
    batch_size: int = 64,
    seed: int = 0,
    lr: float = 1e-3,
    n_categories: int = len(CATEGORIES),
    n_colours: int = len(COLOURS),
    device: str | torch.device | None = None,
) -> Classifier:
    """Train the two-head classifier for ``steps`` batches drawn (seeded) from ``dataset``."""
    torch.manual_seed(seed)
    device = torch.device(device) if device else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    network = _Network(n_categories, n_colours).to(device).train()
    optimiser = torch.optim.Adam(network.parameters(), lr=lr)
    sampler = torch.Generator().manual_seed(seed)
    batch_size = min(batch_size, len(dataset))
    for _ in range(steps):
        indices = torch.randint(0, len(dataset), (batch_size,), generator=sampler)
        images, categories, colours = fetch_batch(dataset, indices)
        _, category_logits, colour_logits = network(images.to(device))
        loss = F.cross_entropy(category_logits, categories.to(device)) + F.cross_entropy(
            colour_logits, colours.to(device)
        )
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
    return Classifier(network.eval(), n_categories, n_colours)


def _sqrt_trace_product(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """tr(sqrtm(A B)) for symmetric PSD A, B, via the symmetric form sqrt(A) B sqrt(A) and eigh."""
    values, vectors = torch.linalg.eigh(a)
    sqrt_a = (vectors * values.clamp(min=0).sqrt()) @ vectors.T
    middle = sqrt_a @ b @ sqrt_a
    middle = (middle + middle.T) / 2  # remove round-off asymmetry before eigh
    return torch.linalg.eigvalsh(middle).clamp(min=0).sqrt().sum()


def frechet_distance(features_a: torch.Tensor, features_b: torch.Tensor) -> float:
    """‖μa − μb‖² + tr(Σa + Σb − 2·sqrt(Σa Σb)) between two feature sets (N, F), in float64."""
    a = features_a.detach().to(torch.float64).cpu()
    b = features_b.detach().to(torch.float64).cpu()
    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"expected two (N, F) feature sets, got {tuple(a.shape)} and {tuple(b.shape)}")
    if len(a) < 2 or len(b) < 2:
        raise ValueError("need at least two samples per set for a covariance")
    mean_a, mean_b = a.mean(dim=0), b.mean(dim=0)
    cov_a, cov_b = torch.cov(a.T), torch.cov(b.T)
    distance = (
        (mean_a - mean_b).square().sum()
        + cov_a.trace()
        + cov_b.trace()
        - 2 * _sqrt_trace_product(cov_a, cov_b)
    )
    return max(float(distance), 0.0)


def _generate(
    model: GanSampler | Generator, categories: torch.Tensor, colours: torch.Tensor, seed: int
) -> torch.Tensor:
    if isinstance(model, GanSampler):
        return model.generate(categories, colours, seed=seed)
    device = next(model.parameters()).device
    noise_rng = torch.Generator().manual_seed(seed)
    z = torch.randn(len(categories), model.z_dim, generator=noise_rng)
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        images = model(z.to(device), categories.to(device), colours.to(device)).float().cpu()
    model.train(was_training)
    return images


def evaluate_generator(
    sampler_or_generator: GanSampler | Generator,
    classifier: Classifier,
    real_dataset: Dataset,
    *,
    samples_per_condition: int = 8,
    conditions: Sequence[tuple[int, int]] | None = None,
    held_out: Dataset | None = None,
    seed: int = 0,
    batch_size: int = 256,
) -> dict[str, Any]:
    """Match rates and Fréchet distance of generated images, judged by ``classifier``.

    Every (category, colour) condition (or those given) gets ``samples_per_condition`` images. The
    Fréchet distance compares them with as many real images from ``real_dataset`` (its first ones,
    so repeated evaluations use the same reference). With ``held_out`` (real images the classifier
    did not train on, e.g. the test split) the classifier's own accuracy is reported too.
    """
    started = time.perf_counter()
    if conditions is None:
        conditions = [(c, k) for c in range(classifier.n_categories) for k in range(classifier.n_colours)]
    wanted_categories = torch.tensor([c for c, _ in conditions]).repeat_interleave(samples_per_condition)
    wanted_colours = torch.tensor([k for _, k in conditions]).repeat_interleave(samples_per_condition)
    feature_chunks = []
    predicted_categories, predicted_colours = [], []
    for index, start in enumerate(range(0, len(wanted_categories), batch_size)):
        images = _generate(
            sampler_or_generator,
            wanted_categories[start : start + batch_size],
            wanted_colours[start : start + batch_size],
            seed + index,
        )
        features, category_logits, colour_logits = classifier._run(images)
        feature_chunks.append(features)
        predicted_categories.append(category_logits.argmax(dim=1))
        predicted_colours.append(colour_logits.argmax(dim=1))
    category_hit = torch.cat(predicted_categories) == wanted_categories
    colour_hit = torch.cat(predicted_colours) == wanted_colours
    generated_features = torch.cat(feature_chunks)

    n_real = min(len(real_dataset), len(generated_features))
    real_features = torch.cat(
        [
            classifier.features(
                fetch_batch(real_dataset, torch.arange(start, min(start + batch_size, n_real)))[0]
            )
            for start in range(0, n_real, batch_size)
        ]
    )
    metrics: dict[str, Any] = {
        "category_match": float(category_hit.float().mean()),
        "colour_match": float(colour_hit.float().mean()),
        "both_match": float((category_hit & colour_hit).float().mean()),
        "frechet_distance": frechet_distance(real_features, generated_features),
        "generated_images": len(generated_features),
        "real_images": n_real,
    }
    if held_out is not None:
        accuracy = classifier.accuracy(held_out)
        metrics["classifier_category_accuracy"] = accuracy["category_accuracy"]
        metrics["classifier_colour_accuracy"] = accuracy["colour_accuracy"]
    metrics["seconds"] = round(time.perf_counter() - started, 2)
    return metrics


def demo_judge(
    store_dir: Path, *, data_root: Path = DEFAULT_ROOT, steps: int = 300, seed: int = 0
) -> Classifier:
    """The project's judge, trained once on tinted Fashion-MNIST and kept in ``store_dir``.

    Every model version is scored by the same judge, so their Fréchet distances compare; a file of
    another format version is ignored and replaced.
    """
    path = Path(store_dir) / JUDGE_FILE
    if path.exists():
        try:
            return load_classifier(path)
        except (ValueError, KeyError, RuntimeError) as exc:
            logger.warning("Training the judge again: %s could not be loaded (%s)", path, exc)
    # 64×64 inputs, resized inside the judge like generated images of any size.
    dataset = TintedFashionMNIST(data_root, "train", image_size=64, seed=seed)
    judge = train_classifier(dataset, steps=steps, batch_size=64, seed=seed)
    judge.save(path)
    return judge


def evaluate_checkpoint(
    checkpoint: Path,
    *,
    store_dir: Path,
    data_root: Path = DEFAULT_ROOT,
    samples_per_condition: int = 8,
    judge_steps: int = 300,
    real_images: int = 2000,
    held_out_images: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """Score a training checkpoint's EMA generator with the demo judge (see :func:`evaluate_generator`).

    The reference images are tinted Fashion-MNIST (train split), the classifier's own accuracy is
    measured on the test split. Only models conditioned on the demo palette and categories can be
    judged: the judge knows no other labels.
    """
    state = torch.load(Path(checkpoint), map_location="cpu", weights_only=False)  # our own checkpoint
    config = GanConfig.from_dict(state["config"])
    if (config.n_categories, config.n_colours) != (len(CATEGORIES), len(COLOURS)):
        raise ValueError(
            f"The judge knows {len(CATEGORIES)} categories and {len(COLOURS)} colours; this model has "
            f"{config.n_categories} and {config.n_colours}"
        )
    judge = demo_judge(store_dir, data_root=data_root, steps=judge_steps, seed=seed)
    generator, _ = build_models(config)
    generator.load_state_dict(state["ema"])
    real = TintedFashionMNIST(data_root, "train", image_size=config.image_size, limit=real_images, seed=seed)
    held_out = TintedFashionMNIST(
        data_root, "test", image_size=config.image_size, limit=held_out_images, seed=seed + 1
    )
    metrics = evaluate_generator(
        generator.to(judge.device).eval(),
        judge,
        real,
        samples_per_condition=samples_per_condition,
        held_out=held_out,
        seed=seed,
    )
    return {key: round(value, 4) if isinstance(value, float) else value for key, value in metrics.items()}
