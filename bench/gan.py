"""Product-image GAN: training and sampling speed, and how well it draws the asked-for category and colour.

Run: .venv/bin/python bench/gan.py [--steps 300] [--eval-at 100 200] [--image-size 64] [--base-channels 16]
     [--batch-size 64] [--lr 2e-4] [--classifier-steps 300] [--json bench/results/gan-cpu.json]

* training: the demo GAN (generation.ml.gan) on Fashion-MNIST tinted into the palette colours, for
  --steps steps; images/s counts real images seen by the discriminator. Training pauses at each
  --eval-at step (a checkpoint, then resume: the same path a restarted worker takes) to be judged.
* judge: a two-head classifier trained here on the same tinted data; its accuracy on the test split
  says how much its verdicts are worth.
* match rates: shares of generated images (every category × colour, --samples-per-condition each)
  whose predicted category / colour / both equal the condition; Fréchet distance between classifier
  features of real and generated images (lower is closer; comparable only with the same judge).
* sampling: images/s of the saved artifact's sampler.

Prints a table, writes JSON and saves a sample grid (rows categories, columns colours) to
docs/gan-samples.png. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--eval-at", type=int, nargs="*", default=[], help="also judge at these steps")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--base-channels", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-4, help="both generator and discriminator")
    parser.add_argument("--train-images", type=int, default=None, help="limit the training split")
    parser.add_argument("--classifier-steps", type=int, default=300)
    parser.add_argument("--samples-per-condition", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: all cores)")
    parser.add_argument("--grid", type=Path, default=ROOT / "docs" / "gan-samples.png")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    import torch

    from generation.ml.gan import (
        GanConfig,
        TintedFashionMNIST,
        evaluate_generator,
        load_sampler,
        save_artifact,
        train_classifier,
        train_gan,
    )
    from generation.ml.gan.train import write_sample_grid

    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"CPU ({os.cpu_count()} cores)"
    train_set = TintedFashionMNIST(image_size=args.image_size, limit=args.train_images, seed=args.seed)
    test_set = TintedFashionMNIST(split="test", image_size=args.image_size, limit=2000, seed=args.seed + 1)

    started = time.perf_counter()
    judge = train_classifier(train_set, steps=args.classifier_steps, batch_size=64, seed=args.seed)
    judge_seconds = time.perf_counter() - started
    judge_accuracy = judge.accuracy(test_set)

    config = GanConfig(
        image_size=args.image_size,
        base_channels=args.base_channels,
        batch_size=args.batch_size,
        epochs=10_000,
        lr_g=args.lr,
        lr_d=args.lr,
        seed=args.seed,
    )
    results: dict[str, object] = {
        "device": device,
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "config": config.to_dict() | {"max_steps": args.steps},
        "train_images": len(train_set),
        "classifier": {
            "steps": args.classifier_steps,
            "seconds": round(judge_seconds, 1),
            **{key: round(value, 4) for key, value in judge_accuracy.items()},
        },
    }
    stages = sorted({s for s in args.eval_at if 0 < s < args.steps} | {args.steps})
    rows: list[dict[str, float]] = []
    train_seconds = 0.0
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch) / "work"
        for stage in stages:
            config.max_steps = stage
            result = train_gan(config, train_set, work, resume=True)
            train_seconds += result.seconds
            artifact = save_artifact(result, Path(scratch) / "artifact", metrics={}, name="bench")
            sampler = load_sampler(artifact)
            metrics = evaluate_generator(
                sampler, judge, train_set, samples_per_condition=args.samples_per_condition, seed=args.seed
            )
            row = {
                "step": stage,
                "d_loss": round(result.losses[-1][1], 3),
                "g_loss": round(result.losses[-1][2], 3),
                **{
                    key: round(metrics[key], 4)
                    for key in ("category_match", "colour_match", "both_match", "frechet_distance")
                },
            }
            rows.append(row)
            print(f"step {stage}: {row}", flush=True)

        count = 256
        categories = torch.arange(count) % config.n_categories
        colours = torch.arange(count) % config.n_colours
        sampler.generate(categories[:16], colours[:16], seed=0)  # warm-up
        sample_started = time.perf_counter()
        sampler.generate(categories, colours, seed=1)
        sampling_ips = count / (time.perf_counter() - sample_started)
        write_sample_grid(sampler.generator, config, args.grid)

    results["training"] = {
        "steps": args.steps,
        "seconds": round(train_seconds, 1),
        "seconds_per_step": round(train_seconds / args.steps, 3),
        "images_per_second": round(args.steps * args.batch_size / train_seconds, 1),
    }
    results["sampling_images_per_second"] = round(sampling_ips, 1)
    results["evaluations"] = rows
    results["grid"] = str(args.grid.relative_to(ROOT) if args.grid.is_relative_to(ROOT) else args.grid)

    training = results["training"]
    print(
        f"\nConditional GAN on {device}, {args.image_size}×{args.image_size}, "
        f"base {args.base_channels} channels"
    )
    print(
        f"{'training':<28} {training['images_per_second']:>8} images/s  {training['seconds_per_step']} s/step"
    )
    print(f"{'sampling':<28} {results['sampling_images_per_second']:>8} images/s")
    print(
        f"{'judge accuracy (test split)':<28} category {judge_accuracy['category_accuracy']:.3f}, "
        f"colour {judge_accuracy['colour_accuracy']:.3f}"
    )
    header = ("step", "cat. match", "col. match", "both", "Fréchet", "d_loss", "g_loss")
    print(" ".join(f"{h:>10}" for h in header))
    for row in rows:
        values = (
            row["step"],
            row["category_match"],
            row["colour_match"],
            row["both_match"],
            row["frechet_distance"],
            row["d_loss"],
            row["g_loss"],
        )
        print(" ".join(f"{v:>10}" for v in values))
    print(f"chance: category {1 / config.n_categories:.3f}, colour {1 / config.n_colours:.3f}")
    print(f"sample grid: {args.grid}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
