"""Scores and the `veraretouch eval` report: a table per method as Markdown and JSON, and an HTML page.

An evaluation result is a plain dict (see `veraretouch.evaluation.folder.evaluate_folder`):
``methods`` (names in column order), ``images`` (one record per pair: ``stem``, ``input``, ``target``,
``width``, ``height``, ``scores`` {method: {metric: value}}, ``thumbs`` {column: path relative to the
report}), ``failed`` ({stem, error} records), ``side`` and ``summary`` (from `summarize`), plus any
settings the caller adds (mode, prompt, ...), which the JSON keeps as they are.
"""
from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import numpy as np
import torch

from ..io.atomic import atomic_write_text
from ..io.images import Photo, write_image
from .metrics import evaluate_pair

__all__ = ["METRICS", "PSNR_CAP_DB", "REPORT_FILES", "THUMBS_DIR", "score", "summarize", "best_methods",
           "markdown_report", "html_report", "write_thumbnails", "write_report"]

PSNR_CAP_DB = 100.0
"""PSNR of identical images is +inf; it is reported as this so means and JSON stay finite."""
THUMB_SIDE = 192
"""Long side in pixels of the JPEG thumbnails on the HTML page."""
THUMB_QUALITY = 80
THUMBS_DIR = "thumbs"
REPORT_FILES = ("results.md", "results.json", "index.html")


@dataclass(frozen=True)
class Metric:
    """A column of the report: the `evaluate_pair` key, its heading, its caption format, its direction."""

    key: str
    label: str
    short: str
    higher_is_better: bool
    digits: int
    meaning: str


METRICS = (
    Metric("psnr", "PSNR (dB)", "{:.2f} dB", True, 2,
           "10 log10(1 / MSE) against the target; +1 dB is about 20 % less squared error (capped at 100)"),
    Metric("ssim", "SSIM", "SSIM {:.3f}", True, 4,
           "structural similarity (Wang et al. 2004), 1 = identical structure and tone"),
    Metric("delta_e2000", "ΔE2000", "ΔE {:.2f}", False, 2,
           "mean CIEDE2000 colour difference per pixel; about 2.3 is just noticeable, 0 = identical colours"),
    Metric("histogram_similarity", "histogram similarity", "hist. {:.3f}", True, 4,
           "cosine of per-channel 32-bin colour histograms, 1 = the same colours in any arrangement"),
)


def score(prediction: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    """Every metric of `METRICS` for one ``(1, 3, H, W)`` pair (`metrics.evaluate_pair`), PSNR capped at 100 dB."""
    scores = evaluate_pair(prediction, target)
    scores["psnr"] = min(scores["psnr"], PSNR_CAP_DB)
    return scores


def summarize(images: list[dict], methods: list[str]) -> dict[str, dict[str, float]]:
    """Mean of each metric over the images, per method: {method: {metric: mean}}."""
    return {method: {metric.key: round(float(np.mean([image["scores"][method][metric.key] for image in images])), 6)
                     for metric in METRICS}
            for method in methods} if images else {}


def best_methods(summary: dict[str, dict[str, float]]) -> dict[str, str]:
    """The method with the best mean of each metric: {metric: method} (the first one on ties)."""
    if not summary:
        return {}
    return {metric.key: (max if metric.higher_is_better else min)(summary, key=lambda m: summary[m][metric.key])
            for metric in METRICS}


def _arrow(metric: Metric) -> str:
    return "↑" if metric.higher_is_better else "↓"


def _heading(results: dict) -> str:
    mode = f"{results['mode']} mode" if results.get("mode") else "evaluation"
    prompt = f" — “{results['prompt']}”" if results.get("prompt") else ""
    return f"veraretouch eval: {mode}{prompt}"


def _pairs(count: int) -> str:
    return f"{count} pair" + ("" if count == 1 else "s")


def _scope(results: dict) -> str:
    text = f"{_pairs(len(results['images']))} of images, long side at most {results['side']} px"
    if results.get("inputs") and results.get("targets"):
        text += f"; inputs {results['inputs']}, targets {results['targets']}"
    if results["failed"]:
        text += f"; {_pairs(len(results['failed']))} failed and not counted"
    return text


def markdown_report(results: dict) -> str:
    """The summary table, one row per method, best of each column in bold, then failures if any."""
    summary = results["summary"]
    best = best_methods(summary)
    header = "| method | " + " | ".join(f"{m.label} {_arrow(m)}" for m in METRICS) + " |"
    lines = [f"# {_heading(results)}", "", _scope(results) + ".", "", header,
             "|:--|" + "--:|" * len(METRICS)]
    for method, means in summary.items():
        cells = [f"{means[m.key]:.{m.digits}f}" for m in METRICS]
        cells = [f"**{cell}**" if best[m.key] == method else cell for cell, m in zip(cells, METRICS)]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    lines += ["", "↑ higher is better, ↓ lower is better; the best mean of each column is in bold.", ""]
    lines += [f"- **{m.label}**: {m.meaning}" for m in METRICS]
    if results["failed"]:
        lines += ["", "Failed pairs:", ""] + [f"- {item['stem']}: {item['error']}" for item in results["failed"]]
    return "\n".join(lines) + "\n"


def write_thumbnails(images: dict[str, torch.Tensor], out_dir: Path, stem: str,
                     overwrite: bool = False) -> dict[str, str]:
    """Each ``(1, 3, H, W)`` image as the JPEG ``out_dir/thumbs/<stem>.<name>.jpg``, long side `THUMB_SIDE`.

    Returns {name: path relative to ``out_dir``}, as the HTML page links them."""
    template = Photo(np.zeros((1, 1, 3), np.uint8), None, "JPEG", None, None)
    written = {}
    for name, image in images.items():
        scale = min(1.0, THUMB_SIDE / max(image.shape[-2:]))
        size = (max(1, round(image.shape[-2] * scale)), max(1, round(image.shape[-1] * scale)))
        small = torch.nn.functional.interpolate(image.float(), size=size, mode="bilinear", antialias=True,
                                                align_corners=False)
        relative = f"{THUMBS_DIR}/{stem}.{name}.jpg"
        write_image(template.with_tensor(small.clamp(0.0, 1.0)), out_dir / relative, quality=THUMB_QUALITY,
                    overwrite=overwrite)
        written[name] = relative
    return written


def _figure(source: str, caption: str, numbers: str = "") -> str:
    details = f"<br><small>{html.escape(numbers)}</small>" if numbers else ""
    return (f'<figure><img src="{quote(source)}" loading="lazy" alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)}{details}</figcaption></figure>")


def _numbers(scores: dict[str, float]) -> str:
    return " · ".join(m.short.format(scores[m.key]) for m in METRICS)


_STYLE = ("body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}"
          "td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:right}td:first-child,th:first-child"
          "{text-align:left}.best{font-weight:bold}.row{display:flex;flex-wrap:wrap;gap:8px}figure{margin:0;"
          f"width:{THUMB_SIDE}px}}figcaption{{font-size:12px}}img{{max-width:{THUMB_SIDE}px}}")


def _summary_table(summary: dict[str, dict[str, float]]) -> str:
    best = best_methods(summary)
    head = "".join(f"<th>{html.escape(m.label)} {_arrow(m)}</th>" for m in METRICS)
    rows = []
    for method, means in summary.items():
        cells = "".join(f'<td{" class=best" if best[m.key] == method else ""}>{means[m.key]:.{m.digits}f}</td>'
                        for m in METRICS)
        rows.append(f"<tr><td>{html.escape(method)}</td>{cells}</tr>")
    return f"<table><tr><th>method</th>{head}</tr>{''.join(rows)}</table>"


def _image_section(image: dict, methods: list[str]) -> str:
    thumbs = image["thumbs"]
    figures = [_figure(thumbs["before"], "before")]
    figures += [_figure(thumbs[method], method, _numbers(image["scores"][method])) for method in methods]
    figures.append(_figure(thumbs["target"], "target"))
    return f"<h3>{html.escape(image['stem'])}</h3><div class=row>{''.join(figures)}</div>"


def html_report(results: dict) -> str:
    """A light page: the summary table, then per pair the thumbnails (before, each method, target) and scores."""
    title = html.escape(_heading(results))
    failed = "".join(f"<li>{html.escape(item['stem'])}: {html.escape(item['error'])}</li>"
                     for item in results["failed"])
    return (f"<!doctype html><html><head><meta charset=utf-8><title>{title}</title><style>{_STYLE}</style></head>"
            f"<body><h1>{title}</h1><p>{html.escape(_scope(results))}</p>{_summary_table(results['summary'])}"
            "<p>↑ higher is better, ↓ lower is better; the best mean of each column is in bold.</p>"
            + (f"<h2>Failed pairs</h2><ul>{failed}</ul>" if failed else "")
            + "<h2>Per image</h2>" + "".join(_image_section(image, results["methods"]) for image in results["images"])
            + "</body></html>\n")


def write_report(results: dict, out_dir: Path, overwrite: bool = False) -> list[Path]:
    """Write ``results.md``, ``results.json`` and ``index.html`` into ``out_dir`` (atomically; existing
    files only with ``overwrite``). Thumbnails are expected in ``out_dir/thumbs`` already."""
    markdown, document, page = (markdown_report(results), json.dumps(results, indent=2, default=str) + "\n",
                                html_report(results))
    return [atomic_write_text(out_dir / name, text, overwrite=overwrite)
            for name, text in zip(REPORT_FILES, (markdown, document, page))]
