"""The dataset card: counts, drop reasons, slider and degradation distributions (plots), text
statistics, from the shards' stats sidecars. Written as ``CARD.md`` and PNGs beside the shards."""
from __future__ import annotations

import collections
import json
import re
from pathlib import Path

import numpy as np

from ..plan.parameters import SLIDERS
from .samples import SPLITS, SUBSETS

_TAG = re.compile(r"</?[a-z_]+>")


def sentences_of(text: str) -> list[str]:
    """Sentences of a reasoning text with the span tags removed."""
    plain = _TAG.sub(" ", text)
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", plain) if s.strip()]


def text_statistics(texts: list[str]) -> dict:
    """How varied the reasoning is: sentence count, the most frequent sentence and its share."""
    counter = collections.Counter(sentence for text in texts for sentence in sentences_of(text))
    total = sum(counter.values())
    top, top_count = counter.most_common(1)[0] if counter else ("", 0)
    words = [len(_TAG.sub(" ", text).split()) for text in texts]
    return {"texts": len(texts), "sentences": total, "distinct_sentences": len(counter),
            "top_sentence": top, "top_sentence_share": top_count / total if total else 0.0,
            "mean_words": float(np.mean(words)) if words else 0.0}


def instruction_statistics(out: Path, shards: list[str]) -> dict[str, dict]:
    """Per subset with instructions (style, param): how many, how many distinct, the most frequent
    one's share and the mean length in words, read from the shards' records."""
    from .shards import read_shard

    texts: dict[str, list[str]] = collections.defaultdict(list)
    for name in shards:
        for record in read_shard(out / name):
            if record.get("instruction"):
                texts[record["subset"]].append(record["instruction"])
    result = {}
    for subset, items in sorted(texts.items()):
        top, count = collections.Counter(items).most_common(1)[0]
        result[subset] = {
            "instructions": len(items),
            "distinct": len(set(items)),
            "top": top,
            "top_share": count / len(items),
            "mean_words": float(np.mean([len(t.split()) for t in items])),
        }
    return result


def photo_provenance(path: Path) -> str:
    """Where a photo comes from, read from the ``README.md`` of the folder it really lives in: the
    table row whose first cell is its file name (package, path, licence, credit...), or else the row
    whose first cell is a prefix of the name (``| lomiri- | package | licence |``); '' if none."""
    readme = Path(path).resolve().parent / "README.md"
    if not readme.is_file():
        return ""
    name, prefix_row = Path(path).name, ""
    for line in readme.read_text(errors="replace").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not line.lstrip().startswith("|"):
            continue
        if cells[0] == name:
            return " · ".join(cell for cell in cells[1:] if cell and cell != "—")
        if cells[0].endswith("-") and name.startswith(cells[0]) and not prefix_row:
            prefix_row = " · ".join(cell for cell in cells[1:] if cell)
    return prefix_row


def photo_table(out: Path) -> list[str]:
    """Markdown lines listing every photo of the build (split, provenance) and the held-out ones."""
    manifest_path = Path(out) / "manifest.json"
    if not manifest_path.is_file():
        return []
    manifest = json.loads(manifest_path.read_text())
    folder = Path(out) / "photos"
    lines = ["## Photos", "", "| photo | split | source (package · path · licence · credit) |", "|---|---|---|"]
    for photo in manifest["photos"]:
        lines.append(f"| {photo['name']} | {photo['split']} | {photo_provenance(folder / photo['name'])} |")
    for photo in manifest.get("held_out_photos", []):
        source = photo_provenance(Path(photo["folder"]) / photo["name"]) if "folder" in photo else ""
        lines.append(f"| {photo['name']} | held out (not built) | {source} |")
    return [*lines, ""]


def write_card(stats: list[dict], out: Path, command: str, seconds: float | None = None) -> Path:
    """Aggregate shard stats into ``out/CARD.md`` with plots; returns the card's path. ``seconds``:
    the wall time of the build command (the per-sample cost is quoted from the shards' own timings
    where they have them, as a resumed build's wall time covers only part of the work)."""
    out = Path(out)
    kept = collections.Counter()
    dropped = collections.Counter()
    per_split = collections.Counter()
    samples = [sample for shard in stats for sample in shard["samples"]]
    for shard in stats:
        for subset, count in shard["kept"].items():
            kept[subset] += count
            per_split[(shard["split"], subset)] += count
        dropped.update(shard["dropped"])
    kinds = collections.Counter(kind for s in samples for kind in s["kinds"])
    text = text_statistics([s["reasoning"] for s in samples])
    instructions = instruction_statistics(out, [shard["shard"] for shard in stats])
    plots = _plots(samples, kinds, dropped, out)
    timed = [shard for shard in stats if "seconds" in shard]
    attempted = sum(sum(s["kept"].values()) + sum(s["dropped"].values()) for s in timed)
    cost = (f"Labelling cost: {sum(s['seconds'] for s in timed) / attempted:.3f} s per attempted sample on one core "
            f"(timed in {len(timed)} of {len(stats)} shards)." if attempted else "")
    built_now = sum(not shard.get("skipped") for shard in stats)
    wall = (f"The last run of the build command took {seconds:.0f} s and built {built_now} of {len(stats)} shards "
            "(a rerun skips finished shards)." if seconds is not None else "")
    lines = [
        "# Dataset card", "", f"Built with: `{command}`", "",
        "## Counts", "", "| split | " + " | ".join(SUBSETS) + " |", "|---|" + "---|" * len(SUBSETS),
        *(f"| {split} | " + " | ".join(str(per_split[(split, s)]) for s in SUBSETS) + " |" for split in SPLITS),
        "", f"Kept {sum(kept.values())}, dropped {sum(dropped.values())}: "
        + (", ".join(f"{reason} {count}" for reason, count in dropped.most_common()) or "none"), "",
        "## Cost", "", " ".join(filter(None, [cost, wall])) or "Not timed.", "",
        "## Round trip", "",
        f"Renderer(input, SliderEncoder(target plan)) vs target: median "
        f"{np.median([s['round_trip_psnr'] for s in samples]):.2f} dB." if samples else "",
        "", "## Degradations (auto subset)", "",
        *(f"- {kind}: {count}" for kind, count in kinds.most_common()), "",
        "## Text", "",
        f"{text['texts']} reasoning texts, {text['sentences']} sentences ({text['distinct_sentences']} distinct), "
        f"{text['mean_words']:.0f} words on average. Most frequent sentence "
        f"({100 * text['top_sentence_share']:.2f} % of all): \"{text['top_sentence']}\"", "",
        "| subset | instructions | distinct | most frequent (share) | words |", "|---|---|---|---|---|",
        *(f"| {subset} | {i['instructions']} | {i['distinct']} | \"{i['top']}\" ({100 * i['top_share']:.2f} %) | "
          f"{i['mean_words']:.1f} |" for subset, i in instructions.items()), "",
        "## Plots", "", *(f"![{name}]({name})" for name in plots), "",
        *photo_table(out),
    ]
    path = out / "CARD.md"
    path.write_text("\n".join(lines))
    (out / "card.json").write_text(json.dumps({"kept": kept, "dropped": dropped, "kinds": kinds, "text": text,
                                               "instructions": instructions, "build_seconds": seconds},
                                              indent=2, default=dict) + "\n")
    return path


def _bar_plot(counts: collections.Counter, title: str, path: Path) -> None:
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(8, 0.22 * len(counts) + 1))
    labels, values = zip(*counts.most_common())
    axis.barh(labels, values)
    axis.invert_yaxis()
    axis.tick_params(labelsize=7)
    axis.set_title(title)
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)


def _plots(samples: list[dict], kinds: collections.Counter, dropped: collections.Counter, out: Path) -> list[str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    names = []
    columns = 8
    rows = -(-len(SLIDERS) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(2.2 * columns, 1.8 * rows))
    for axis, spec in zip(axes.flat, SLIDERS):
        span = (-2.0, 2.0) if spec.unit == "EV" else (spec.minimum, spec.maximum)
        for subset in SUBSETS:
            values = [s["sliders"].get(spec.name, 0.0) for s in samples if s["subset"] == subset]
            if values:
                axis.hist(values, bins=30, range=span, histtype="step", label=subset)
        axis.set_title(spec.name.replace("Adjustment", " ").replace("2012", ""), fontsize=7)
        axis.set_yscale("log")
        axis.tick_params(labelsize=6)
    for axis in list(axes.flat)[len(SLIDERS):]:
        axis.axis("off")
    axes.flat[0].legend(fontsize=6)
    figure.suptitle("target-plan sliders per subset (sample counts, log scale)")
    figure.tight_layout()
    figure.savefig(out / "sliders.png", dpi=80)
    plt.close(figure)
    names.append("sliders.png")
    for counts, title, name in ((kinds, "degradation kinds (auto)", "degradations.png"),
                                (dropped, "samples dropped, by quality gate", "dropped.png")):
        if counts:
            _bar_plot(counts, title, out / name)
            names.append(name)
    return names
