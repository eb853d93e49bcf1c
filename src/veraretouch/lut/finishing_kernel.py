"""The finishing stage's per-pixel combination for `veraretouch.lut.finishing`, compiled: one pass
over the rows that reads each pixel once and applies, per row, dehaze and the luma detail
(clarity, texture, sharpening, measured before dehaze), then the vignette and the grain, and writes
the pixels' own dtype. Each effect is an inlined row helper: simple loops over the row that the
compiler vectorises, in float32.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(inline="always")
def _fill_row(field, axes, y, row):
    """The field interpolated vertically at output row ``y``: one value per field column."""
    y0, y1, fy = axes[0][y], axes[1][y], axes[2][y]
    for j in range(field.shape[1]):
        row[j] = field[y0, j] + fy * (field[y1, j] - field[y0, j])


@njit(inline="always")
def _interpolate_row(row, axes, values):
    """``values[x]`` = `_fill_row` ``row`` interpolated horizontally at every output column."""
    low, high, fraction = axes[3], axes[4], axes[5]
    for x in range(values.shape[0]):
        left = row[low[x]]
        values[x] = left + fraction[x] * (row[high[x]] - left)


@njit(inline="always")
def _upsample_row(field, axes, y, values):
    """``values`` = the field bilinearly upsampled (``axes`` from `finishing._axes`) at output row ``y``."""
    row = np.empty(field.shape[1], dtype=np.float32)
    _fill_row(field, axes, y, row)
    _interpolate_row(row, axes, values)


@njit(inline="always")
def _node(table, position):
    """The node of ``table`` at or below ``position`` (>= 0; 1 at most, clamped), and the fraction past it."""
    scaled = min(position, np.float32(1)) * np.float32(table.shape[0] - 1)
    node = min(int(scaled), table.shape[0] - 2)
    return node, scaled - np.float32(node)


@njit(inline="always")
def _between(table, node, fraction):
    """``table`` interpolated ``fraction`` of the way from ``node`` to the next node."""
    return table[node] + fraction * (table[node + 1] - table[node])


@njit(inline="always")
def _lookup(table, position):
    """Linear interpolation of ``table`` over [0, 1] at ``position`` (>= 0; 1 at most, clamped)."""
    node, fraction = _node(table, position)
    return _between(table, node, fraction)


@njit(inline="always")
def _luma(weights, r, g, b, x):
    """The luma of pixel ``x`` (``weights``: the luminance weights)."""
    return weights[0] * r[x] + weights[1] * g[x] + weights[2] * b[x]


@njit(inline="always")
def _read_row(pixels, y, levels, units, rgb):
    """Row ``y`` of the pixels scaled to [0, 1]."""
    r, g, b = rgb
    inverse_levels = units[1] / levels
    for x in range(pixels.shape[1]):
        r[x] = np.float32(pixels[y, x, 0]) * inverse_levels
        g[x] = np.float32(pixels[y, x, 1]) * inverse_levels
        b[x] = np.float32(pixels[y, x, 2]) * inverse_levels


@njit(inline="always")
def _midtone_weight_row(rgb, weights, units, weight):
    """``4 l (1 - l)`` of the clamped luma ``l``: the detail effects and the grain fade out at black and white."""
    zero, one, _, four = units
    r, g, b = rgb
    for x in range(weight.shape[0]):
        clamped = min(max(_luma(weights, r, g, b, x), zero), one)
        weight[x] = four * clamped * (one - clamped)


@njit(inline="always")
def _add_clarity(clarity, blur, axes, y, rgb, weights, weight, values, delta):
    """``delta += clarity * weight * (luma - upsampled blur)``."""
    r, g, b = rgb
    _upsample_row(blur, axes, y, values)
    for x in range(delta.shape[0]):
        delta[x] += clarity * weight[x] * (_luma(weights, r, g, b, x) - values[x])


@njit(inline="always")
def _add_texture(texture, band, axes, y, weight, values, delta):
    """``delta += texture * weight * upsampled band``."""
    _upsample_row(band, axes, y, values)
    for x in range(delta.shape[0]):
        delta[x] += texture * weight[x] * values[x]


@njit(inline="always")
def _add_sharpening(settings, blurred, y, rise, rgb, weights, units, delta):
    """``delta +=`` the luma high pass, halo-limited by the detail setting and faded where the
    blurred luma's gradient is small by the edge masking (``ops.sharpen``)."""
    sharpness, detail, masking, halo, edge_gradient = settings[5], settings[6], settings[7], settings[18], settings[19]
    _, one, half, _ = units
    r, g, b = rgb
    width = delta.shape[0]
    above, here, below = blurred[max(y - 1, 0)], blurred[y], blurred[min(y + 1, blurred.shape[0] - 1)]
    for x in range(width):
        high = _luma(weights, r, g, b, x) - here[x]
        limited = high / (one + (one - detail) * abs(high) / halo)
        dx = (here[min(x + 1, width - 1)] - here[max(x - 1, 0)]) * half
        dy = (below[x] - above[x]) * half
        edge = _lookup(rise, np.sqrt(dx * dx + dy * dy + np.float32(1e-12)) / edge_gradient)
        delta[x] += sharpness * limited * (one - masking * (one - edge))


@njit(inline="always")
def _dehaze_row(scale, axes, y, airlight, values, rgb):
    """``airlight + (pixel - airlight) * upsampled scale`` per channel."""
    r, g, b = rgb
    _upsample_row(scale, axes, y, values)
    for x in range(values.shape[0]):
        r[x] = airlight[0] + (r[x] - airlight[0]) * values[x]
        g[x] = airlight[1] + (g[x] - airlight[1]) * values[x]
        b[x] = airlight[2] + (b[x] - airlight[2]) * values[x]


@njit(inline="always")
def _add_to_channels(added, rgb):
    """The same ``added[x]`` on each channel."""
    r, g, b = rgb
    for x in range(added.shape[0]):
        r[x] += added[x]
        g[x] += added[x]
        b[x] += added[x]


@njit(inline="always")
def _vignette_row(settings, row_term, columns, mask_table, factor_table, rise, weights, units, rgb):
    """Where the mask (read from its table at the separable distance) is positive: the exposure
    factor, held back on bright pixels by highlight priority when darkening, blended by style
    with the paint overlay towards white or black (``ops.apply_vignette``)."""
    vignette, highlight, colour, paint = settings[8], settings[9], settings[10], settings[11]
    table_top, paint_strength = settings[13], settings[21]
    zero, one, half, _ = units
    protection_scale = np.float32(0.3) + np.float32(0.7) * settings[12]
    target = one if vignette > 0 else zero
    paint_amount = paint * paint_strength * abs(vignette)
    r, g, b = rgb
    for x in range(columns.shape[0]):
        node, fraction = _node(mask_table, (row_term + columns[x]) / table_top)
        mask = _between(mask_table, node, fraction)
        if mask > 0:
            factor = _between(factor_table, node, fraction)
            protected = factor
            if vignette < 0:
                above_mid = max((_luma(weights, r, g, b, x) - half) * np.float32(2), zero)
                protection = _lookup(rise, above_mid) * protection_scale
                protected = factor + (one - factor) * protection
            gain = highlight * protected + colour * factor + paint
            blend = paint_amount * mask
            r[x] = r[x] * gain + (target - r[x]) * blend
            g[x] = g[x] * gain + (target - g[x]) * blend
            b[x] = b[x] * gain + (target - b[x]) * blend


@njit(inline="always")
def _add_grain(settings, coarse, coarse_axes, fine, fine_axes, y, weight, values, noise, rgb):
    """``grain * weight * (w_coarse * coarse + w_fine * fine)``, the grids upsampled, added to each channel."""
    grain, weight_coarse, weight_fine = settings[14], settings[15], settings[16]
    _upsample_row(coarse, coarse_axes, y, values)
    for x in range(noise.shape[0]):
        noise[x] = weight_coarse * values[x]
    if weight_fine != 0:
        _upsample_row(fine, fine_axes, y, values)
        for x in range(noise.shape[0]):
            noise[x] += weight_fine * values[x]
    r, g, b = rgb
    for x in range(noise.shape[0]):
        added = grain * weight[x] * noise[x]
        r[x] += added
        g[x] += added
        b[x] += added


@njit(inline="always")
def _write_row(out, y, levels, units, rgb):
    """Row ``y`` clamped to [0, 1]; integer pixels rounded to ``levels``."""
    zero, one, half, _ = units
    r, g, b = rgb
    if levels == 1:
        for x in range(out.shape[1]):
            out[y, x, 0] = min(max(r[x], zero), one)
            out[y, x, 1] = min(max(g[x], zero), one)
            out[y, x, 2] = min(max(b[x], zero), one)
    else:
        for x in range(out.shape[1]):
            out[y, x, 0] = int(min(max(r[x], zero), one) * levels + half)
            out[y, x, 1] = int(min(max(g[x], zero), one) * levels + half)
            out[y, x, 2] = int(min(max(b[x], zero), one) * levels + half)


@njit(parallel=True, fastmath=True, cache=True)
def finish_rows(pixels, out, settings, dehaze_scale, small_axes, airlight, clarity_blur, texture_band, fine_axes,
                blurred, rows, columns, mask_table, factor_table, rise, coarse, coarse_axes, fine, fine_grain_axes):
    """Row by row, one helper per effect; ``settings`` as `finishing.finish_pixels` lays them out.
    The float32 ``units`` (0, 1, 1/2, 4) are made before the row loop, so the compiler does not know
    their values inside it: known, fastmath refolds the arithmetic around them and moves clarity,
    texture, sharpening and grain by one float32 step on ~2 % of the values (measured on this split)."""
    levels, clarity, texture, sharpness = settings[0], settings[3], settings[4], settings[5]
    vignette, grain, dehaze = settings[8], settings[14], settings[17]
    weights = (settings[22], settings[23], settings[24])
    units = (np.float32(0), np.float32(1), np.float32(0.5), np.float32(4))
    width = pixels.shape[1]
    for y in prange(pixels.shape[0]):
        rgb = (np.empty(width, dtype=np.float32), np.empty(width, dtype=np.float32), np.empty(width, dtype=np.float32))
        weight = np.empty(width, dtype=np.float32)
        delta = np.zeros(width, dtype=np.float32)
        values = np.empty(width, dtype=np.float32)
        _read_row(pixels, y, levels, units, rgb)
        _midtone_weight_row(rgb, weights, units, weight)
        if clarity != 0:
            _add_clarity(clarity, clarity_blur, small_axes, y, rgb, weights, weight, values, delta)
        if texture != 0:
            _add_texture(texture, texture_band, fine_axes, y, weight, values, delta)
        if sharpness != 0:
            _add_sharpening(settings, blurred, y, rise, rgb, weights, units, delta)
        if dehaze > 0:
            _dehaze_row(dehaze_scale, small_axes, y, airlight, values, rgb)
        _add_to_channels(delta, rgb)
        if vignette != 0:
            _vignette_row(settings, rows[y], columns, mask_table, factor_table, rise, weights, units, rgb)
        if grain != 0:
            _add_grain(settings, coarse, coarse_axes, fine, fine_grain_axes, y, weight, values, delta, rgb)
        _write_row(out, y, levels, units, rgb)
