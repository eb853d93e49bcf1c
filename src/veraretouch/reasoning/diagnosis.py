"""What is wrong with a photo, measured on the photo alone (never on a plan): each finding with a size,
in the units a photographer reads, and a confidence.

`diagnose(image)` reads a working copy ``(1, 3, h, w)`` sRGB (explanations pass the copy the training
labels were measured at, `reasoning.measure.LABEL_SIDE`) and returns a `Diagnosis`: ``measurements`` (the
`reasoning.measure.measure` keys plus the ones below, plain floats) and ``findings``.

Whether a photo has a global fault (too dark or bright, flat, a warm / cool / green / magenta cast,
muted or oversaturated colour) is judged by the fault detector (`reasoning.detector`: boosted trees
over all these measurements, each fault's threshold set for at most 8 % of good photos accused); its
probability is the finding's confidence. What the finding says, its size and its evidence, is read
from the measurements:

- **Exposure**: the median and the log-average ("key") of linear luminance against mid-grey
  (`MID_GREY`), and the headroom: how far the brightest tones (`WHITE_QUANTILE` of luminance) could
  rise before they clip. "Too dark" by the headroom in stops; "too bright" by the share of pixels
  clipped to white.
- **Contrast**: black and white points (`BLACK_QUANTILE` of the darkest channel, `WHITE_QUANTILE` of
  the brightest, sRGB %) and the spread of lightness (L* standard deviation): flat by the range the
  two points lose; harsh (a rule, `HARSH_CLIPPING`) when both ends clip widely.
- **Colour cast**: five estimates of how a grey surface looks, as CIELAB a* / b* of a mid-grey:
  near-neutral surfaces (`measure`'s cast), grey world, shades of grey, grey edge and the brightest
  neutrals (white patch), from `operators.statistics.illuminant_estimates`, and the brightest tones'
  channel balance. A cast is stated only when the estimates lean its way (their median); the median
  is its size.
- **Saturation**: chroma percentiles (C*ab, 50 % and 90 %) against `TYPICAL_CHROMA_P90`, and the share
  of colourful pixels pushed against the gamut edge (a channel at 0 while the pixel is not dark).
- **Colour bands** (rules): each HSL band's share of the frame, chroma and hue offset from its centre
  (`measure`); a band covering at least `BAND_MIN_SHARE` whose hue sits more than `BAND_HUE_LIMIT`
  degrees off, or whose chroma is outside `BAND_CHROMA_RANGE`, is a finding.

A photo's own look spreads these statistics wider than the faults move them, so the detector trades
faults named against good photos accused; its budget puts the photographer's trust first
(docs/benchmarks.md, "Explanations name the fault a photo has").
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from ..operators.colorspace import LUMINANCE_WEIGHTS, linear_rgb_to_srgb, rgb_to_lab, srgb_to_linear_rgb
from ..operators.statistics import ESTIMATORS, exposure_key, illuminant_estimates
from ..plan.parameters import GLOBAL_COLOR, HSL_BANDS, LIGHTING, SPECIFIC_COLOR
from .detector import FaultDetector, shipped_detector
from .measure import CAST_LIGHTNESS_RANGE, band_key, measure
from .text.facts import state_contradicted

MID_GREY = 0.18
"""Linear luminance of a mid-grey (L* 50): where a median tone of an average scene sits."""
WHITE_QUANTILE, BLACK_QUANTILE = 0.995, 0.005
HARSH_CLIPPING = 0.05
"""Harsh: this share of pixels clips at each end."""
TOP_QUANTILE, TOP_FULL, TOP_DEFICIT, TOP_LEAN = 0.999, 97.0, (0.1, 0.5), 0.08
"""Brightest tones: the 99.9 % quantile of each channel. Most photos hold something white near the top
(sky, specular light, paper), so one channel falling 0.1-0.5 stops short of a full one, leaning 0.08
stops, is a light's cast and is stated as its evidence; a bigger shortfall is a coloured brightest
object (a yellow flower: 4.9 stops short of blue)."""
NEAR_NEUTRAL_CHROMA = 15.0
"""Pixels under this chroma (C*ab) in the mid-tones are the near-neutral surfaces whose median a* / b*
is the first cast estimate: a cast of b* +9 keeps a grey wall inside, a yellow flower is outside."""
CAST_NAMES = {"neutral": "near-neutral surfaces", "grey_world": "the average colour",
              "shades_of_grey": "shades of grey", "grey_edge": "edges", "white_patch": "the brightest neutrals"}
TYPICAL_CHROMA_P90 = 32.0
"""Median 90th-percentile chroma (C*ab) of 264 undegraded crops of the 132 training photos (two each;
quartiles 21 and 45): how far a photo's colour sits from it is the size of a muted or oversaturated finding."""
BAND_MIN_SHARE = 0.05
BAND_HUE_LIMIT = 20.0
BAND_CHROMA_RANGE = (8.0, 80.0)
LEVEL_EDGES = {"stops": (0.5, 1.0, 1.5), "b*": (3.0, 8.0, 15.0), "a*": (3.0, 6.0, 12.0), "%": (4.0, 10.0, 18.0),
               "C*ab": (0.0, 8.0, 16.0), "deg": (12.0, 20.0, 30.0)}
"""Size -> level (0 slight, 1 moderate, 2 strong, 3 very strong): the first edge each size reaches."""


@dataclass(frozen=True)
class Finding:
    """One fault measured on the photo: ``attribute`` is ``state`` ("low" / "high": exposure low = too
    dark, temperature high = warm cast) by ``size`` ``unit``; ``level`` indexes `MAGNITUDES`
    (slight .. very strong); ``confidence`` in [0, 1]; ``evidence`` the measured numbers in words."""

    aspect: str
    attribute: str
    state: str
    size: float
    unit: str
    level: int
    confidence: float
    evidence: str
    band: str | None = None


@dataclass
class Diagnosis:
    measurements: dict[str, float]
    findings: list[Finding] = field(default_factory=list)

    def of(self, aspect: str) -> list[Finding]:
        return [f for f in self.findings if f.aspect == aspect]

    def to_record(self) -> list[dict]:
        return [{"aspect": f.aspect, "attribute": f.attribute, "state": f.state, "size": round(f.size, 2),
                 "unit": f.unit, "confidence": round(f.confidence, 2), "evidence": f.evidence,
                 **({"band": f.band} if f.band else {})} for f in self.findings]


def level_of(size: float, unit: str) -> int:
    return sum(abs(size) >= edge for edge in LEVEL_EDGES[unit])


def _grey_lab(log_chromaticity: torch.Tensor) -> torch.Tensor:
    """``(B, 2)`` illuminant log chromaticities -> ``(B, 2)`` CIELAB a*, b* of a mid-grey lit by it."""
    rgb = torch.stack([log_chromaticity[:, 0].exp(), torch.ones_like(log_chromaticity[:, 0]),
                       log_chromaticity[:, 1].exp()], dim=1).double()
    luminance = (rgb * rgb.new_tensor(LUMINANCE_WEIGHTS)).sum(dim=1, keepdim=True)
    srgb = linear_rgb_to_srgb((rgb * MID_GREY / luminance).clamp(0, 1))
    return rgb_to_lab(srgb[:, :, None, None])[:, 1:, 0, 0]


def scene_measurements(image: torch.Tensor) -> dict[str, float]:
    """The diagnosis' measurements of one ``(1, 3, h, w)`` sRGB image (module docstring)."""
    srgb = image.detach().double().clamp(0, 1)
    m = measure(srgb)[0]
    key, median_log2 = exposure_key(srgb.float())[0].tolist()
    pixels = srgb.flatten(2)[0]
    lab = rgb_to_lab(srgb).flatten(2)[0]
    chroma = lab[1:].pow(2).sum(0).sqrt()
    colourful = chroma >= 20.0
    at_edge = (pixels.min(0).values <= 1.0 / 255) & (pixels.max(0).values >= 0.2) & colourful
    brightest, darkest = pixels.max(0).values, pixels.min(0).values
    hsl_lightness = (brightest + darkest) / 2
    hsl_saturation = (brightest - darkest) / (1 - (2 * hsl_lightness - 1).abs()).clamp_min(1e-6)
    mid_tones = (hsl_lightness > 0.1) & (hsl_lightness < 0.9)
    m.update({
        "saturation_p99": 100 * float(torch.quantile(hsl_saturation[mid_tones], 0.99)) if mid_tones.any() else 0.0,
        "median_luminance": 2.0 ** median_log2, "key_luminance": 2.0 ** key,
        "black_point": 100 * float(torch.quantile(pixels.min(0).values, BLACK_QUANTILE)),
        "white_point": 100 * float(torch.quantile(pixels.max(0).values, WHITE_QUANTILE)),
        "lightness_spread": 100 * m["contrast"],
        "headroom_stops": -math.log2(
            max(float(srgb_to_linear_rgb(pixels.max(0).values.quantile(WHITE_QUANTILE))), 1e-4)),
        "chroma_p50": float(torch.quantile(chroma, 0.5)), "chroma_p90": float(torch.quantile(chroma, 0.9)),
        "gamut_edge_share": float(at_edge.double().sum() / colourful.double().sum().clamp_min(1.0)),
    })
    top = srgb_to_linear_rgb(torch.quantile(pixels, TOP_QUANTILE, dim=1)).clamp_min(1e-4)
    for channel, value in zip("rgb", linear_rgb_to_srgb(top).tolist()):
        m[f"top_{channel}"] = 100 * value
    m["top_deficit_stops"] = float((top.max() / top.min()).log2())
    stops = top.log2()
    m["top_warmth"] = float(stops[0] - stops[2]) / 2
    m["top_green"] = float(stops[1] - (stops[0] + stops[2]) / 2)
    greys = _grey_lab(torch.cat([illuminant_estimates(srgb.float()).reshape(-1, 2),
                                 (top[[0, 2]] / top[1]).log()[None]]))
    m["cast_a_top"], m["cast_b_top"] = greys[-1].tolist()
    greys = greys[:-1]
    for name, (a, b) in zip(ESTIMATORS, greys.tolist()):
        m[f"cast_a_{name}"], m[f"cast_b_{name}"] = a, b
    mid = (lab[0] > 100 * CAST_LIGHTNESS_RANGE[0]) & (lab[0] < 100 * CAST_LIGHTNESS_RANGE[1])
    near_neutral = mid & (chroma < NEAR_NEUTRAL_CHROMA)
    m["near_neutral_share"] = float(near_neutral.double().mean())
    if near_neutral.any():
        m["cast_a_neutral"], m["cast_b_neutral"] = (float(lab[i][near_neutral].median()) for i in (1, 2))
    else:
        m["cast_a_neutral"], m["cast_b_neutral"] = m["cast_a"], m["cast_b"]
    for axis in ("a", "b"):
        values = sorted(cast_estimates(m, axis).values())
        m[f"cast_{axis}_median"] = values[len(values) // 2]
        m[f"cast_{axis}_min"], m[f"cast_{axis}_max"] = values[0], values[-1]
    return m


def _exposure(m: dict[str, float], state: str, confidence: float) -> Finding | None:
    evidence = f"median luminance {100 * m['median_luminance']:.0f} %"
    if state == "low":
        headroom = max(m["headroom_stops"], 0.1)
        return Finding(LIGHTING, "exposure", "low", headroom, "stops", level_of(headroom, "stops"), confidence,
                       f"{evidence}, white point {m['white_point']:.0f} %")
    clipped = 100 * m["highlight_clipping"]
    return Finding(LIGHTING, "exposure", "high", clipped, "%", level_of(clipped, "%"), confidence,
                   f"{clipped:.0f} % of pixels clip to white, {evidence}")


def _flat(m: dict[str, float], confidence: float) -> Finding:
    black, white = m["black_point"], m["white_point"]
    lost = black + (100.0 - white)
    return Finding(LIGHTING, "contrast", "low", lost, "%", level_of(lost, "%"), confidence,
                   f"black point {black:.0f} %, white point {white:.0f} %")


def _harsh(m: dict[str, float]) -> list[Finding]:
    if m["highlight_clipping"] >= HARSH_CLIPPING and m["shadow_clipping"] >= HARSH_CLIPPING:
        clipped = 100 * (m["highlight_clipping"] + m["shadow_clipping"])
        return [Finding(LIGHTING, "contrast", "high", clipped, "%", level_of(clipped, "%"), 0.5,
                        f"{100 * m['shadow_clipping']:.0f} % of pixels clipped to black and "
                        f"{100 * m['highlight_clipping']:.0f} % to white")]
    return []


def cast_estimates(m: dict[str, float], axis: str) -> dict[str, float]:
    """The five estimates of the neutral ``axis`` ("a" or "b") of a grey, by estimator (the brightest
    tones are judged on their own, `_top_cast`)."""
    return {name: m[f"cast_{axis}_{name}"] for name in ("neutral", *ESTIMATORS)}


def _top_cast(m: dict[str, float], axis: str, sign: float) -> bool:
    """The brightest tones show a light's cast: the brightest channel reaches `TOP_FULL` sRGB %, another
    falls short by `TOP_DEFICIT` stops (more is a coloured object, not a cast), leaning `TOP_LEAN` stops
    this way on the axis (warmth ``(log2 R - log2 B) / 2``; tint ``-(log2 G - (log2 R + log2 B) / 2)``)."""
    full = max(m["top_r"], m["top_g"], m["top_b"]) >= TOP_FULL
    lean = m["top_warmth"] if axis == "b" else -m["top_green"]
    return full and TOP_DEFICIT[0] <= m["top_deficit_stops"] <= TOP_DEFICIT[1] and sign * lean >= TOP_LEAN


def _cast(m: dict[str, float], attribute: str, state: str, confidence: float) -> Finding | None:
    """A cast the detector found, stated when the estimates' median leans its way (else None)."""
    axis, sign = ("b" if attribute == "temperature" else "a"), (1.0 if state == "high" else -1.0)
    median = m[f"cast_{axis}_median"]
    if sign * median <= 0:
        return None
    agreeing = sum(sign * v > 0 for v in cast_estimates(m, axis).values())
    neutral = m[f"cast_{axis}_neutral"]
    evidence = (f"near-neutral surfaces average {axis}* {neutral:+.0f}" if sign * neutral >= 1.0
                else f"a grey would read {axis}* {median:+.0f}")
    if _top_cast(m, axis, sign):
        evidence = (f"the brightest tones peak at R {m['top_r']:.0f} %, G {m['top_g']:.0f} %, "
                    f"B {m['top_b']:.0f} %; {evidence}")
    evidence += f", {agreeing} of 5 estimates lean this way"
    unit = f"{axis}*"
    return Finding(GLOBAL_COLOR, attribute, state, abs(median), unit, level_of(median, unit), confidence, evidence)


def _saturation(m: dict[str, float], state: str, confidence: float) -> Finding:
    p90 = m["chroma_p90"]
    evidence = f"90th-percentile chroma {p90:.0f} (good photos: about {TYPICAL_CHROMA_P90:.0f})"
    if state == "low":
        short = max(TYPICAL_CHROMA_P90 - p90, 0.0)
        return Finding(GLOBAL_COLOR, "saturation", "low", short, "C*ab", level_of(short, "C*ab"), confidence,
                       f"the most saturated 1 % of mid-tones reach {m['saturation_p99']:.0f} % saturation, {evidence}")
    over = max(p90 - TYPICAL_CHROMA_P90, 0.0)
    return Finding(GLOBAL_COLOR, "saturation", "high", over, "C*ab", level_of(over, "C*ab"), confidence,
                   f"{evidence}, {100 * m['gamut_edge_share']:.0f} % of colourful pixels at the gamut edge")


def _bands(m: dict[str, float]) -> list[Finding]:
    found = []
    for band in HSL_BANDS:
        share = m[band_key(band, "share")]
        if share < BAND_MIN_SHARE:
            continue
        offset, chroma = m[band_key(band, "hue_offset")], m[band_key(band, "chroma")]
        where = f"{band.lower()}s cover {100 * share:.0f} % of the frame"
        if abs(offset) > BAND_HUE_LIMIT:
            found.append(Finding(SPECIFIC_COLOR, "hue", "high" if offset > 0 else "low", abs(offset), "deg",
                                 level_of(offset, "deg"), min(1.0, share / (2 * BAND_MIN_SHARE)) * 0.5,
                                 f"{where}, {abs(offset):.0f} degrees from their usual hue", band))
        if not BAND_CHROMA_RANGE[0] <= chroma <= BAND_CHROMA_RANGE[1]:
            low = chroma < BAND_CHROMA_RANGE[0]
            size = BAND_CHROMA_RANGE[0] - chroma if low else chroma - BAND_CHROMA_RANGE[1]
            found.append(Finding(SPECIFIC_COLOR, "saturation", "low" if low else "high", size, "C*ab",
                                 level_of(size, "C*ab"), min(1.0, share / (2 * BAND_MIN_SHARE)) * 0.5,
                                 f"{where} at chroma {chroma:.0f}", band))
    return found


def describe(attribute: str, state: str, m: dict[str, float], confidence: float) -> Finding | None:
    """The finding for a global fault the detector claimed: its size and evidence from the measurements
    ``m`` (module docstring); None when they cannot say it (a cast the estimates do not lean to)."""
    if attribute == "exposure":
        return _exposure(m, state, confidence)
    if attribute == "contrast":
        return _flat(m, confidence)
    if attribute == "saturation":
        return _saturation(m, state, confidence)
    return _cast(m, attribute, state, confidence)


def findings_of(m: dict[str, float], detector: FaultDetector | None = None) -> list[Finding]:
    """The findings the measurements ``m`` (`scene_measurements`) support: the global faults ``detector``
    (default the shipped one) claims, harsh contrast and the colour bands, less any that the claim
    checker's own bounds rule out (`reasoning.text.state_contradicted`), so a finding is always sayable."""
    detector = detector or shipped_detector()
    claimed = [describe(attribute, state, m, probability) for attribute, state, probability in detector.claimed(m)]
    found = [*(f for f in claimed if f is not None), *_harsh(m), *_bands(m)]
    return [f for f in found if state_contradicted(f.attribute, f.state, m, f.band) is None]


def diagnose(image: torch.Tensor, detector: FaultDetector | None = None) -> Diagnosis:
    """Measure a ``(1, 3, h, w)`` sRGB working copy and list what is wrong with it."""
    if image.ndim != 4 or image.shape[:2] != (1, 3):
        raise ValueError(f"expected one image of shape (1, 3, H, W), got {tuple(image.shape)}")
    m = scene_measurements(image)
    return Diagnosis(m, findings_of(m, detector))
