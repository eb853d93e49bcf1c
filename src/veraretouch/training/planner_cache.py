"""The planner cache: what training the compact planner reads per sample, rendered once from a built
dataset (`build_planner_cache`) and loaded per split (`load_planner_cache`): the input's
`image_features`, ``PIXELS`` colour pairs (the same random pixels of the rendered input and target
at `FEATURE_SIDE`), the target plan's features, the latent label, the mode and the instruction
(embedded once and kept, `cached_embeddings`).
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

from ..data.loader import RetouchDataset
from ..encoders.slider import flat_features
from ..planner.base import MODES
from ..planner.features import FEATURE_SIDE, image_features
from ..planner.text import TEXT_DIM, InstructionEmbedder

PIXELS = 1024
"""Colour pairs cached per sample for the image loss (the renderer is pointwise: pairs suffice)."""
CACHE_FIELDS = ("features", "input_colors", "target_colors", "plan_features", "latents", "mode")


def build_planner_cache(dataset_dir: Path, photos_dir: Path, cache_dir: Path, progress: bool = True) -> Path:
    """Render every built shard's samples at `FEATURE_SIDE` and cache what training needs, one
    ``<shard>.pt`` per shard (skipped when present, so it resumes and can follow a running build)."""
    from tqdm import tqdm

    cache_dir.mkdir(parents=True, exist_ok=True)
    manifest = json.loads((dataset_dir / "manifest.json").read_text())
    built = [name for name in manifest["shards"] if (dataset_dir / name).exists()
             and not (cache_dir / name.replace(".tar", ".pt")).exists()]
    for name in tqdm(built, desc="planner cache", unit="shard", disable=not progress):
        split = name.split("-")[0]
        dataset = RetouchDataset(dataset_dir, split, photos_dir, side=FEATURE_SIDE, shards=[name])
        rows = {key: [] for key in CACHE_FIELDS}
        texts, records = [], []
        generator = torch.Generator().manual_seed(int.from_bytes(name.encode()[-12:], "little") % (1 << 62))
        for sample in dataset:
            inputs, targets = sample["input"][None], sample["target"][None]
            colors = inputs.shape[-1] * inputs.shape[-2]
            picks = torch.randint(0, colors, (PIXELS,), generator=generator)
            rows["features"].append(image_features(inputs)[0])
            rows["input_colors"].append(inputs.reshape(3, -1)[:, picks].T.half())
            rows["target_colors"].append(targets.reshape(3, -1)[:, picks].T.half())
            rows["plan_features"].append(flat_features(sample["target_plan"][None].double())[0].float())
            rows["latents"].append(sample["latents"])
            rows["mode"].append(torch.tensor(MODES.index(sample["subset"])))
            texts.append(sample["instruction"])
            record = sample["record"]
            records.append(
                {
                    "key": record["key"],
                    "subset": record["subset"],
                    "kinds": record.get("degradation_kinds", []),
                    "preset": record.get("preset", {}).get("name"),
                    "source": record.get("auto_source", "sliders") if record["subset"] == "auto" else None,
                }
            )
        cache = {key: torch.stack(values) if values else torch.zeros(0) for key, values in rows.items()}
        tmp = cache_dir / (name.replace(".tar", ".pt") + ".tmp")
        torch.save({**cache, "texts": texts, "records": records, "split": split}, tmp)
        tmp.replace(cache_dir / name.replace(".tar", ".pt"))
    return cache_dir


def load_planner_cache(cache_dir: Path, split: str, embedder: InstructionEmbedder) -> dict:
    """One split's cached samples, concatenated, with instruction embeddings (zeros for auto)."""
    parts = [torch.load(path, weights_only=False) for path in sorted(cache_dir.glob(f"{split}-*.pt"))]
    parts = [part for part in parts if part["texts"]]
    if not parts:
        raise FileNotFoundError(f"{cache_dir}: no cached {split} shards; run build_planner_cache first")
    merged = {key: torch.cat([part[key] for part in parts]) for key in CACHE_FIELDS}
    merged["texts"] = [text for part in parts for text in part["texts"]]
    merged["records"] = [record for part in parts for record in part["records"]]
    text = cached_embeddings(cache_dir, merged["texts"], embedder)
    merged["text"] = torch.where((merged["mode"] == MODES.index("auto"))[:, None], torch.zeros_like(text), text)
    return merged


def cached_embeddings(cache_dir: Path, texts: list[str], embedder: InstructionEmbedder) -> torch.Tensor:
    """``embedder(texts)``, with every embedding kept in ``cache_dir/instructions.pt`` for the next run
    (embedding ten thousand instructions takes minutes on a CPU)."""
    path = cache_dir / "instructions.pt"
    known = torch.load(path) if path.exists() else {}
    missing = [text for text in dict.fromkeys(texts) if text not in known]
    if missing:
        known.update(zip(missing, embedder(missing)))
        torch.save(known, path.with_suffix(".pt.tmp"))
        path.with_suffix(".pt.tmp").replace(path)
    return torch.stack([known[text] for text in texts]) if texts else torch.zeros(0, TEXT_DIM)
