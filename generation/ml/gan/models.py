"""A small conditional GAN: a generator with conditional batch norm, a projection discriminator.

Why these pieces:

* Conditional batch norm lets category and colour set every layer's scale and shift, which is how
  a global property like colour reaches every pixel quickly; concatenating the condition only to the
  input noise learns it far more slowly.
* The projection discriminator (Miyato & Koyama 2018) scores "is this a real <category> in <colour>"
  as an inner product between the image features and a learned embedding per category and per
  colour, so wrong-colour fakes are punished directly.
* Spectral norm on every discriminator layer plus the hinge loss is the stable recipe that trains
  without tuning at small batch sizes, which is what two CPU cores allow.

Sizes are powers of two from 16 up (32 and 64 in practice); channels double per halving of the size,
capped at 8 × ``base_channels``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


def _levels(image_size: int) -> int:
    """How many ×2 steps separate 4×4 from the image size."""
    if image_size < 16 or image_size & (image_size - 1):
        raise ValueError(f"image_size must be a power of two ≥ 16, got {image_size}")
    return int(math.log2(image_size)) - 2


class ConditionalBatchNorm2d(nn.Module):
    """Batch norm whose scale and shift come from the condition vector (starts as plain batch norm)."""

    def __init__(self, num_features: int, cond_dim: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(num_features, affine=False)
        self.gain = nn.Linear(cond_dim, num_features)
        self.bias = nn.Linear(cond_dim, num_features)
        for layer in (self.gain, self.bias):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        gain = 1.0 + self.gain(cond)
        bias = self.bias(cond)
        return self.norm(x) * gain[:, :, None, None] + bias[:, :, None, None]


class _UpBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, cond_dim: int) -> None:
        super().__init__()
        self.norm = ConditionalBatchNorm2d(in_channels, cond_dim)
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.norm(x, cond))
        # Nearest upsampling then a 3×3 conv avoids transposed convs' checkerboard pattern.
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class Generator(nn.Module):
    """(noise, category id, colour id) → image (N, 3, S, S) in [-1, 1]."""

    def __init__(
        self,
        z_dim: int = 64,
        n_categories: int = 10,
        n_colours: int = 8,
        image_size: int = 64,
        base_channels: int = 16,
        embed_dim: int = 32,
    ) -> None:
        super().__init__()
        levels = _levels(image_size)
        channels = [base_channels * min(8, 2 ** (levels - i)) for i in range(levels + 1)]
        self.z_dim = z_dim
        self.n_categories = n_categories
        self.n_colours = n_colours
        self.image_size = image_size
        cond_dim = 2 * embed_dim
        self.category_embedding = nn.Embedding(n_categories, embed_dim)
        self.colour_embedding = nn.Embedding(n_colours, embed_dim)
        self.start_channels = channels[0]
        self.project = nn.Linear(z_dim + cond_dim, channels[0] * 16)
        self.blocks = nn.ModuleList(_UpBlock(channels[i], channels[i + 1], cond_dim) for i in range(levels))
        self.out_norm = ConditionalBatchNorm2d(channels[-1], cond_dim)
        self.to_rgb = nn.Conv2d(channels[-1], 3, 3, padding=1)

    def forward(self, z: torch.Tensor, categories: torch.Tensor, colours: torch.Tensor) -> torch.Tensor:
        cond = torch.cat([self.category_embedding(categories), self.colour_embedding(colours)], dim=1)
        x = self.project(torch.cat([z, cond], dim=1)).view(-1, self.start_channels, 4, 4)
        for block in self.blocks:
            x = block(x, cond)
        return torch.tanh(self.to_rgb(F.relu(self.out_norm(x, cond))))


class Discriminator(nn.Module):
    """Image + condition → one unbounded score per image (higher = more real), spectrally normalised."""

    def __init__(
        self,
        n_categories: int = 10,
        n_colours: int = 8,
        image_size: int = 64,
        base_channels: int = 16,
    ) -> None:
        super().__init__()
        levels = _levels(image_size)
        channels = [base_channels * min(8, 2**i) for i in range(levels + 1)]
        self.from_rgb = spectral_norm(nn.Conv2d(3, channels[0], 3, padding=1))
        self.blocks = nn.ModuleList(
            spectral_norm(nn.Conv2d(channels[i], channels[i + 1], 4, stride=2, padding=1))
            for i in range(levels)
        )
        features = channels[-1]
        self.feature_dim = features
        self.linear = spectral_norm(nn.Linear(features, 1))
        self.category_embedding = spectral_norm(nn.Embedding(n_categories, features))
        self.colour_embedding = spectral_norm(nn.Embedding(n_colours, features))

    def features(self, images: torch.Tensor) -> torch.Tensor:
        x = self.from_rgb(images)
        for block in self.blocks:
            x = block(F.leaky_relu(x, 0.1))
        return F.relu(x).sum(dim=(2, 3))  # sum pooling, as in the projection discriminator paper

    def forward(self, images: torch.Tensor, categories: torch.Tensor, colours: torch.Tensor) -> torch.Tensor:
        h = self.features(images)
        projection = (self.category_embedding(categories) * h).sum(dim=1) + (
            self.colour_embedding(colours) * h
        ).sum(dim=1)
        return self.linear(h).squeeze(1) + projection


def d_hinge_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """Discriminator hinge loss: push real scores above +1 and fake scores below -1."""
    return F.relu(1.0 - real_scores).mean() + F.relu(1.0 + fake_scores).mean()


def g_hinge_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """Generator hinge loss: raise the discriminator's score of fakes."""
    return -fake_scores.mean()
