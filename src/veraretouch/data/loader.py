"""Streaming the built dataset for training: a `torch.utils.data.IterableDataset` over shards.

Each record is a recipe; the loader renders its input and target at the size training wants
(from the photos folder), or decodes the materialised PNGs when the shard has them. Workers of
a `DataLoader` take every n-th shard, so nothing is read twice.
"""
from __future__ import annotations

import io
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import IterableDataset, get_worker_info

from .samples import Recipe, render_pair
from .shards import load_photo, read_shard


def _decode_png(data: bytes) -> torch.Tensor:
    array = np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).copy()
    return torch.from_numpy(array).permute(2, 0, 1)[None].float() / 255.0


class RetouchDataset(IterableDataset):
    """Samples of one split (``subsets`` optional) as dicts: ``input``/``target`` ``(3, h, w)``,
    ``subset``, ``instruction``, ``reasoning``, ``target_plan`` ``(P,)``, ``latents`` and the record."""

    def __init__(self, dataset_dir: str | Path, split: str = "train", photos_dir: str | Path | None = None,
                 side: int = 256, subsets: tuple[str, ...] | None = None, shards: list[str] | None = None) -> None:
        """``shards`` limits the split to those shard file names (e.g. the ones a running build has finished)."""
        self.dataset_dir, self.split, self.side, self.subsets = Path(dataset_dir), split, side, subsets
        self.photos_dir = None if photos_dir is None else Path(photos_dir)
        manifest = json.loads((self.dataset_dir / "manifest.json").read_text())
        self.shards = [self.dataset_dir / name for name in manifest["shards"]
                       if name.startswith(f"{split}-") and (shards is None or name in shards)]
        missing = [path.name for path in self.shards if not path.exists()]
        if missing:
            raise FileNotFoundError(f"{self.dataset_dir}: shards not built yet: {', '.join(missing[:3])}...")
        self._photo_name: str | None = None
        self._photo: torch.Tensor | None = None

    def records(self) -> Iterator[dict]:
        """The split's records (of ``subsets``) in shard order; a `DataLoader` worker gets every n-th shard."""
        info = get_worker_info()
        shards = self.shards if info is None else self.shards[info.id::info.num_workers]
        for shard in shards:
            for record in read_shard(shard):
                if not self.subsets or record["subset"] in self.subsets:
                    yield record

    def sample(self, record: dict) -> dict:
        """One record as a sample: its PNGs decoded (materialised shards) or its images rendered at
        ``side`` from the photo (the last photo read is kept: records of a photo come together)."""
        recipe = Recipe.from_json(record)
        if "images" in record:
            input_image, target_image = (_decode_png(record["images"][k]) for k in ("input", "target"))
        else:
            if self.photos_dir is None:
                raise ValueError("recipe-only shards need photos_dir to render the images")
            if recipe.photo != self._photo_name:
                self._photo_name, self._photo = recipe.photo, load_photo(self.photos_dir / recipe.photo)
            input_image, target_image = render_pair(recipe, self._photo, self.side)
        return {"input": input_image[0], "target": target_image[0], "subset": record["subset"],
                "instruction": record.get("instruction", ""), "reasoning": record["reasoning"],
                "target_plan": recipe.target_plan.to_tensor(), "latents": torch.tensor(record["latents"]),
                "record": {k: v for k, v in record.items() if k != "images"}}

    def __iter__(self) -> Iterator[dict]:
        return (self.sample(record) for record in self.records())


class IndexedRetouchDataset(Sequence):
    """Random access to a `RetouchDataset`'s samples: its records are read once and kept in memory
    (a recipe-only record is ~5 KB; a materialised one also holds its PNGs), and a sample is rendered
    when it is indexed. For drawing random samples (reinforcement learning's prompts)."""

    def __init__(self, dataset: RetouchDataset) -> None:
        self.dataset = dataset
        self.records = list(dataset.records())

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> dict:
        return self.dataset.sample(self.records[index])
