"""Ray casting of textured rectangles: frames of a 3-D scene whose geometry is exact.

A scene is a set of ``Panel``s, flat textured rectangles in the world (OpenCV
camera axes: x right, y down, z ahead). Each pixel's ray takes the colour of
the nearest panel it hits, so parallax, occlusion and perspective are those of
a real pinhole camera, and every pixel's depth is known: a track-eval over
such frames measures track steps against the true epipolar lines.

Textures repeat mirrored (no seams) and are sampled from a mip-map pyramid
by each ray's footprint, so distant and slanted panels blur rather than
alias; frames are rendered at twice the resolution and averaged down, which
anti-aliases the panels' outlines.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

NEAR_M = 0.05  # rays hit nothing closer than this
SUPERSAMPLE = 2  # rendered at this multiple of the frame size, then averaged down
REMAP_COLUMNS = 1024  # samples per row of the maps handed to cv2.remap


@dataclass(frozen=True)
class Panel:
    """A textured rectangle: texture pixel (0, 0) at ``corner``, its rows along ``down``.

    ``right`` and ``down`` are orthogonal unit vectors; the panel spans
    ``size_m`` = (along ``right``, along ``down``) metres and shows texture
    ``texture`` of the scene at ``texels_per_m`` texture pixels per metre,
    its grey levels times ``gain``.
    """

    corner: np.ndarray
    right: np.ndarray
    down: np.ndarray
    size_m: tuple[float, float]
    texture: int
    texels_per_m: float
    gain: float = 1.0

    @property
    def normal(self) -> np.ndarray:
        return np.cross(self.right, self.down)


class Textures:
    """Gray textures as mirrored tiles with their mip-map pyramids (float32 grey levels)."""

    def __init__(self, images: list[np.ndarray]) -> None:
        if not images:
            raise ValueError("a scene needs at least one texture")
        self.pyramids = [self._pyramid(image) for image in images]

    def __len__(self) -> int:
        return len(self.pyramids)

    @staticmethod
    def _pyramid(image: np.ndarray) -> list[np.ndarray]:
        gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        gray = gray.astype(np.float32)
        top = np.concatenate([gray, gray[:, ::-1]], axis=1)  # mirrored: it wraps seamlessly
        levels = [np.ascontiguousarray(np.concatenate([top, top[::-1]], axis=0))]
        while min(levels[-1].shape) >= 16:
            levels.append(cv2.pyrDown(levels[-1], borderType=cv2.BORDER_WRAP))
        return levels

    def sample(self, index: int, x: np.ndarray, y: np.ndarray, footprint: np.ndarray):
        """Grey levels of texture ``index`` at texel ``x, y`` (level 0, any range: it
        repeats), blended between the two mip levels that bracket ``footprint``
        (texels per pixel)."""
        pyramid = self.pyramids[index]
        level = np.clip(np.log2(np.maximum(footprint, 1.0)), 0.0, len(pyramid) - 1.0)
        lower = np.floor(level).astype(np.int64)
        upper = np.minimum(lower + 1, len(pyramid) - 1)
        blend = (level - lower).astype(np.float32)
        out = np.zeros(len(x), np.float32)
        for number, texture in enumerate(pyramid):
            weight = np.where(lower == number, 1.0 - blend, 0.0) + np.where(
                upper == number, blend, 0.0
            )
            used = np.flatnonzero(weight > 0)
            if len(used):
                out[used] += weight[used] * _remap(texture, x[used], y[used], number)
        return out


def _remap(texture: np.ndarray, x: np.ndarray, y: np.ndarray, level: int) -> np.ndarray:
    """Bilinear samples of one pyramid level at level-0 texel ``x, y`` (wrapping)."""
    height, width = texture.shape
    scale = 0.5**level  # level-0 texel centres to this level's
    count = len(x)
    rows = -(-count // REMAP_COLUMNS)  # remap takes maps of fewer than 32767 rows
    maps = np.zeros((2, rows * REMAP_COLUMNS), np.float32)
    maps[0, :count] = np.mod((x + 0.5) * scale - 0.5, width)
    maps[1, :count] = np.mod((y + 0.5) * scale - 0.5, height)
    maps = maps.reshape(2, rows, REMAP_COLUMNS)
    values = cv2.remap(texture, maps[0], maps[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
    return values.reshape(-1)[:count]


@dataclass
class PanelScene:
    """Panels, their textures, and the grey level of rays that hit none (the sky)."""

    panels: list[Panel]
    textures: Textures
    background: float = 180.0


def cast(
    scene: PanelScene, T_world_cam: np.ndarray, K: np.ndarray, pixels: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Depth (camera z, m; inf where nothing is hit) and panel index (-1: none) of the
    rays through ``pixels`` ``(N, 2)`` of a camera ``K`` at ``T_world_cam``."""
    hits = _cast(scene, T_world_cam, K, np.asarray(pixels, np.float64))
    return hits.depth, hits.panel


def render(
    scene: PanelScene, T_world_cam: np.ndarray, K: np.ndarray, size: tuple[int, int]
) -> np.ndarray:
    """The frame (float32 grey levels) of a camera ``K`` of ``size`` = (width, height)
    at ``T_world_cam``."""
    width, height = size
    factor = SUPERSAMPLE
    K_fine = np.diag([factor, factor, 1.0]) @ K
    K_fine[:2, 2] = (K[:2, 2] + 0.5) * factor - 0.5  # pixel centres stay where they were
    hits = _cast(
        scene, T_world_cam, K_fine, _grid(width * factor, height * factor), width * factor
    )
    fine = _shade(scene, hits, K_fine[0, 0]).reshape(height * factor, width * factor)
    return cv2.resize(fine, size, interpolation=cv2.INTER_AREA)


def depth_map(
    scene: PanelScene, T_world_cam: np.ndarray, K: np.ndarray, size: tuple[int, int]
) -> np.ndarray:
    """Depth (m, inf for the sky) at each pixel centre of the frame ``render`` gives."""
    width, height = size
    hits = _cast(scene, T_world_cam, K, _grid(width, height), width)
    return hits.depth.reshape(height, width).astype(np.float32)


def _grid(width: int, height: int) -> np.ndarray:
    """Every pixel of a ``width`` x ``height`` image, row by row, as ``(N, 2)`` x, y."""
    u, v = np.meshgrid(np.arange(width), np.arange(height))
    return np.stack([u.ravel(), v.ravel()], axis=1).astype(np.float64)


@dataclass
class _Hits:
    """Per ray: depth, panel index (-1: none), the hit in panel metres (a along
    ``right``, b along ``down``), the ray and |cos| of its incidence angle."""

    depth: np.ndarray
    panel: np.ndarray
    a: np.ndarray
    b: np.ndarray
    rays: np.ndarray
    facing: np.ndarray


def _cast(
    scene: PanelScene,
    T_world_cam: np.ndarray,
    K: np.ndarray,
    pixels: np.ndarray,
    grid_width: int | None = None,
) -> _Hits:
    """The nearest panel hit by each pixel's ray. ``grid_width``: the pixels are every
    pixel of an image that wide, row by row (each panel's rays are then found from
    its outline in the image instead of tried one by one)."""
    rotation, centre = T_world_cam[:3, :3], T_world_cam[:3, 3]
    rays_camera = np.concatenate(
        [(pixels - K[:2, 2]) / np.diag(K)[:2], np.ones((len(pixels), 1))], axis=1
    )  # z = 1: a ray's parameter at a hit is the hit's depth
    count = len(pixels)
    hits = _Hits(np.full(count, np.inf), np.full(count, -1, np.int64), np.zeros(count),
                 np.zeros(count), rays_camera @ rotation.T, np.zeros(count))  # fmt: skip
    for index, panel in enumerate(scene.panels):
        outline = _outline(panel, T_world_cam, K)
        if outline is None:
            continue
        found = _hits(panel, centre, hits.rays, _rays_within(outline, pixels, grid_width),
                      hits.depth)  # fmt: skip
        if found is None:
            continue
        rows, t, a, b, facing = found
        hits.depth[rows], hits.panel[rows] = t, index
        hits.a[rows], hits.b[rows], hits.facing[rows] = a, b, facing
    return hits


def _shade(scene: PanelScene, hits: _Hits, focal: float) -> np.ndarray:
    """Grey level of each ray: its panel's texture (sampled once, for the panel it
    shows), or the background."""
    value = np.full(len(hits.depth), scene.background, np.float32)
    for index in np.unique(hits.panel[hits.panel >= 0]).tolist():
        panel = scene.panels[index]
        rows = np.flatnonzero(hits.panel == index)
        # texels per pixel: the ray's footprint, stretched by the slant (geometric mean of axes)
        length = np.linalg.norm(hits.rays[rows], axis=1)
        footprint = hits.depth[rows] * length / focal
        footprint /= np.sqrt(np.maximum(hits.facing[rows], 0.05))
        texels = panel.texels_per_m
        value[rows] = panel.gain * scene.textures.sample(
            panel.texture, hits.a[rows] * texels, hits.b[rows] * texels, footprint * texels
        )
    return value


def _outline(panel: Panel, T_world_cam: np.ndarray, K: np.ndarray) -> np.ndarray | None:
    """The pixel box (x0, y0, x1, y1) that holds the panel's part in front of the
    camera, or None if no part is."""
    width, height = panel.size_m
    corners = panel.corner + np.array(
        [a * panel.right + b * panel.down for a, b in ((0, 0), (width, 0), (width, height),
                                                       (0, height))]
    )  # fmt: skip
    T_cam_world = np.linalg.inv(T_world_cam)
    in_camera = corners @ T_cam_world[:3, :3].T + T_cam_world[:3, 3]
    kept = []  # the outline clipped to z >= NEAR_M (Sutherland-Hodgman, one plane)
    for start, end in zip(in_camera, np.roll(in_camera, -1, axis=0), strict=True):
        if start[2] >= NEAR_M:
            kept.append(start)
        if (start[2] >= NEAR_M) != (end[2] >= NEAR_M):
            share = (NEAR_M - start[2]) / (end[2] - start[2])
            kept.append(start + share * (end - start))
    if not kept:
        return None
    points = np.array(kept)
    pixels = points[:, :2] / points[:, 2:3] * np.diag(K)[:2] + K[:2, 2]
    return np.concatenate([pixels.min(axis=0), pixels.max(axis=0)])


def _rays_within(outline: np.ndarray, pixels: np.ndarray, grid_width: int | None):
    """Indices of the pixels inside ``outline`` (one pixel of margin), or a slice."""
    x0, y0, x1, y1 = outline
    if grid_width is None:
        x, y = pixels[:, 0], pixels[:, 1]
        return np.flatnonzero((x >= x0 - 1) & (x <= x1 + 1) & (y >= y0 - 1) & (y <= y1 + 1))
    grid_height = len(pixels) // grid_width
    left, right = max(int(np.floor(x0)) - 1, 0), min(int(np.ceil(x1)) + 2, grid_width)
    top, bottom = max(int(np.floor(y0)) - 1, 0), min(int(np.ceil(y1)) + 2, grid_height)
    if left >= right or top >= bottom:
        return np.zeros(0, np.int64)
    rows = np.arange(top, bottom)[:, None] * grid_width
    return (rows + np.arange(left, right)[None, :]).ravel()


def _hits(
    panel: Panel, centre: np.ndarray, rays: np.ndarray, tried: np.ndarray, depth: np.ndarray
):
    """Rays ``tried`` that hit ``panel`` nearer than ``depth``: rows, depth, panel
    coordinates (m) along ``right`` and ``down``, and |cos| of the incidence angle;
    None if none."""
    if len(tried) == 0:
        return None
    normal = panel.normal
    facing_dot = rays[tried] @ normal
    offset = float(normal @ (panel.corner - centre))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = offset / facing_dot
    candidate = np.flatnonzero((t > NEAR_M) & (t < depth[tried]))
    if len(candidate) == 0:
        return None
    t = t[candidate]
    points = centre + t[:, None] * rays[tried[candidate]] - panel.corner
    a, b = points @ panel.right, points @ panel.down
    inside = (a >= 0) & (a <= panel.size_m[0]) & (b >= 0) & (b <= panel.size_m[1])
    if not inside.any():
        return None
    chosen = candidate[inside]
    rows = tried[chosen]
    facing = np.abs(facing_dot[chosen]) / np.linalg.norm(rays[rows], axis=1)
    return rows, t[inside], a[inside], b[inside], facing
