"""Training images for the product-image GAN: tinted Fashion-MNIST for the demo, merchants' photos later.

Fashion-MNIST is a white garment on black, 28×28, grey. A shop image is the opposite: a coloured product
on a light background. So every garment is drawn in a palette colour on a near-white background; the
colour is a condition the model learns ("red dress"), chosen per image by a seeded draw so the same index
is always the same image.

The data comes from Debian's ``dataset-fashion-mnist`` package, read from disk; nothing is downloaded.
Everything here returns float tensors in [-1, 1], shape (3, S, S), the range the generator's tanh has.
"""

from __future__ import annotations

import gzip
import os
import struct
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset, default_collate

# Re-exported: the names and lookups belong with the data, but live in a module without torch.
from .labels import (  # noqa: F401
    BACKGROUND_RGB,
    CATEGORIES,
    COLOURS,
    Category,
    Colour,
    category_index,
    colour_index,
)

if TYPE_CHECKING:
    from PIL import Image

DEFAULT_ROOT = Path("/usr/share/datasets/fashion-mnist")
DEBIAN_PACKAGE = "dataset-fashion-mnist"

_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
_IMAGES_MAGIC = 2051  # IDX: unsigned byte, 3 dimensions
_LABELS_MAGIC = 2049  # IDX: unsigned byte, 1 dimension


def load_fashion_mnist(
    root: Path = DEFAULT_ROOT, split: str = "train", limit: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 28, 28) uint8 and labels (N,) int64 from the IDX gzip files.

    With ``limit`` only the first images are decompressed, which keeps tests fast.
    """
    if split not in _FILES:
        raise ValueError(f"Unknown split {split!r}; choose 'train' or 'test'")
    root = Path(root)
    images_path, labels_path = (root / name for name in _FILES[split])
    for path in (images_path, labels_path):
        if not path.exists():
            raise FileNotFoundError(
                f"{path} is missing; install the Debian package {DEBIAN_PACKAGE} "
                f"(apt-get install {DEBIAN_PACKAGE}) or pass the folder that holds the Fashion-MNIST files"
            )
    with gzip.open(images_path, "rb") as handle:
        magic, count, rows, cols = struct.unpack(">IIII", handle.read(16))
        if magic != _IMAGES_MAGIC:
            raise ValueError(
                f"{images_path} is not an IDX image file (magic {magic}, expected {_IMAGES_MAGIC})"
            )
        n = count if limit is None else min(count, limit)
        raw = handle.read(n * rows * cols)
    if len(raw) != n * rows * cols:
        raise ValueError(f"{images_path} is truncated: expected {n} images of {rows}×{cols}")
    with gzip.open(labels_path, "rb") as handle:
        magic, label_count = struct.unpack(">II", handle.read(8))
        if magic != _LABELS_MAGIC:
            raise ValueError(
                f"{labels_path} is not an IDX label file (magic {magic}, expected {_LABELS_MAGIC})"
            )
        if label_count != count:
            raise ValueError(f"{images_path} has {count} images but {labels_path} has {label_count} labels")
        labels_raw = handle.read(n)
    if len(labels_raw) != n:
        raise ValueError(f"{labels_path} is truncated")
    images = np.frombuffer(raw, dtype=np.uint8).reshape(n, rows, cols).copy()
    labels = np.frombuffer(labels_raw, dtype=np.uint8).astype(np.int64)
    return images, labels


def tint(grey: torch.Tensor, rgb: torch.Tensor, image_size: int) -> torch.Tensor:
    """Garments (N, H, W) in [0, 1] (white on black) → coloured garments on the light background.

    The grey level does two jobs: where it is low the background shows through (soft edges), and inside
    the garment it shades the colour (Fashion-MNIST's texture and folds), so a red dress stays red but
    not flat. ``rgb`` is (N, 3) in [0, 1]. Returns (N, 3, S, S) in [-1, 1].
    """
    if grey.dim() != 3:
        raise ValueError(f"expected (N, H, W) grey images, got shape {tuple(grey.shape)}")
    grey = grey.float().unsqueeze(1)
    if grey.shape[-1] != image_size:
        grey = F.interpolate(grey, size=(image_size, image_size), mode="bilinear", align_corners=False)
    grey = grey.clamp(0.0, 1.0)
    coverage = (grey * 2.0).clamp(max=1.0)
    shade = 0.7 + 0.3 * grey
    colour = rgb.float().view(-1, 3, 1, 1)
    background = torch.tensor(BACKGROUND_RGB, dtype=torch.float32).view(1, 3, 1, 1) / 255.0
    image = background * (1.0 - coverage) + colour * shade * coverage
    return image * 2.0 - 1.0


def palette_tensor() -> torch.Tensor:
    """The palette as (n_colours, 3) floats in [0, 1]."""
    return torch.tensor([c.rgb for c in COLOURS], dtype=torch.float32) / 255.0


class TintedFashionMNIST(Dataset):
    """Fashion-MNIST garments in palette colours: items are ``(image, category, colour)``.

    The colour of each index is drawn once from ``seed`` (from ``colours``, all palette colours by
    default), so an epoch, a resumed run and an evaluation all see the same "red dress" for index i.
    """

    def __init__(
        self,
        root: Path = DEFAULT_ROOT,
        split: str = "train",
        *,
        image_size: int = 64,
        limit: int | None = None,
        colours: Sequence[int] | None = None,
        categories: Sequence[int] | None = None,
        seed: int = 0,
    ) -> None:
        images, labels = load_fashion_mnist(root, split, limit=None if categories else limit)
        if categories is not None:
            keep = np.isin(labels, np.asarray(list(categories)))
            images, labels = images[keep], labels[keep]
            if limit is not None:
                images, labels = images[:limit], labels[:limit]
        allowed = np.asarray(list(range(len(COLOURS))) if colours is None else list(colours), dtype=np.int64)
        if allowed.size == 0 or allowed.min() < 0 or allowed.max() >= len(COLOURS):
            raise ValueError(f"colours must be ids in 0..{len(COLOURS) - 1}")
        rng = np.random.default_rng(seed)
        self.images = torch.from_numpy(images)
        self.categories = torch.from_numpy(labels)
        self.colours = torch.from_numpy(allowed[rng.integers(0, allowed.size, size=len(labels))])
        self.image_size = image_size
        self._palette = palette_tensor()

    def __len__(self) -> int:
        return len(self.categories)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int, int]:
        colour = int(self.colours[index])
        image = tint(
            self.images[index : index + 1] / 255.0, self._palette[colour : colour + 1], self.image_size
        )
        return image[0], int(self.categories[index]), colour

    def batch(self, indices: Sequence[int] | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Many items at once, tinted in one call: much faster than a DataLoader over ``__getitem__``."""
        indices = torch.as_tensor(indices, dtype=torch.long)
        colours = self.colours[indices]
        images = tint(self.images[indices] / 255.0, self._palette[colours], self.image_size)
        return images, self.categories[indices], colours


def fetch_batch(dataset: Dataset, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A batch ``(images, categories, colours)``; a dataset's vectorised ``batch()`` skips per-item calls."""
    batch = getattr(dataset, "batch", None)
    if callable(batch):
        images, categories, colours = batch(indices)
    else:
        images, categories, colours = default_collate([dataset[int(i)] for i in indices])
    return images, torch.as_tensor(categories, dtype=torch.long), torch.as_tensor(colours, dtype=torch.long)


def _pil_to_tensor(image: Image.Image) -> torch.Tensor:
    array = np.asarray(image, dtype=np.uint8)
    return torch.from_numpy(array.copy()).permute(2, 0, 1).float() / 127.5 - 1.0


def prepare_product_image(image: Image.Image, image_size: int) -> torch.Tensor:
    """A merchant's photo → (3, S, S) in [-1, 1]: RGB, padded to a square on the light background.

    Padding (not cropping) keeps the whole product, centred, as in the tinted demo data; transparent
    pixels become background rather than black.
    """
    from PIL import Image, ImageOps

    background = Image.new("RGB", image.size, BACKGROUND_RGB)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        rgb = background
    else:
        rgb = image.convert("RGB")
    square = ImageOps.pad(
        rgb,
        (image_size, image_size),
        method=Image.Resampling.BILINEAR,
        color=BACKGROUND_RGB,
        centering=(0.5, 0.5),
    )
    return _pil_to_tensor(square)


class ImageFolderDataset(Dataset):
    """Merchants' own product photos with their category and colour ids: items are ``(image, c, k)``."""

    def __init__(self, samples: Sequence[tuple[Image.Image, int, int]], image_size: int) -> None:
        self.samples = list(samples)
        self.image_size = image_size

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int, int]:
        image, category, colour = self.samples[index]
        return prepare_product_image(image, self.image_size), int(category), int(colour)


def catalog_dataset(samples: Sequence[tuple[Image.Image, int, int]], image_size: int) -> ImageFolderDataset:
    """A dataset over a merchant's (photo, category id, colour id) triples."""
    return ImageFolderDataset(samples, image_size)


def to_pil(tensor: torch.Tensor) -> Image.Image:
    """(3, S, S) in [-1, 1] → an RGB PIL image."""
    from PIL import Image

    if tensor.dim() != 3 or tensor.shape[0] != 3:
        raise ValueError(f"expected a (3, S, S) image tensor, got shape {tuple(tensor.shape)}")
    array = ((tensor.detach().float().cpu().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)
    return Image.fromarray(array.permute(1, 2, 0).numpy(), mode="RGB")


def make_grid(tensors: torch.Tensor | Sequence[torch.Tensor], nrow: int, padding: int = 2) -> torch.Tensor:
    """Images (N, 3, S, S) → one (3, H, W) grid, ``nrow`` images per row, separated by white lines."""
    batch = torch.stack(list(tensors)) if not isinstance(tensors, torch.Tensor) else tensors
    batch = batch.detach().float().cpu()
    n, channels, height, width = batch.shape
    ncol = max(1, nrow)
    nrows = (n + ncol - 1) // ncol
    grid = torch.ones(
        channels, nrows * (height + padding) + padding, ncol * (width + padding) + padding
    )  # white (1.0 in [-1, 1])
    for i in range(n):
        row, col = divmod(i, ncol)
        top, left = padding + row * (height + padding), padding + col * (width + padding)
        grid[:, top : top + height, left : left + width] = batch[i]
    return grid


def save_grid(tensors: torch.Tensor | Sequence[torch.Tensor], path: Path, nrow: int) -> Path:
    """Write images as one PNG grid, atomically: a reader never sees a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image = to_pil(make_grid(tensors, nrow))
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}-", suffix=".png", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as temp_file:
            image.save(temp_file, format="PNG")
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return path
