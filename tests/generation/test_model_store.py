"""The model store's rules, without converting anything: versions, atomic replacement, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generation.ml import model_store
from generation.ml.model_store import MANIFEST, ModelStoreError, base_model_location, is_current


def _folder(path: Path, version: int | None) -> Path:
    path.mkdir(parents=True)
    (path / "config.json").write_text("{}")
    if version is not None:
        (path / MANIFEST).write_text(json.dumps({"format_version": version}))
    return path


def test_only_a_folder_of_the_current_format_counts_as_converted(tmp_path: Path) -> None:
    assert is_current(_folder(tmp_path / "now", model_store.FORMAT_VERSION))
    assert not is_current(_folder(tmp_path / "old", model_store.FORMAT_VERSION - 1))
    assert not is_current(_folder(tmp_path / "half-written", None))
    assert not is_current(tmp_path / "missing")


def test_an_old_folder_is_converted_again_and_replaced_whole(tmp_path: Path, monkeypatch) -> None:
    store = tmp_path / "store"
    old = _folder(store / "base" / "tiny", model_store.FORMAT_VERSION - 1)
    (old / "stale-weights.bin").write_text("old")
    converted: list[Path] = []

    def fake_convert(gguf_path: Path, output: Path) -> None:
        converted.append(gguf_path)
        output.mkdir()
        (output / "config.json").write_text("{}")

    monkeypatch.setattr(model_store, "_convert_gguf", fake_convert)
    shipped = model_store.ShippedModel(
        slug="tiny",
        title="Tiny",
        package="tiny",
        install_hint="",
        gguf_locator=lambda scratch: scratch / "t.gguf",
    )
    folder = model_store.ensure_converted(shipped, store_dir=store)
    assert folder == store / "base" / "tiny" and is_current(folder)
    assert not (folder / "stale-weights.bin").exists()
    assert json.loads((folder / MANIFEST).read_text())["name"] == "Tiny"
    # Nothing half-written is left beside it, and a second call converts nothing.
    assert sorted(p.name for p in (store / "base").iterdir()) == ["tiny"]
    assert [p for p in store.iterdir() if p.name.startswith(".tiny-")] == []
    model_store.ensure_converted(shipped, store_dir=store)
    assert len(converted) == 1


def test_a_failed_conversion_leaves_the_old_folder_alone(tmp_path: Path, monkeypatch) -> None:
    store = tmp_path / "store"
    old = _folder(store / "base" / "tiny", model_store.FORMAT_VERSION - 1)

    def broken(gguf_path: Path, output: Path) -> None:
        output.mkdir()
        raise RuntimeError("disk full")

    monkeypatch.setattr(model_store, "_convert_gguf", broken)
    shipped = model_store.ShippedModel("tiny", "Tiny", "tiny", "", lambda scratch: scratch / "t.gguf")
    with pytest.raises(RuntimeError, match="disk full"):
        model_store.ensure_converted(shipped, store_dir=store)
    assert (old / "config.json").exists()
    assert [p for p in store.iterdir() if p.name.startswith(".tiny-")] == []


def test_a_configured_folder_must_be_a_model(tmp_path: Path) -> None:
    with pytest.raises(ModelStoreError, match=r"no config\.json.*COPILOT_BASE_MODEL_EN"):
        base_model_location("en", store_dir=tmp_path, configured=str(tmp_path / "nowhere"))
    folder = _folder(tmp_path / "my-model", None)
    location = base_model_location("zh", store_dir=tmp_path, configured=str(folder))
    assert (location.path, location.name) == (folder, "my-model")
    with pytest.raises(ModelStoreError, match="No base model for language 'fr'"):
        base_model_location("fr", store_dir=tmp_path)
