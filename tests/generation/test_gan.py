"""The product-image GAN: data, models, resumable training, artifacts and the judge classifier.

Small on purpose (32×32, a few channels, slices of Fashion-MNIST) so the file runs in well under a
minute on two CPU cores; 64×64 is covered for shapes and artifacts. No database is needed.
"""

from __future__ import annotations

import gzip
import json
import math
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from generation.ml.gan import (
    CATEGORIES,
    COLOURS,
    FORMAT_VERSION,
    ArtifactError,
    Discriminator,
    GanConfig,
    Generator,
    TintedFashionMNIST,
    catalog_dataset,
    category_index,
    colour_index,
    d_hinge_loss,
    evaluate_checkpoint,
    evaluate_generator,
    frechet_distance,
    g_hinge_loss,
    load_classifier,
    load_fashion_mnist,
    load_sampler,
    save_artifact,
    save_grid,
    to_pil,
    train_classifier,
    train_gan,
)
from generation.ml.gan.data import BACKGROUND_RGB, DEFAULT_ROOT, tint

RED, BLUE = colour_index("red"), colour_index("blue")

pytestmark = pytest.mark.skipif(
    not (DEFAULT_ROOT / "train-images-idx3-ubyte.gz").exists(),
    reason="Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)",
)


@pytest.fixture(scope="module")
def slice32() -> TintedFashionMNIST:
    return TintedFashionMNIST(image_size=32, limit=512)


def tiny_config(**overrides) -> GanConfig:
    values = {"image_size": 32, "base_channels": 4, "batch_size": 16, "max_steps": 4, "epochs": 10}
    values.update(overrides)
    return GanConfig(**values)


# --- Data ------------------------------------------------------------------------------------


def test_fashion_mnist_loads_with_limit_and_both_splits():
    images, labels = load_fashion_mnist(limit=1000)
    assert images.shape == (1000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (1000,) and labels.dtype == np.int64
    assert set(labels.tolist()) == set(range(10))
    assert images.max() > 200 and images[:, 0, 0].max() < 50  # white garment, black corners

    test_images, test_labels = load_fashion_mnist(split="test")
    assert test_images.shape == (10000, 28, 28) and len(test_labels) == 10000


def test_missing_files_name_the_debian_package(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="dataset-fashion-mnist"):
        load_fashion_mnist(tmp_path)
    with pytest.raises(ValueError, match="split"):
        load_fashion_mnist(split="validation")


def test_wrong_magic_number_is_refused(tmp_path: Path):
    with gzip.open(tmp_path / "train-images-idx3-ubyte.gz", "wb") as handle:
        handle.write(struct.pack(">IIII", 2049, 1, 28, 28) + bytes(784))
    with gzip.open(tmp_path / "train-labels-idx1-ubyte.gz", "wb") as handle:
        handle.write(struct.pack(">II", 2049, 1) + bytes(1))
    with pytest.raises(ValueError, match="magic"):
        load_fashion_mnist(tmp_path)


@pytest.mark.parametrize("colour", range(len(COLOURS)))
def test_tinting_draws_the_garment_in_its_colour_on_a_light_background(colour: int):
    images, _ = load_fashion_mnist(limit=16)
    grey = torch.from_numpy(images) / 255.0
    palette = torch.tensor([c.rgb for c in COLOURS], dtype=torch.float32) / 255.0
    tinted = (tint(grey, palette[[colour] * 16], 28) + 1) / 2  # back to [0, 1]
    garment = grey > 0.6
    garment_rgb = tinted.permute(0, 2, 3, 1)[garment].mean(dim=0)
    background_rgb = tinted.permute(0, 2, 3, 1)[grey == 0].mean(dim=0)

    distances = (palette - garment_rgb).norm(dim=1)
    assert int(distances.argmin()) == colour
    assert float(distances[colour]) < 0.15
    assert torch.allclose(background_rgb, torch.tensor(BACKGROUND_RGB) / 255.0, atol=1e-3)
    assert float(background_rgb.min()) > 0.9


def test_tinted_dataset_items_sizes_and_deterministic_colours():
    dataset = TintedFashionMNIST(image_size=32, limit=200, seed=3)
    image, category, colour = dataset[5]
    assert image.shape == (3, 32, 32) and image.dtype == torch.float32
    assert float(image.min()) >= -1.0 and float(image.max()) <= 1.0
    assert 0 <= category < len(CATEGORIES) and 0 <= colour < len(COLOURS)

    again = TintedFashionMNIST(image_size=32, limit=200, seed=3)
    other_seed = TintedFashionMNIST(image_size=32, limit=200, seed=4)
    assert torch.equal(dataset.colours, again.colours)
    assert not torch.equal(dataset.colours, other_seed.colours)
    assert len(set(dataset.colours.tolist())) == len(COLOURS)

    images, categories, colours = dataset.batch([5, 6])
    assert torch.allclose(images[0], image) and int(categories[0]) == category and int(colours[0]) == colour

    two = TintedFashionMNIST(image_size=64, limit=100, colours=[RED, BLUE])
    assert set(two.colours.tolist()) == {RED, BLUE}
    assert two[0][0].shape == (3, 64, 64)
    dresses = TintedFashionMNIST(image_size=32, limit=20, categories=[category_index("dress")])
    assert len(dresses) == 20 and set(dresses.categories.tolist()) == {3}


def test_names_in_english_and_chinese():
    assert category_index("Dress") == category_index("连衣裙") == 3
    assert category_index(" ankle boot ") == category_index("短靴") == 9
    assert colour_index("RED") == colour_index("红色") == RED
    assert colour_index("蓝色") == BLUE
    with pytest.raises(ValueError, match=r"dress \(连衣裙\)"):
        category_index("hat")
    with pytest.raises(ValueError, match="red"):
        colour_index("white")
    assert len(CATEGORIES) == 10 and 8 <= len(COLOURS) <= 10


def test_catalog_photos_are_padded_onto_the_light_background():
    wide_red = Image.new("RGB", (60, 20), (220, 20, 30))
    transparent = Image.new("RGBA", (20, 20), (0, 0, 0, 0))
    dataset = catalog_dataset([(wide_red, 3, RED), (transparent, 0, BLUE)], image_size=32)
    image, category, colour = dataset[0]
    assert image.shape == (3, 32, 32) and (category, colour) == (3, RED)
    pixels = (image + 1) / 2
    assert pixels[:, 0, 0].min() > 0.9  # padding above the product is background
    assert pixels[0, 16, 16] > 0.8 and pixels[2, 16, 16] < 0.2  # the product, centred and red
    assert float(((dataset[1][0] + 1) / 2).min()) > 0.9  # transparency becomes background, not black


def test_grid_png_is_written_atomically(tmp_path: Path):
    images = torch.rand(6, 3, 32, 32) * 2 - 1
    path = save_grid(images, tmp_path / "grids" / "grid.png", nrow=3)
    with Image.open(path) as grid:
        assert grid.size == (3 * 34 + 2, 2 * 34 + 2) and grid.mode == "RGB"
    assert [p.name for p in path.parent.iterdir()] == ["grid.png"]
    assert to_pil(images[0]).size == (32, 32)


def test_the_package_imports_no_django():
    code = "import sys, generation.ml.gan; print(any(m.split('.')[0] == 'django' for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- Models ----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [32, 64])
def test_generator_and_discriminator_shapes(size: int):
    generator = Generator(z_dim=16, image_size=size, base_channels=4)
    discriminator = Discriminator(image_size=size, base_channels=4)
    categories, colours = torch.tensor([0, 3, 9]), torch.tensor([RED, BLUE, 0])
    images = generator(torch.randn(3, 16), categories, colours)
    assert images.shape == (3, 3, size, size)
    assert float(images.detach().abs().max()) <= 1.0
    scores = discriminator(images, categories, colours)
    assert scores.shape == (3,)
    # The projection term makes the score depend on the condition, not only the image.
    assert not torch.allclose(scores, discriminator(images, categories, torch.tensor([BLUE, RED, 1])))


def test_sizes_must_be_powers_of_two():
    with pytest.raises(ValueError, match="power of two"):
        Generator(image_size=48)
    with pytest.raises(ValueError, match="power of two"):
        Discriminator(image_size=8)


def test_hinge_losses():
    assert float(d_hinge_loss(torch.tensor([2.0, 0.0]), torch.tensor([-2.0, 0.0]))) == pytest.approx(1.0)
    assert float(d_hinge_loss(torch.tensor([1.5]), torch.tensor([-1.5]))) == 0.0
    assert float(g_hinge_loss(torch.tensor([1.0, 3.0]))) == pytest.approx(-2.0)


# --- Training --------------------------------------------------------------------------------


def test_training_steps_checkpoint_and_resume(slice32: TintedFashionMNIST, tmp_path: Path):
    seen: list[int] = []
    first = train_gan(
        tiny_config(), slice32, tmp_path / "run", progress=lambda step, total, m: seen.append(step)
    )
    assert first.steps == 4 and seen == [1, 2, 3, 4]
    assert first.checkpoint == tmp_path / "run" / "checkpoint.pt" and first.checkpoint.exists()
    assert all(math.isfinite(d) and math.isfinite(g) for _, d, g in first.losses)
    assert len({round(d, 6) for _, d, _ in first.losses}) > 1  # the losses move
    assert first.images_per_second > 0
    assert (tmp_path / "run" / "samples" / "step-000004.png").exists()

    resumed = train_gan(tiny_config(max_steps=8), slice32, tmp_path / "run", resume=True)
    assert resumed.steps == 8 and [s for s, _, _ in resumed.losses] == list(range(1, 9))
    assert resumed.losses[:4] == first.losses

    # Resuming replays the same batches and noise as an uninterrupted run.
    straight = train_gan(tiny_config(max_steps=8), slice32, tmp_path / "straight")
    assert [round(d, 4) for _, d, _ in straight.losses] == [round(d, 4) for _, d, _ in resumed.losses]

    with pytest.raises(ValueError, match="lr_g"):
        train_gan(tiny_config(max_steps=12, lr_g=1e-3), slice32, tmp_path / "run", resume=True)


def test_an_epoch_ends_with_a_checkpoint_and_a_sample_grid(slice32: TintedFashionMNIST, tmp_path: Path):
    small = TintedFashionMNIST(image_size=32, limit=48)
    result = train_gan(tiny_config(max_steps=None, epochs=1), small, tmp_path)
    assert result.steps == 3 and result.epochs_completed == 1 and not result.stopped
    with Image.open(tmp_path / "samples" / "epoch-001.png") as grid:  # categories × colours
        assert grid.size == (len(COLOURS) * 34 + 2, len(CATEGORIES) * 34 + 2)
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    assert (state["step"], state["epoch"], state["batch_in_epoch"]) == (3, 1, 0)


def test_should_stop_cancels_between_steps_with_a_checkpoint(slice32: TintedFashionMNIST, tmp_path: Path):
    calls = iter([False, False, True])
    result = train_gan(tiny_config(max_steps=50), slice32, tmp_path, should_stop=lambda: next(calls))
    assert result.stopped and result.steps == 2
    assert torch.load(result.checkpoint, weights_only=False)["step"] == 2
    resumed = train_gan(tiny_config(max_steps=3), slice32, tmp_path, resume=True)
    assert resumed.steps == 3 and not resumed.stopped


@pytest.mark.parametrize("size", [32, 64])
def test_artifact_is_written_atomically_and_samples_images(tmp_path: Path, size: int):
    dataset = TintedFashionMNIST(image_size=size, limit=32)
    result = train_gan(tiny_config(image_size=size, batch_size=8, max_steps=2), dataset, tmp_path / "work")
    target = tmp_path / "artifacts" / "demo"
    save_artifact(result, target, metrics={"colour_match": 0.5}, name="demo")
    save_artifact(result, target, metrics={"colour_match": 0.75}, name="demo")  # replaces the first
    assert sorted(p.name for p in target.parent.iterdir()) == ["demo"]  # no temp or old folder left
    assert sorted(p.name for p in target.iterdir()) == [
        "config.json",
        "generator.pt",
        "manifest.json",
        "metrics.json",
    ]
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["format_version"] == FORMAT_VERSION and manifest["colours"][RED] == "red"
    assert json.loads((target / "metrics.json").read_text()) == {"colour_match": 0.75}
    weights = torch.load(target / "generator.pt", weights_only=True)
    assert "project.weight" in weights and not any("parametrizations" in key for key in weights)  # G only

    sampler = load_sampler(target)
    images = sampler.sample(category=3, colour=RED, count=3, seed=7)
    assert len(images) == 3 and all(i.size == (size, size) and i.mode == "RGB" for i in images)
    assert not sampler.generator.training
    again = sampler.sample(category=3, colour=RED, count=3, seed=7)
    assert [np.asarray(i).tobytes() for i in images] == [np.asarray(i).tobytes() for i in again]
    with pytest.raises(ValueError, match="colour ids"):
        sampler.sample(category=3, colour=len(COLOURS), count=1)


def test_an_artifact_of_another_format_is_refused(tmp_path: Path, slice32: TintedFashionMNIST):
    result = train_gan(tiny_config(max_steps=1), slice32, tmp_path / "work")
    target = save_artifact(result, tmp_path / "artifact", metrics={}, name="old")
    manifest = json.loads((target / "manifest.json").read_text())
    (target / "manifest.json").write_text(json.dumps({**manifest, "format_version": FORMAT_VERSION + 1}))
    with pytest.raises(ArtifactError, match="format"):
        load_sampler(target)
    with pytest.raises(ArtifactError, match="no manifest"):
        load_sampler(tmp_path / "work")


def test_a_short_training_learns_the_colour(tmp_path: Path):
    """Measured: at lr 6e-4 red and blue separate clearly by ~60 steps of 32 images (about 4 s)."""
    dataset = TintedFashionMNIST(image_size=32, limit=2048, colours=[RED, BLUE])
    config = GanConfig(
        image_size=32, base_channels=8, batch_size=32, max_steps=80, epochs=10, lr_g=6e-4, lr_d=6e-4
    )
    sampler = load_sampler(
        save_artifact(train_gan(config, dataset, tmp_path / "w"), tmp_path / "a", metrics={}, name="colour")
    )
    categories = torch.arange(10).repeat_interleave(8)

    def red_minus_blue(colour: int) -> float:
        images = sampler.generate(categories, torch.full_like(categories, colour), seed=1)
        mean = images.mean(dim=(0, 2, 3))
        return float(mean[0] - mean[2])

    assert red_minus_blue(RED) > red_minus_blue(BLUE) + 0.3


# --- Classifier and metrics ------------------------------------------------------------------


@pytest.fixture(scope="module")
def judge():
    return train_classifier(TintedFashionMNIST(image_size=32, limit=2048), steps=60, batch_size=64, seed=0)


@pytest.fixture(scope="module")
def held_out() -> TintedFashionMNIST:
    return TintedFashionMNIST(split="test", image_size=32, limit=500, seed=1)


def test_classifier_predicts_real_images_well_above_chance(judge, held_out):
    images = held_out.batch(torch.arange(20))[0]
    predicted_categories, predicted_colours = judge.predict(images)
    assert predicted_categories.shape == predicted_colours.shape == (20,)
    assert judge.features(images).shape == (20, 128)
    accuracy = judge.accuracy(held_out)
    assert accuracy["colour_accuracy"] > 0.8  # chance is 1/8
    assert accuracy["category_accuracy"] > 0.35  # chance is 1/10
    # Any input size is accepted: 64×64 images are resized for the judge.
    assert judge.predict(TintedFashionMNIST(image_size=64, limit=4).batch([0, 1])[0])[0].shape == (2,)


def test_classifier_save_and_load(judge, held_out, tmp_path: Path):
    path = judge.save(tmp_path / "judge.pt")
    assert [p.name for p in tmp_path.iterdir()] == ["judge.pt"]
    images = held_out.batch(torch.arange(16))[0]
    assert torch.equal(load_classifier(path).features(images), judge.features(images))
    payload = torch.load(path, weights_only=True)
    torch.save({**payload, "format_version": 0}, path)
    with pytest.raises(ValueError, match="format"):
        load_classifier(path)


def test_frechet_distance():
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(400, 8, generator=generator)
    b = a.clone()
    assert frechet_distance(a, b) == pytest.approx(0.0, abs=1e-6)
    shifted = a + 1.0  # same covariance, mean moved by 1 in each of 8 dimensions
    assert frechet_distance(a, shifted) == pytest.approx(8.0, rel=1e-6)
    scaled = a * 2.0  # mean ×2, covariance ×4: ‖μ‖² + tr(Σ + 4Σ - 2·2Σ) = ‖μ‖² + tr(Σ)
    a64 = a.double()
    expected = float(a64.mean(dim=0).square().sum() + torch.cov(a64.T).trace())
    assert frechet_distance(a, scaled) == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError):
        frechet_distance(a, torch.randn(10, 4))


def test_evaluate_generator_reports_rates_and_distance(judge, held_out, slice32):
    generator = Generator(z_dim=16, image_size=32, base_channels=4)
    metrics = evaluate_generator(
        generator, judge, slice32, samples_per_condition=2, held_out=held_out, seed=0
    )
    for key in ("category_match", "colour_match", "both_match"):
        assert 0.0 <= metrics[key] <= 1.0
    assert metrics["both_match"] <= min(metrics["category_match"], metrics["colour_match"])
    assert metrics["generated_images"] == len(CATEGORIES) * len(COLOURS) * 2
    assert metrics["frechet_distance"] > 0
    assert metrics["classifier_colour_accuracy"] > 0.8
    assert generator.training  # evaluation leaves a training generator as it found it

    # Real images judged as if generated match their own conditions and sit close to the real set.
    real_fd = evaluate_generator(_RealAsGenerator(held_out), judge, slice32, samples_per_condition=2)
    assert real_fd["colour_match"] > 0.8
    assert real_fd["frechet_distance"] < metrics["frechet_distance"]


class _RealAsGenerator(Generator):
    """Returns real test images of the asked-for colour: a generator that is perfect at colour."""

    def __init__(self, dataset: TintedFashionMNIST) -> None:
        super().__init__(z_dim=4, image_size=32, base_channels=1)
        self.dataset = dataset

    def forward(self, z, categories, colours):
        picks = []
        for category in categories.tolist():
            matches = torch.nonzero(self.dataset.categories == category).flatten()
            picks.append(int(matches[len(picks) % len(matches)]))
        images = self.dataset.images[picks] / 255.0
        palette = self.dataset._palette[colours]
        return tint(images, palette, 32)


def test_evaluate_checkpoint_trains_the_judge_once(slice32: TintedFashionMNIST, tmp_path: Path):
    result = train_gan(tiny_config(max_steps=1), slice32, tmp_path / "work")
    options = {"samples_per_condition": 1, "judge_steps": 20, "real_images": 100, "held_out_images": 100}
    metrics = evaluate_checkpoint(result.checkpoint, store_dir=tmp_path / "store", **options)
    assert {"category_match", "colour_match", "both_match", "frechet_distance"} <= metrics.keys()
    assert 0.0 <= metrics["classifier_colour_accuracy"] <= 1.0
    json.dumps(metrics)  # stored beside the artifact and on the model row
    [judge_file] = (tmp_path / "store").iterdir()
    modified = judge_file.stat().st_mtime_ns
    again = evaluate_checkpoint(result.checkpoint, store_dir=tmp_path / "store", **options)
    assert again["frechet_distance"] == metrics["frechet_distance"]
    assert judge_file.stat().st_mtime_ns == modified  # reused, not retrained


def test_labels_load_without_torch():
    code = "import sys, generation.ml.gan.labels as l; print(l.colour_index('红色'), 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == [str(RED), "False"]


def test_sampling_uses_the_requested_device_when_available():
    """CPU here; with CUDA the default device would be the GPU (see ``train._device``)."""
    from generation.ml.gan.train import _device

    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert _device(None).type == expected
    assert _device("cpu").type == "cpu"
