"""Generated stand-ins for MNIST and Fashion-MNIST, for machines that have neither the files nor internet.

``make("mnist", "train")`` returns an :class:`ImageSet` shaped like the real set: (N, 1, 28, 28) uint8,
white on black, 10 balanced classes with the real class names, ``source="stand-in"``. Digits are drawn
from pen strokes (smooth splines through jittered control points, a few handwriting variants per digit)
under a random slant, rotation, stretch, scale and shift, with a random pen width and a light blur.
Garments are filled silhouettes with seams, collars, soles and a random fabric (plain, stripes, checks,
knit) and shading. Everything is drawn 4x larger and averaged down, which anti-aliases the edges like
the real scans.

A stand-in keeps a notebook or a test running offline; it is not the real data set, and numbers measured
on it (FID, accuracy) say nothing about MNIST. The sets are smaller than the real ones (12000 train and
2000 test images instead of 60000 and 10000) because drawing costs CPU time per image and should stay a
matter of seconds: that is plenty for the short CPU runs a stand-in serves. Each (name, split, n) is drawn
from its own fixed seed, so it is the same on every machine, and cached in ``gancourse.paths.cache_dir()``
so that later loads take milliseconds.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from ..files import atomic_write
from ..paths import cache_dir
from .idx import FASHION_CLASSES, MNIST_CLASSES
from .imageset import ImageSet

SIZES = {"train": 12000, "test": 2000}
SIZE = 28  # pixels, as the real sets
SUPER = 4  # drawn at 4x and averaged down: anti-aliased edges like the scanned originals
MARGIN = 4  # pixels around each frame on the shared canvas; what is drawn there is cut off
VERSION = 2  # bump when the drawing changes, so stale caches are not reused

Point = tuple[float, float]
Stroke = np.ndarray  # (K, 2) points of one pen stroke, in the unit box (x right, y down)


# ---------------------------------------------------------------------------------------------------
# Geometry helpers
# ---------------------------------------------------------------------------------------------------

_T = np.linspace(0, 1, 8, endpoint=False)
# Catmull-Rom weights of the four neighbouring control points at 8 steps along a segment.
_CATMULL_ROM = 0.5 * np.stack([-_T + 2 * _T**2 - _T**3, 2 - 5 * _T**2 + 3 * _T**3,
                               _T + 4 * _T**2 - 3 * _T**3, -_T**2 + _T**3], axis=1)


def _blur(images: np.ndarray, sigma: float | tuple[float, ...]) -> np.ndarray:
    """A Gaussian blur (scipy's)."""
    # lazy: scipy.ndimage is slow to import and is needed only to draw a stand-in, not to read a cached one
    from scipy.ndimage import gaussian_filter

    return gaussian_filter(images, sigma)


def _spline(points: np.ndarray) -> np.ndarray:
    """A Catmull-Rom curve through ``points`` (it passes through every one): a hand's smooth stroke."""
    if len(points) < 3:
        return points
    p = np.concatenate([points[:1], points, points[-1:]])
    windows = np.stack([p[i:len(p) - 3 + i] for i in range(4)], axis=1)  # (segments, 4, 2)
    curve = np.einsum("tk,skd->std", _CATMULL_ROM, windows)
    return np.concatenate([curve.reshape(-1, 2), points[-1:]])


def _arc(cx: float, cy: float, rx: float, ry: float, start: float, stop: float, n: int = 24) -> np.ndarray:
    """Points of an elliptic arc; angles in degrees, counter-clockwise on screen (y points down)."""
    a = np.radians(np.linspace(start, stop, n))
    return np.stack([cx + rx * np.cos(a), cy - ry * np.sin(a)], axis=1)


def _affine(rng: np.random.Generator, rotation: float, shear: float, stretch: tuple[float, float]) -> np.ndarray:
    """A random 2x2 map: stretch x, shear (slant), then rotate; amplitudes are the maxima."""
    angle = np.radians(rng.uniform(-rotation, rotation))
    c, s = np.cos(angle), np.sin(angle)
    k = -rng.normal(0.15, shear) if shear else 0.0  # x += k * y, y down: k < 0 leans the top right
    sx = rng.uniform(*stretch)
    return np.array([[c * sx, c * k - s], [s * sx, s * k + c]])  # rotate @ [[1, k], [0, 1]] @ diag(sx, 1)


# ---------------------------------------------------------------------------------------------------
# MNIST: digits from strokes
# ---------------------------------------------------------------------------------------------------
# Control points live in a box about 0.7 wide and 1 high (x right, y down). A glyph function returns
# a list of strokes; ``c(...)`` marks a smooth curve through its points, ``l(...)`` straight segments.

class _Hand:
    """A hand drawing strokes: it misses each control point a little, draws curves through them and lines."""

    wobble = 0.03  # how far a hand misses each control point

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def coin(self) -> float:
        return self.rng.random()

    def jitter(self, points: list[Point]) -> np.ndarray:
        return np.asarray(points, float) + self.rng.normal(0, self.wobble, (len(points), 2))

    def c(self, *points: Point) -> np.ndarray:
        """A curve through the points."""
        return _spline(self.jitter(list(points)))

    def l(self, *points: Point) -> np.ndarray:  # noqa: E743 (l for line reads well next to c for curve)
        """Straight lines between the points."""
        return self.jitter(list(points))


def _chain(*pieces: np.ndarray) -> np.ndarray:
    return np.concatenate(pieces)


def _zero(hand: _Hand) -> list[Stroke]:
    start = hand.rng.uniform(60, 120)
    turn = hand.rng.uniform(350, 380) * (1 if hand.coin() < 0.7 else -1)
    rx, ry = hand.rng.uniform(0.25, 0.36), 0.5
    return [_arc(0.35, 0.5, rx, ry, start, start + turn, 40) + hand.rng.normal(0, 0.01, (40, 2))]


def _one(hand: _Hand) -> list[Stroke]:
    stem = [(0.42, 0.0), (0.33, 1.0)]
    strokes = [hand.l((0.22, 0.2), *stem) if hand.coin() < 0.35 else hand.l(*stem)]
    if hand.coin() < 0.15:
        strokes.append(hand.l((0.15, 1.0), (0.55, 1.0)))
    return strokes


def _two(hand: _Hand) -> list[Stroke]:
    top = hand.c((0.05, 0.25), (0.2, 0.04), (0.42, 0.02), (0.6, 0.17), (0.56, 0.4), (0.32, 0.67), (0.03, 0.97))
    if hand.coin() < 0.25:  # a little loop where the diagonal meets the base
        base = hand.c((0.03, 0.97), (0.2, 0.86), (0.22, 0.99), (0.7, 0.98))
    else:
        base = hand.l((0.03, 0.97), (0.7, 0.97))
    return [_chain(top, base)]


def _three(hand: _Hand) -> list[Stroke]:
    upper = hand.c((0.08, 0.12), (0.3, 0.0), (0.55, 0.08), (0.56, 0.3), (0.28, 0.47))
    lower = hand.c((0.28, 0.47), (0.58, 0.58), (0.65, 0.8), (0.42, 1.0), (0.04, 0.9))
    return [_chain(upper, lower)]


def _four(hand: _Hand) -> list[Stroke]:
    if hand.coin() < 0.6:  # closed 4: one stroke down-left, across, and a separate stem
        return [hand.l((0.48, 0.0), (0.02, 0.66), (0.7, 0.66)), hand.l((0.52, 0.12), (0.5, 1.0))]
    return [hand.l((0.1, 0.0), (0.04, 0.6), (0.7, 0.6)), hand.l((0.56, 0.02), (0.52, 1.0))]


def _five(hand: _Hand) -> list[Stroke]:
    flag = hand.l((0.65, 0.02), (0.14, 0.02), (0.1, 0.45))
    belly = hand.c((0.1, 0.45), (0.35, 0.37), (0.6, 0.5), (0.64, 0.76), (0.45, 0.97), (0.2, 0.98), (0.02, 0.85))
    return [_chain(flag, belly)] if hand.coin() < 0.5 else [hand.l((0.14, 0.02), (0.1, 0.45)), belly,
                                                            hand.l((0.12, 0.02), (0.66, 0.02))]


def _six(hand: _Hand) -> list[Stroke]:
    return [hand.c((0.6, 0.02), (0.35, 0.2), (0.12, 0.5), (0.1, 0.8), (0.3, 1.0), (0.55, 0.92),
                   (0.6, 0.7), (0.4, 0.55), (0.18, 0.6), (0.1, 0.74))]


def _seven(hand: _Hand) -> list[Stroke]:
    if hand.coin() < 0.6:
        strokes = [hand.l((0.02, 0.04), (0.68, 0.04), (0.3, 1.0))]
    else:  # a bowed downstroke
        strokes = [_chain(hand.l((0.02, 0.04), (0.68, 0.04)), hand.c((0.68, 0.04), (0.45, 0.45), (0.34, 1.0)))]
    if hand.coin() < 0.2:
        strokes.append(hand.l((0.22, 0.52), (0.62, 0.52)))
    return strokes


def _eight(hand: _Hand) -> list[Stroke]:
    return [hand.c((0.56, 0.12), (0.35, 0.0), (0.12, 0.12), (0.15, 0.32), (0.35, 0.48), (0.6, 0.65),
                   (0.62, 0.88), (0.35, 1.0), (0.08, 0.88), (0.1, 0.65), (0.35, 0.48), (0.55, 0.32),
                   (0.56, 0.12))]


def _nine(hand: _Hand) -> list[Stroke]:
    loop = _arc(0.34, 0.27, hand.rng.uniform(0.22, 0.3), 0.26, 0, 360, 32) + hand.rng.normal(0, 0.01, (32, 2))
    tail = hand.c((0.6, 0.27), (0.58, 0.65), (0.5, 1.0)) if hand.coin() < 0.5 else hand.l((0.6, 0.27), (0.52, 1.0))
    return [_chain(loop, tail)]


GLYPHS = [_zero, _one, _two, _three, _four, _five, _six, _seven, _eight, _nine]  # by digit


def _glyph(rng: np.random.Generator, digit: int) -> list[Stroke]:
    if not 0 <= digit < len(GLYPHS):
        raise ValueError(f"no glyph for digit {digit}")
    return GLYPHS[digit](_Hand(rng))


def _round_spots(xy: np.ndarray) -> np.ndarray:
    """Indices of a polyline's ends and sharp corners (PIL's own round joints cost many times more)."""
    d = xy[1:] - xy[:-1]
    dot = (d[:-1] * d[1:]).sum(1)
    length2 = (d * d).sum(1)
    corners = np.flatnonzero(dot < 0.9 * np.sqrt(length2[:-1] * length2[1:])) + 1  # turns over ~25 degrees
    return np.concatenate([[0], corners, [len(xy) - 1]])


def _draw_digit(rng: np.random.Generator, digit: int, pen: ImageDraw.ImageDraw,
                origin: np.ndarray) -> tuple[np.ndarray | None, float]:
    """Draw ``digit`` into the 28x28 frame at ``origin`` (canvas pixels); return (no shading, blur)."""
    strokes = _glyph(rng, digit)
    matrix = _affine(rng, rotation=12, shear=0.18, stretch=(0.8, 1.2))
    strokes = [s @ matrix.T for s in strokes]
    points = np.concatenate(strokes)
    low, high = points.min(0), points.max(0)
    # Real MNIST digits fill a 20-pixel box (height, for most digits) centred in 28: do the same, with
    # a random size and shift.
    extent = np.maximum(high - low, 1e-3)
    scale = min(20.0 * rng.uniform(0.8, 1.0) / extent[1], 21.0 / extent[0])
    offset = (SIZE / 2 + rng.uniform(-1.2, 1.2, 2) - (low + high) / 2 * scale) * SUPER + origin
    r = float(rng.uniform(1.0, 1.8)) * SUPER  # pen radius: 2 to 3.6 pixels wide
    for stroke in strokes:
        xy = stroke * (scale * SUPER) + offset
        pen.line(xy.ravel().tolist(), fill=255, width=max(1, round(2 * r)))
        for x, y in xy[_round_spots(xy)].tolist():  # a round pen: fill the notches at ends and sharp corners
            pen.ellipse((x - r, y - r, x + r, y + r), fill=255)
    return None, rng.uniform(0.35, 0.7)


# ---------------------------------------------------------------------------------------------------
# Fashion-MNIST: garment silhouettes
# ---------------------------------------------------------------------------------------------------
# Each garment is a list of (shape, value) parts drawn in order on a 0..255 canvas in a unit box that
# fills the frame (x right, y down); "poly" parts are filled polygons, "line" parts are seams or straps
# with a width in final pixels. Values are relative brightness: 255 bright body, lower for seams.

Part = tuple[str, np.ndarray, int, float]  # (kind, points, value, line width)


class _Cut:
    """How one garment is cut: proportions drawn at random, polygon corners a little off."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def u(self, low: float, high: float) -> float:
        return self.rng.uniform(low, high)

    def poly(self, points: list[Point], value: int = 230) -> Part:
        return ("poly", np.asarray(points, float) + self.rng.normal(0, 0.012, (len(points), 2)), value, 0.0)


def _line(points: list[Point], value: int, width: float) -> Part:
    return ("line", np.asarray(points, float), value, width)


def _t_shirt(cut: _Cut) -> tuple[list[Part], float]:
    """T-shirt/top: body and short sleeves."""
    w, sl = cut.u(0.22, 0.3), cut.u(0.22, 0.34)
    body = cut.poly([(0.36, 0.06), (0.44, 0.1), (0.56, 0.1), (0.64, 0.06), (0.5 + w + sl * 0.8, 0.2),
                     (0.5 + w + sl * 0.45, 0.2 + sl), (0.5 + w, 0.34), (0.5 + w, 0.96), (0.5 - w, 0.96),
                     (0.5 - w, 0.34), (0.5 - w - sl * 0.45, 0.2 + sl), (0.5 - w - sl * 0.8, 0.2)])
    return [body, _line([(0.4, 0.08), (0.5, 0.15), (0.6, 0.08)], 90, 1.2)], 0.25


def _trouser(cut: _Cut) -> tuple[list[Part], float]:
    """Trouser: two long legs."""
    gap, flare = cut.u(0.02, 0.06), cut.u(0.0, 0.06)
    return [cut.poly([(0.3, 0.02), (0.7, 0.02), (0.73 + flare, 0.98), (0.52 + gap, 0.98), (0.5, 0.3),
                      (0.48 - gap, 0.98), (0.27 - flare, 0.98)]),
            _line([(0.3, 0.07), (0.7, 0.07)], 150, 1.0)], 0.15


def _pullover(cut: _Cut) -> tuple[list[Part], float]:
    """Pullover: long sleeves flaring out, knitted cuffs and waistband."""
    w, reach = cut.u(0.24, 0.3), cut.u(0.0, 0.05)
    hem = cut.u(0.88, 0.96)
    parts = [cut.poly([(0.34, 0.06), (0.66, 0.06), (0.5 + w + 0.12, 0.16), (0.97 + reach, 0.86),
                       (0.83 + reach, 0.9), (0.5 + w, 0.36), (0.5 + w, hem), (0.5 - w, hem), (0.5 - w, 0.36),
                       (0.17 - reach, 0.9), (0.03 - reach, 0.86), (0.5 - w - 0.12, 0.16)]),
             _line([(0.5 - w, hem - 0.04), (0.5 + w, hem - 0.04)], 150, 1.6),
             _line([(0.4, 0.07), (0.5, 0.12), (0.6, 0.07)], 120, 1.2)]
    return parts, 0.35


def _dress(cut: _Cut) -> tuple[list[Part], float]:
    """Dress: narrow bodice, flared skirt."""
    waist, hem = cut.u(0.32, 0.45), cut.u(0.22, 0.34)
    return [cut.poly([(0.38, 0.02), (0.45, 0.02), (0.5, 0.08), (0.55, 0.02), (0.62, 0.02), (0.63, 0.2),
                      (0.59, waist), (0.5 + hem, 0.98), (0.5 - hem, 0.98), (0.41, waist), (0.37, 0.2)]),
            _line([(0.41, waist), (0.59, waist)], 140, 1.0)], 0.3


def _coat(cut: _Cut) -> tuple[list[Part], float]:
    """Coat: long, straight sleeves, collar and a closed front with buttons."""
    w = cut.u(0.26, 0.32)
    parts = [cut.poly([(0.32, 0.02), (0.68, 0.02), (0.5 + w + 0.12, 0.12), (0.99, 0.94), (0.85, 0.95),
                       (0.5 + w, 0.42), (0.5 + w, 0.99), (0.5 - w, 0.99), (0.5 - w, 0.42), (0.15, 0.95),
                       (0.01, 0.94), (0.5 - w - 0.12, 0.12)], 200),
             _line([(0.5, 0.16), (0.5, 0.99)], 60, 1.3),
             _line([(0.36, 0.03), (0.5, 0.28), (0.64, 0.03)], 70, 1.4)]
    parts += [_line([(0.44, y), (0.445, y)], 255, 1.6) for y in (0.4, 0.58, 0.76)]
    return parts, 0.15


def _sandal(cut: _Cut) -> tuple[list[Part], float]:
    """Sandal: a thin sole, sometimes a heel, and a few straps; side view, toe left."""
    heel = cut.u(0.0, 0.3)
    back = 0.74 - heel * 0.5  # the sole rises towards a high heel
    parts = [cut.poly([(0.02, 0.78), (0.98, back), (0.98, back + 0.08), (0.02, 0.86)], 220)]
    if heel > 0.12:
        parts.append(cut.poly([(0.84, back + 0.05), (0.96, back + 0.05), (0.95, 0.9), (0.88, 0.9)], 200))
    strap = cut.u(1.0, 1.8)
    toe = cut.u(0.45, 0.6)
    loops = [[(0.04, 0.8), (0.1, toe + 0.05), (0.24, toe), (0.38, toe + 0.06), (0.44, 0.77)],
             [(0.4, 0.76), (0.48, toe - 0.08), (0.6, toe - 0.14), (0.72, toe - 0.06), (0.78, back + 0.02)],
             [(0.62, 0.44), (0.66, 0.36), (0.82, 0.33), (0.96, 0.36), (0.97, back)]]
    parts += [_line(_spline(np.asarray(loop) + cut.rng.normal(0, 0.01, (5, 2))).tolist(), 230, strap)
              for loop in loops]
    return parts, 0.05


def _shirt(cut: _Cut) -> tuple[list[Part], float]:
    """Shirt: long sleeves hanging down, pointed collar, button placket, often patterned."""
    w = cut.u(0.25, 0.3)
    parts = [cut.poly([(0.36, 0.04), (0.64, 0.04), (0.5 + w + 0.1, 0.12), (0.5 + w + 0.17, 0.9),
                       (0.5 + w + 0.04, 0.9), (0.5 + w, 0.35), (0.5 + w, 0.97), (0.5 - w, 0.97), (0.5 - w, 0.35),
                       (0.5 - w - 0.04, 0.9), (0.5 - w - 0.17, 0.9), (0.5 - w - 0.1, 0.12)], 210),
             cut.poly([(0.36, 0.02), (0.5, 0.14), (0.42, 0.2)], 255),
             cut.poly([(0.64, 0.02), (0.5, 0.14), (0.58, 0.2)], 255),
             _line([(0.5, 0.16), (0.5, 0.97)], 110, 0.9)]
    return parts, 0.7


def _sneaker(cut: _Cut) -> tuple[list[Part], float]:
    """Sneaker: low shoe, toe left, bright sole, lace dots."""
    h = cut.u(0.0, 0.12)
    parts = [cut.poly([(0.02, 0.64), (0.1, 0.52), (0.4, 0.44 - h * 0.5), (0.55, 0.3 - h), (0.84, 0.27 - h),
                       (0.98, 0.36 - h), (0.98, 0.76), (0.02, 0.76)], 190),
             cut.poly([(0.01, 0.7), (0.99, 0.7), (0.99, 0.8), (0.03, 0.8)], 255)]
    parts += [_line([(x, 0.44 - (x - 0.4) * 0.9 - h * 0.5), (x + 0.03, 0.46 - (x - 0.4) * 0.9 - h * 0.5)],
                    60, 1.2) for x in (0.42, 0.5, 0.58)]
    return parts, 0.2


def _bag(cut: _Cut) -> tuple[list[Part], float]:
    """Bag: a box with a handle."""
    top, span = cut.u(0.3, 0.45), cut.u(0.2, 0.3)
    return [_line([(0.5 - span, top), (0.5 - span * 0.9, top - 0.2), (0.5, top - 0.27),
                   (0.5 + span * 0.9, top - 0.2), (0.5 + span, top)], 210, cut.u(1.2, 2.2)),
            cut.poly([(0.06, top), (0.94, top), (0.98, 0.95), (0.02, 0.95)], 210),
            _line([(0.06, top + 0.08), (0.94, top + 0.08)], 120, 1.0)], 0.25


def _ankle_boot(cut: _Cut) -> tuple[list[Part], float]:
    """Ankle boot: shaft, toe left, dark heel and sole."""
    shaft = cut.u(0.02, 0.15)
    return [cut.poly([(0.02, 0.68), (0.12, 0.58), (0.42, 0.52), (0.48, shaft), (0.9, shaft), (0.93, 0.6),
                      (0.98, 0.7), (0.98, 0.95), (0.02, 0.95)], 180),
            cut.poly([(0.02, 0.88), (0.98, 0.88), (0.98, 0.97), (0.02, 0.97)], 90),
            _line([(0.48, shaft + 0.05), (0.9, shaft + 0.05)], 120, 1.0)], 0.2


GARMENTS = [_t_shirt, _trouser, _pullover, _dress, _coat, _sandal, _shirt, _sneaker, _bag, _ankle_boot]  # by label


def _garment(rng: np.random.Generator, label: int) -> tuple[list[Part], float]:
    """The parts of one garment and its fabric contrast; proportions vary a little per sample."""
    if not 0 <= label < len(GARMENTS):
        raise ValueError(f"no garment for label {label}")
    return GARMENTS[label](_Cut(rng))


_GRID = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) / SIZE  # (y, x) in [0, 1)


def _fabric(rng: np.random.Generator, pattern_chance: float) -> np.ndarray:
    """A 28x28 brightness field: shading from one side, and sometimes stripes, checks or a knit."""
    yy, xx = _GRID
    angle = rng.uniform(0, 2 * np.pi)
    field = 1.0 + rng.uniform(0.05, 0.3) * ((xx - 0.5) * np.cos(angle) + (yy - 0.5) * np.sin(angle))
    if rng.random() < pattern_chance:
        period = rng.uniform(2.2, 5.0)
        kind = rng.integers(3)
        if kind == 0:  # stripes
            wave = np.sin(2 * np.pi * (yy if rng.random() < 0.6 else xx) * SIZE / period)
        elif kind == 1:  # checks
            wave = np.sign(np.sin(2 * np.pi * xx * SIZE / period) * np.sin(2 * np.pi * yy * SIZE / period))
        else:  # knit: fine, soft noise
            wave = _blur(rng.normal(0, 2.5, (SIZE, SIZE)), 0.7)
        field = field * (1 + rng.uniform(0.1, 0.3) * wave)
    return field.astype(np.float32)


def _draw_garment(rng: np.random.Generator, label: int, pen: ImageDraw.ImageDraw,
                  origin: np.ndarray) -> tuple[np.ndarray | None, float]:
    """Draw garment ``label`` into the 28x28 frame at ``origin``; return (its shading field, blur)."""
    parts, pattern_chance = _garment(rng, label)
    matrix = _affine(rng, rotation=4, shear=0.0, stretch=(0.85, 1.08)) * rng.uniform(0.88, 1.0)
    shift = rng.uniform(-0.03, 0.03, 2)
    for kind, points, value, width in parts:
        xy = (((points - 0.5) @ matrix.T + 0.5 + shift) * (SIZE * SUPER) + origin).ravel().tolist()
        if kind == "poly":
            pen.polygon(xy, fill=value)
        else:
            # Round joints only where a few long segments meet; dense curves do not need them (and
            # PIL draws each joint separately).
            joint = "curve" if 2 < len(points) <= 8 else None
            pen.line(xy, fill=value, width=max(1, round(width * SUPER)), joint=joint)
    brightness = rng.uniform(0.45, 1.1)  # dark and light garments, as in the real set
    return brightness * _fabric(rng, pattern_chance), rng.uniform(0.3, 0.5)


# ---------------------------------------------------------------------------------------------------
# The sets
# ---------------------------------------------------------------------------------------------------

Drawer = Callable[[np.random.Generator, int, ImageDraw.ImageDraw, np.ndarray], tuple[np.ndarray | None, float]]
DRAWERS: dict[str, tuple[Drawer, list[str]]] = {
    "mnist": (_draw_digit, MNIST_CLASSES),
    "fashion-mnist": (_draw_garment, FASHION_CLASSES),
}


def _size(name: str, split: str, n: int | None) -> int:
    if name not in DRAWERS:
        raise ValueError(f"no stand-in for {name!r}; stand-ins exist for: {', '.join(DRAWERS)}")
    if split not in SIZES:
        raise ValueError(f"unknown split {split!r} for the {name} stand-in; splits: {', '.join(SIZES)}")
    return SIZES[split] if n is None else int(n)


def generate(name: str, split: str = "train", n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` images (uint8, (N, 28, 28)) and their labels (int64), balanced over the 10 classes."""
    n = _size(name, split, n)
    draw, classes = DRAWERS[name]
    # A seed per (name, split, n): the same set on every machine, and train never equals test.
    rng = np.random.default_rng(zlib.crc32(f"gancourse-stand-in/{name}/{split}/{n}/v{VERSION}".encode()))
    labels = rng.permutation(np.arange(n) % len(classes)).astype(np.int64)
    images = np.empty((n, SIZE, SIZE), np.float32)
    blur = np.empty(n)
    # Many images share one canvas (a grid of tiles with a margin that catches overhangs): PIL's
    # per-canvas costs are paid once per 256 images instead of once per image.
    tile, per_row = SIZE + 2 * MARGIN, 16
    for start in range(0, n, per_row * per_row):
        chunk = labels[start:start + per_row * per_row]
        rows = -(-len(chunk) // per_row)
        canvas = Image.new("L", (per_row * tile * SUPER, rows * tile * SUPER), 0)
        pen = ImageDraw.Draw(canvas)
        shading = {}
        for k, label in enumerate(chunk):
            origin = (np.array([k % per_row, k // per_row]) * tile + MARGIN) * SUPER
            field, blur[start + k] = draw(rng, int(label), pen, origin)
            if field is not None:
                shading[k] = field
        tiles = np.asarray(canvas.reduce(SUPER), np.float32).reshape(rows, tile, per_row, tile)
        tiles = tiles.transpose(0, 2, 1, 3).reshape(-1, tile, tile)[:len(chunk), MARGIN:-MARGIN, MARGIN:-MARGIN]
        for k, field in shading.items():
            tiles[k] *= field
        images[start:start + len(chunk)] = tiles
    # Blur in a few groups of similar strength: one filter call per group instead of one per image.
    groups = np.round(blur / 0.05).astype(int)
    for g in np.unique(groups):
        members = groups == g
        images[members] = _blur(images[members], (0, g * 0.05, g * 0.05))
    return np.clip(images, 0, 255).round().astype(np.uint8), labels


def _cache_path(name: str, split: str, n: int) -> Path:
    return cache_dir() / "stand-ins" / f"{name}-{split}-{n}-v{VERSION}.npz"


def _save_atomic(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    with atomic_write(path) as f:
        np.savez(f, images=images, labels=labels)


def make(name: str, split: str = "train", n: int | None = None, *, cache: bool = True) -> ImageSet:
    """The stand-in ``split`` of ``name`` as an :class:`ImageSet` (source ``"stand-in"``), cached on disk.

    ``n`` defaults to :data:`SIZES`; ``cache=False`` draws it afresh and writes nothing.
    """
    n = _size(name, split, n)
    images = labels = None
    path = _cache_path(name, split, n) if cache else None
    if path is not None and path.is_file():
        try:
            with np.load(path) as saved:
                images, labels = saved["images"], saved["labels"]
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):  # redrawn, not fatal
            images = labels = None
    if images is None or images.shape != (n, SIZE, SIZE):
        images, labels = generate(name, split, n)
        if path is not None:
            try:
                _save_atomic(path, images, labels)
            except OSError:  # a read-only cache only costs the redraw next time
                pass
    _, classes = DRAWERS[name]
    return ImageSet(name, torch.from_numpy(images).unsqueeze(1), torch.from_numpy(labels), list(classes),
                    source="stand-in")
