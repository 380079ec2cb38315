"""Product image variants from a small conditional GAN (category × colour); plain Python and torch.

Merchants want more product images. A generator conditioned on category and colour draws variants
("a red dress"); the demo trains it on Fashion-MNIST garments tinted into palette colours on a light
background, and merchants' own photos go through the same preparation (:func:`catalog_dataset`).

* :mod:`.data`: categories and colours (English and Chinese names), the Fashion-MNIST reader, tinting,
  merchant photo preparation, image grids.
* :mod:`.models`: generator (conditional batch norm), projection discriminator (spectral norm), hinge loss.
* :mod:`.train`: :func:`train_gan` with resumable checkpoints and cancellation; atomic, versioned
  artifacts (:func:`save_artifact`) and :func:`load_sampler` to draw images from one.
* :mod:`.classifier`: a two-head judge classifier; match rates and a Fréchet distance of generated images.

* :mod:`.labels`: the names alone, without torch, for forms and services in web processes.

Nothing here imports Django. The public names below load their module (and torch) on first use, so
``import generation.ml.gan.labels`` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "labels": ["CATEGORIES", "COLOURS", "category_index", "colour_index"],
    "data": [
        "DEFAULT_ROOT",
        "ImageFolderDataset",
        "TintedFashionMNIST",
        "catalog_dataset",
        "load_fashion_mnist",
        "save_grid",
        "to_pil",
    ],
    "models": ["Discriminator", "Generator", "d_hinge_loss", "g_hinge_loss"],
    "train": [
        "FORMAT_VERSION",
        "ArtifactError",
        "GanConfig",
        "GanSampler",
        "TrainResult",
        "load_sampler",
        "save_artifact",
        "train_gan",
    ],
    "classifier": [
        "Classifier",
        "evaluate_checkpoint",
        "evaluate_generator",
        "frechet_distance",
        "load_classifier",
        "train_classifier",
    ],
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = [
    "CATEGORIES",
    "COLOURS",
    "DEFAULT_ROOT",
    "FORMAT_VERSION",
    "ArtifactError",
    "Classifier",
    "Discriminator",
    "GanConfig",
    "GanSampler",
    "Generator",
    "ImageFolderDataset",
    "TintedFashionMNIST",
    "TrainResult",
    "catalog_dataset",
    "category_index",
    "colour_index",
    "d_hinge_loss",
    "evaluate_checkpoint",
    "evaluate_generator",
    "frechet_distance",
    "g_hinge_loss",
    "load_classifier",
    "load_fashion_mnist",
    "load_sampler",
    "save_artifact",
    "save_grid",
    "to_pil",
    "train_classifier",
    "train_gan",
]

if TYPE_CHECKING:
    from .classifier import (
        Classifier,
        evaluate_checkpoint,
        evaluate_generator,
        frechet_distance,
        load_classifier,
        train_classifier,
    )
    from .data import (
        DEFAULT_ROOT,
        ImageFolderDataset,
        TintedFashionMNIST,
        catalog_dataset,
        load_fashion_mnist,
        save_grid,
        to_pil,
    )
    from .labels import CATEGORIES, COLOURS, category_index, colour_index
    from .models import Discriminator, Generator, d_hinge_loss, g_hinge_loss
    from .train import (
        FORMAT_VERSION,
        ArtifactError,
        GanConfig,
        GanSampler,
        TrainResult,
        load_sampler,
        save_artifact,
        train_gan,
    )


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
