"""Building the dataset into shards: deterministic, resumable, locally or on Ray Data.

The build is a list of shard specs (split, shard number, the (photo, index) samples it holds),
fixed by the photos, ``per_photo`` and ``shard_size`` alone. Each shard is built independently
by `build_shard` and written atomically as a WebDataset tar (``<key>.json`` per sample, plus
``<key>.input.png`` / ``<key>.target.png`` with ``materialize``) with a ``.stats.json`` sidecar;
a rerun skips shards that exist, so an interrupted build resumes where it stopped. With Ray the
same specs go through ``ray.data`` (one task per shard), so both paths write identical files.
"""
from __future__ import annotations

import hashlib
import io
import json
import tarfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..plan import Plan
from .colors import photo_paths
from .plans import is_held_out
from .samples import SPLITS, SUBSETS, Preset, Recipe, label_sample, make_recipe, render_pair, split_of

PHOTO_SIDE = 1024
"""Photos are decoded once per worker at this long side; crops are taken from that."""


@dataclass
class BuildConfig:
    per_photo: int = 520
    subsets: tuple[str, ...] = SUBSETS
    subset_weights: tuple[float, ...] = (0.5, 0.3, 0.2)
    seed: int = 0
    shard_size: int = 200
    materialize: bool = False
    image_side: int = 384
    fit_steps: int = 30
    fit_pixels: int = 1024
    models: str | None = None
    auto_mix: tuple[float, ...] = (1.0, 0.0, 0.0)
    """Weights of an auto sample's input source (`samples.AUTO_SOURCES`: slider degradation, camera
    faults, none). Data v1 used sliders only; data v2 mixes all three (docs/dataset-card-v2.md)."""

    def weights(self) -> dict[str, float]:
        return {s: w for s, w in zip(SUBSETS, self.subset_weights) if s in self.subsets}


def load_photo(path: Path, side: int = PHOTO_SIDE) -> torch.Tensor:
    """``(1, 3, h, w)`` sRGB float of a photo with its long side reduced to ``side``."""
    with Image.open(path) as image:
        image.draft("RGB", (side, side))
        image = image.convert("RGB")
        image.thumbnail((side, side), Image.LANCZOS)
        return torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1)[None].float() / 255.0


def load_presets(folder: Path | None) -> dict[str, list[Preset]]:
    """Presets by split (by a hash of the file name, like photos); unparseable files are skipped."""
    from ..errors import PlanError

    by_split: dict[str, list[Preset]] = {split: [] for split in SPLITS}
    if folder is None:
        return by_split
    for path in sorted(Path(folder).rglob("*.xmp")):
        try:
            plan = Plan.from_file(path)
        except PlanError:
            continue
        category = path.parent.name
        by_split[split_of(path.name)].append(Preset(plan.name or path.stem, category, plan.description, plan,
                                                    str(path.relative_to(folder))))
    return by_split


def gather_photos(folders: list[Path], out: Path, hold_out: tuple[str, ...] = ()) -> tuple[Path, list[Path]]:
    """One folder of photos for a build from several: ``out/photos`` with a symbolic link per photo of
    ``folders`` (names must be unique), leaving out the photos whose name matches a ``hold_out``
    glob (a whole source kept for benchmarks). One folder and nothing held out: that folder as it is.
    Returns the folder and the held-out photos."""
    if len(folders) == 1 and not hold_out:
        return Path(folders[0]), []
    gathered, held_out = {}, []
    for folder in folders:
        for path in photo_paths(folder):
            if any(path.match(pattern) for pattern in hold_out):
                held_out.append(path)
            elif gathered.setdefault(path.name, path) != path:
                raise ValueError(f"two photos named {path.name}: {gathered[path.name]} and {path}")
    target = Path(out) / "photos"
    target.mkdir(parents=True, exist_ok=True)
    for name, path in gathered.items():
        link = target / name
        if not link.is_symlink():
            link.symlink_to(path.resolve())
    return target, held_out


def shard_specs(photos: list[Path], config: BuildConfig) -> list[dict]:
    """Shard specs: per split, that split's (photo, index) samples in order, ``shard_size`` at a time."""
    specs = []
    for split in SPLITS:
        samples = [(p.name, i) for p in photos if split_of(p.name) == split for i in range(config.per_photo)]
        for number, start in enumerate(range(0, len(samples), config.shard_size)):
            specs.append({"split": split, "number": number, "samples": samples[start:start + config.shard_size]})
    return specs


def shard_name(spec: dict) -> str:
    return f"{spec['split']}-{spec['number']:05d}.tar"


def _png(image: torch.Tensor) -> bytes:
    array = (image[0].permute(1, 2, 0).clamp(0, 1).numpy() * 255).round().astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def _add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), 0, 0o644
    archive.addfile(info, io.BytesIO(data))


class ShardBuilder:
    """Everything a worker needs, loaded once: models, presets, photos (cached as decoded)."""

    def __init__(self, photos_dir: Path, presets_dir: Path | None, config: BuildConfig) -> None:
        from ..weights import load_models

        self.photos_dir, self.config = Path(photos_dir), config
        self.presets = load_presets(presets_dir)
        self.renderer, self.slider_encoder = load_models(config.models, "renderer", "slider_encoder")
        self._photos: dict[str, torch.Tensor] = {}

    def photo(self, name: str) -> torch.Tensor:
        if name not in self._photos:
            self._photos = {name: load_photo(self.photos_dir / name)}  # shards are photo-ordered: keep one
        return self._photos[name]

    def build(self, spec: dict, out: Path) -> dict:
        """Build one shard into ``out`` (skipped when it exists); returns its stats. Runs on one
        torch thread: results then do not depend on the machine's thread count (bit for bit)."""
        from ..fitting import intra_op_threads

        with intra_op_threads(1):
            return self._build(spec, out)

    def _build(self, spec: dict, out: Path) -> dict:
        target = out / shard_name(spec)
        stats_path = target.with_suffix(".stats.json")
        if target.exists() and stats_path.exists():
            return {**json.loads(stats_path.read_text()), "skipped": True}
        config = self.config
        started = time.perf_counter()
        stats = {"shard": target.name, "split": spec["split"], "kept": {s: 0 for s in SUBSETS}, "dropped": {},
                 "samples": []}
        tmp = target.with_suffix(".tar.tmp")
        with tarfile.open(tmp, "w", format=tarfile.USTAR_FORMAT) as archive:
            for photo_name, index in spec["samples"]:
                recipe, facts = make_recipe(photo_name, index, config.seed, config.weights(), self.presets,
                                            tuple(config.auto_mix))
                photo = self.photo(photo_name)
                sample = label_sample(recipe, facts, photo, self.renderer, self.slider_encoder,
                                      config.fit_steps, config.fit_pixels)
                if sample.dropped:
                    stats["dropped"][sample.dropped] = stats["dropped"].get(sample.dropped, 0) + 1
                    continue
                stats["kept"][recipe.subset] += 1
                record = {**recipe.to_json(), **sample.labels}
                stats["samples"].append(_summary(record))
                key = recipe.key.replace("/", "__")
                _add(archive, f"{key}.json", json.dumps(record, sort_keys=True).encode())
                if config.materialize:
                    input_image, target_image = render_pair(recipe, photo, config.image_side)
                    _add(archive, f"{key}.input.png", _png(input_image))
                    _add(archive, f"{key}.target.png", _png(target_image))
        stats["seconds"] = round(time.perf_counter() - started, 2)
        stats_path.write_text(json.dumps(stats, sort_keys=True) + "\n")
        tmp.replace(target)
        return stats


def _summary(record: dict) -> dict:
    """What the dataset card needs of a sample (kept in the shard's stats sidecar)."""
    return {"subset": record["subset"], "kinds": record.get("degradation_kinds", []),
            "sliders": record["target_plan"]["values"], "reasoning": record["reasoning"],
            "round_trip_psnr": record["round_trip_psnr"], "fit_psnr": record.get("fit_psnr")}


def build_dataset(photos_dir: Path, out: Path, presets_dir: Path | None, config: BuildConfig,
                  ray_address: str | None = None, use_ray: bool = False, progress: bool = True,
                  held_out: list[Path] = ()) -> list[dict]:
    """Build every shard of the dataset into ``out`` (resuming), locally or with Ray; returns stats.
    ``held_out`` photos (see `gather_photos`) are only listed in the manifest."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    photos = photo_paths(photos_dir)
    if not photos:
        raise ValueError(f"{photos_dir}: no photos")
    specs = shard_specs(photos, config)
    manifest = {"config": asdict(config), "photos": [{"name": p.name, "sha256": _sha256(p), "split": split_of(p.name),
                                                      "renderer_held_out": is_held_out(p)} for p in photos],
                "shards": [shard_name(s) for s in specs]}
    if held_out:
        manifest["held_out_photos"] = [
            {"name": p.name, "sha256": _sha256(p), "folder": str(p.parent)} for p in held_out
        ]
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    if use_ray:
        return _build_with_ray(specs, photos_dir, out, presets_dir, config, ray_address)
    from tqdm import tqdm

    builder = ShardBuilder(photos_dir, presets_dir, config)
    return [builder.build(spec, out) for spec in tqdm(specs, desc="veraretouch data build", unit="shard",
                                                       disable=not progress)]


def _build_with_ray(specs: list[dict], photos_dir: Path, out: Path, presets_dir: Path | None,
                    config: BuildConfig, address: str | None) -> list[dict]:
    import ray

    ray.init(address=address, ignore_reinit_error=True, include_dashboard=False, log_to_driver=False)

    class Worker:
        def __init__(self) -> None:
            torch.set_num_threads(1)
            self.builder = ShardBuilder(photos_dir, presets_dir, config)

        def __call__(self, row: dict) -> dict:
            spec = json.loads(row["spec"])
            return {"stats": json.dumps(self.builder.build(spec, out))}

    dataset = ray.data.from_items([{"spec": json.dumps(spec)} for spec in specs])
    rows = dataset.map(Worker, concurrency=max(1, int(ray.available_resources().get("CPU", 1))),
                       num_cpus=1).take_all()
    by_name = {json.loads(r["stats"])["shard"]: json.loads(r["stats"]) for r in rows}
    return [by_name[shard_name(spec)] for spec in specs]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_shard(path: Path) -> list[dict]:
    """The sample records of one shard, in order (PNG members, if any, as bytes under ``images``)."""
    records: dict[str, dict] = {}
    with tarfile.open(path) as archive:
        for member in archive:
            data = archive.extractfile(member).read()
            key, _, kind = member.name.partition(".")
            if kind == "json":
                records.setdefault(key, {}).update(json.loads(data))
            else:
                records.setdefault(key, {}).setdefault("images", {})[kind.removesuffix(".png")] = data
    return list(records.values())


__all__ = ["BuildConfig", "Recipe", "build_dataset", "read_shard", "shard_specs"]
