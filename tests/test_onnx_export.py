"""`veraretouch export onnx`: every exported graph matches PyTorch in ONNX Runtime, and the manifest tells the truth."""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from veraretouch import Plan
from veraretouch.cli import main
from veraretouch.encoders.reference import thumbnail_pixels
from veraretouch.encoders.slider import FEATURE_SIZES, params_from_features
from veraretouch.errors import VeraRetouchError
from veraretouch.export.graphs import reference_encoder_graphs
from veraretouch.export.onnx import FP16_TOLERANCE, MANIFEST, TOLERANCE, export_onnx
from veraretouch.lut import apply_lut
from veraretouch.onnx_support import OPSET, ort_session, sha256
from veraretouch.planner.features import image_features
from veraretouch.planner.pipeline import prune_imperceptible
from veraretouch.weights import load_models

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

LUT_SIZE = 33


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[Path, dict]:
    """All four shipped models exported once (one 33^3 baker, fp16 copies): a few seconds."""
    folder = tmp_path_factory.mktemp("onnx") / "export"
    return folder, export_onnx(folder, fp16=True, lut_sizes=(LUT_SIZE,))


@pytest.fixture(scope="module")
def models():
    return dict(zip(("renderer", "slider_encoder", "reference_encoder", "compact_planner"),
                    load_models(None, "renderer", "slider_encoder", "reference_encoder", "compact_planner")))


def run(folder: Path, name: str, **inputs) -> list[np.ndarray]:
    feeds = {key: value.numpy() if isinstance(value, torch.Tensor) else value for key, value in inputs.items()}
    return ort_session(folder / name).run(None, feeds)


def max_diff(got: np.ndarray, want: torch.Tensor) -> float:
    return float(np.abs(got - want.detach().numpy()).max())


def test_renderer_pixels_match_pytorch_on_an_image(exported, models):
    folder, _ = exported
    renderer = models["renderer"]
    generator = torch.Generator().manual_seed(10)
    image = torch.rand(2, 3, 12, 20, generator=generator)
    latents = torch.randn(2, renderer.config.latent_dim, generator=generator) * 0.5
    mask = torch.tensor([[1.0, 1.0, 1.0], [0.0, 1.0, 0.0]])
    with torch.no_grad():
        want = renderer(image, latents, mask).permute(0, 2, 3, 1).reshape(2, -1, 3)
    colors = image.permute(0, 2, 3, 1).reshape(2, -1, 3)
    edited, = run(folder, "renderer_pixels.onnx", colors=colors, latents=latents, group_mask=mask)
    assert max_diff(edited, want) <= TOLERANCE
    assert np.abs(edited - colors.numpy()).max() > 0.01, "the latents edit the colours"


def test_lut_baker_gives_the_renderers_own_lut_and_picture(exported, models, sample_rgb):
    folder, _ = exported
    renderer = models["renderer"]
    latents = models["slider_encoder"](Plan({"Exposure2012": 0.4, "IncrementalTemperature": 25,
                                             "HueAdjustmentBlue": -30}).to_tensor()[None]).detach()
    mask = torch.ones(1, 3)
    lut, = run(folder, f"lut_baker_{LUT_SIZE}.onnx", latents=latents, group_mask=mask)
    own = renderer.bake_lut(latents, mask, size=LUT_SIZE)
    assert lut.shape == (1, LUT_SIZE, LUT_SIZE, LUT_SIZE, 3)
    assert np.abs(lut[0] - own).max() <= TOLERANCE
    pixels = sample_rgb.astype(np.float32) / 255
    picture = apply_lut(pixels, lut[0])
    assert np.abs(picture - apply_lut(pixels, own)).max() <= TOLERANCE
    assert np.abs(picture - pixels).mean() > 0.02, "the edit changes the photo"


def test_help_snippet_plan_to_lut(exported, models):
    """The --help recipe: a plan's params -> slider_encoder -> lut_baker, as PyTorch does it."""
    folder, _ = exported
    params = Plan({"Contrast2012": 30, "Vibrance": 25, "Shadows2012": 40}).to_tensor()[None].numpy()
    latents, = run(folder, "slider_encoder.onnx", params=params)
    lut, = run(folder, f"lut_baker_{LUT_SIZE}.onnx", latents=latents, group_mask=np.ones((1, 3), np.float32))
    with torch.no_grad():
        want = models["renderer"].bake_lut(models["slider_encoder"](torch.from_numpy(params)), size=LUT_SIZE)
    assert np.abs(lut[0] - want).max() <= TOLERANCE


def test_slider_encoder_matches_pytorch_and_keeps_identity_exact(exported, models):
    folder, _ = exported
    encoder = models["slider_encoder"]
    generator = torch.Generator().manual_seed(11)
    plans = torch.cat([Plan().to_tensor()[None],
                       params_from_features(torch.randn(6, sum(FEATURE_SIZES.values()), generator=generator) * 0.4)])
    latents, = run(folder, "slider_encoder.onnx", params=plans)
    assert max_diff(latents, encoder(plans)) <= TOLERANCE
    assert not latents[0].any(), "the identity plan encodes to exactly zero"


@pytest.mark.parametrize("mode", ["pair", "target"])
def test_reference_encoder_on_thumbnails_matches_pytorch_on_full_images(exported, models, mode):
    folder, _ = exported
    encoder = models["reference_encoder"]
    generator = torch.Generator().manual_seed(12)
    before = torch.rand(2, 3, 64, 96, generator=generator)
    after = (before * torch.tensor([1.1, 1.0, 0.8]).reshape(1, 3, 1, 1) + 0.05).clamp(0, 1)
    side = encoder.config.sample_side
    thumbs = [thumbnail_pixels(image, side).transpose(1, 2).reshape(2, 3, side, side) for image in (before, after)]
    latents, = run(folder, f"reference_encoder_{mode}.onnx", before=thumbs[0], after=thumbs[1])
    assert max_diff(latents, encoder(before, after, mode)) <= TOLERANCE


def test_compact_planner_gives_the_plan_and_latents_of_pytorch(exported, models, sample_rgb):
    folder, _ = exported
    planner, encoder = models["compact_planner"], models["slider_encoder"]
    photo = torch.from_numpy(sample_rgb.copy()).permute(2, 0, 1)[None].float() / 255
    images = torch.cat([photo, photo.flip(-1) ** 1.6, photo * 0.7])
    features = image_features(images)[:, :planner.config.image_features]
    text = F.normalize(torch.randn(3, planner.config.text_dim, generator=torch.Generator().manual_seed(13)), dim=1)
    text[0] = 0.0
    modes = torch.tensor([0, 1, 2])
    plan_features, params = run(folder, "compact_planner.onnx", features=features, text_embeddings=text, mode_ids=modes)
    with torch.no_grad():
        want_features = planner(features, text, modes)
        want_params = prune_imperceptible(params_from_features(want_features))
    assert max_diff(plan_features, want_features) <= TOLERANCE
    scale = np.maximum(1.0, np.abs(want_params.numpy()))
    assert (np.abs(params - want_params.numpy()) / scale).max() <= TOLERANCE
    latents, = run(folder, "slider_encoder.onnx", params=params)
    assert max_diff(latents, encoder(want_params)) <= TOLERANCE


def _inputs_for(entry: dict, batch: int, pixels: int) -> dict[str, np.ndarray]:
    """Random inputs of the shapes and dtypes the manifest declares."""
    rng = np.random.default_rng(batch)
    sizes = {"batch": batch, "pixels": pixels}
    feeds = {}
    for io in entry["inputs"]:
        shape = [sizes.get(dim, dim) for dim in io["shape"]]
        if io["dtype"] == "int64":
            feeds[io["name"]] = rng.integers(io["range"][0], io["range"][1] + 1, shape).astype(np.int64)
        else:
            feeds[io["name"]] = rng.random(shape, dtype=np.float32)
    return feeds


@pytest.mark.parametrize("batch", [1, 4])
def test_every_file_takes_any_batch_with_the_declared_shapes(exported, batch):
    folder, manifest = exported
    for entry in manifest["files"]:
        outputs = ort_session(folder / entry["file"]).run(None, _inputs_for(entry, batch, pixels=37))
        for io, value in zip(entry["outputs"], outputs):
            assert list(value.shape) == [{"batch": batch, "pixels": 37}.get(d, d) for d in io["shape"]], entry["file"]
            assert np.isfinite(value).all()
            if io.get("range") == [0.0, 1.0]:
                assert value.min() >= 0.0 and value.max() <= 1.0


def test_manifest_lists_every_file_with_its_checksum_and_interface(exported, models):
    import onnx

    folder, manifest = exported
    assert manifest["opset"] == OPSET and manifest["veraretouch_version"]
    names = {entry["file"] for entry in manifest["files"]}
    assert names | {MANIFEST} == {path.name for path in folder.iterdir()}
    assert json.loads((folder / MANIFEST).read_text()) == manifest
    expected = {"renderer_pixels", f"lut_baker_{LUT_SIZE}", "slider_encoder", "reference_encoder_pair",
                "reference_encoder_target", "compact_planner"}
    assert {entry["name"] for entry in manifest["files"]} == expected
    for entry in manifest["files"]:
        path = folder / entry["file"]
        assert entry["sha256"] == sha256(path) and entry["bytes"] == path.stat().st_size
        model = onnx.load(str(path))
        assert {o.domain or "ai.onnx": o.version for o in model.opset_import}["ai.onnx"] == OPSET
        session = ort_session(path)
        assert [i.name for i in session.get_inputs()] == [io["name"] for io in entry["inputs"]]
        assert [o.name for o in session.get_outputs()] == [io["name"] for io in entry["outputs"]]
        assert all(check["max_diff"] <= entry["check"]["tolerance"] for check in entry["check"]["outputs"].values())
    renderer = next(e for e in manifest["files"] if e["name"] == "renderer_pixels")
    assert renderer["parameters"] == sum(p.numel() for p in models["renderer"].parameters())
    planner = next(e for e in manifest["files"] if e["name"] == "compact_planner")
    assert "image_features" in planner["preprocessing"] and planner["feature_groups_read"]
    assert "no_fp16" in planner


def test_fp16_files_are_half_the_size_and_agree_within_half_a_level(exported):
    folder, manifest = exported
    by_file = {entry["file"]: entry for entry in manifest["files"]}
    halves = [entry for entry in manifest["files"] if entry["precision"] == "fp16"]
    assert len(halves) == 5, "every graph but the planner"
    for half in halves:
        full = by_file[half["file"].replace(".fp16", "")]
        assert half["bytes"] < 0.6 * full["bytes"]
        feeds = _inputs_for(full, batch=2, pixels=50)
        for got, want in zip(ort_session(folder / half["file"]).run(None, feeds),
                             ort_session(folder / full["file"]).run(None, feeds)):
            assert np.abs(got - want).max() <= FP16_TOLERANCE, half["file"]


def test_cli_exports_and_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "onnx"
    assert main(["export", "onnx", "--out", str(out), "--only", "slider_encoder"]) == 0
    assert {p.name for p in out.iterdir()} == {"slider_encoder.onnx", MANIFEST}
    assert "slider_encoder.onnx" in capsys.readouterr().out
    before = (out / MANIFEST).read_bytes()
    assert main(["export", "onnx", "--out", str(out), "--only", "slider_encoder"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (out / MANIFEST).read_bytes() == before
    assert main(["export", "onnx", "--out", str(out), "--only", "slider_encoder", "--overwrite"]) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["onnx"], "no staging folder left behind"


def test_bad_requests_fail_before_writing_anything(tmp_path):
    with pytest.raises(VeraRetouchError, match="out of range"):
        export_onnx(tmp_path / "a", lut_sizes=(300,))
    with pytest.raises(VeraRetouchError, match="unknown model"):
        export_onnx(tmp_path / "b", names=("vlm",))
    (tmp_path / "file").write_text("x")
    with pytest.raises(VeraRetouchError, match="not a folder"):
        export_onnx(tmp_path / "file")
    assert {p.name for p in tmp_path.iterdir()} == {"file"}
    efficientnet = SimpleNamespace(config=SimpleNamespace(backbone="efficientnet_lite0"))
    with pytest.raises(VeraRetouchError, match="efficientnet_lite0"):
        reference_encoder_graphs(efficientnet)


@pytest.mark.slow
def test_default_export_with_the_65_baker(tmp_path, models):
    manifest = export_onnx(tmp_path / "all", fp16=True)
    assert {entry["name"] for entry in manifest["files"]} >= {"lut_baker_33", "lut_baker_65"}
    latents = torch.randn(1, models["renderer"].config.latent_dim, generator=torch.Generator().manual_seed(14)) * 0.5
    lut, = run(tmp_path / "all", "lut_baker_65.onnx", latents=latents, group_mask=torch.ones(1, 3))
    assert np.abs(lut[0] - models["renderer"].bake_lut(latents)).max() <= TOLERANCE
