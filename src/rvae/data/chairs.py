"""3D Chairs: the rendered_chairs tree of Aubry et al., or a procedural stand-in.

The stand-in is SYNTHETIC: simple chairs built from boxes (seat, back, four legs, optional
armrests) with proportions drawn per chair, rendered in grey on white from the paper's
31 azimuths x 2 elevations at 64x64. It has the real data's structure (identity x view)
so the workflow runs offline, but numbers from it are not the paper's 3D Chairs numbers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rvae.data.common import DataError, DatasetFacts, RawDataset, existing_path

AZIMUTHS = 31
ELEVATIONS_DEG = (20.0, 30.0)
VIEWS_PER_CHAIR = AZIMUTHS * len(ELEVATIONS_DEG)
N_CHAIRS = 20
SIZE = 64
LIGHT = np.array([0.4, -0.5, 0.77])


def _box(x0, x1, y0, y1, z0, z1) -> np.ndarray:
    return np.array([[x0, x1], [y0, y1], [z0, z1]], dtype=np.float64)


def chair_boxes(rng: np.random.Generator) -> list[np.ndarray]:
    """Axis-aligned boxes of one chair, with proportions drawn from ``rng``."""
    w, d = rng.uniform(0.7, 1.3), rng.uniform(0.7, 1.2)
    h, thick = rng.uniform(0.6, 1.2), rng.uniform(0.06, 0.16)
    back_h, leg = rng.uniform(0.5, 1.5), rng.uniform(0.05, 0.16)
    boxes = [
        _box(-w / 2, w / 2, -d / 2, d / 2, h, h + thick),  # seat
        _box(-w / 2, w / 2, d / 2 - 0.1, d / 2, h + thick, h + thick + back_h),  # back
    ]
    for sx in (-1, 1):
        for sy in (-1, 1):
            cx, cy = sx * (w / 2 - leg / 2), sy * (d / 2 - leg / 2)
            boxes.append(_box(cx - leg / 2, cx + leg / 2, cy - leg / 2, cy + leg / 2, 0.0, h))
    if rng.random() < 0.4:  # armrests
        arm_h = rng.uniform(0.2, 0.4)
        for sx in (-1, 1):
            x = sx * w / 2
            boxes.append(_box(min(x, x - sx * 0.08), max(x, x - sx * 0.08), -d / 2, d / 2, h + thick + arm_h, h + thick + arm_h + 0.06))
    return boxes


def _faces(box: np.ndarray):
    """Six quads (4 corners each, counter-clockwise seen from outside) with outward normals."""

    def c(i, j, k):
        return (box[0, i], box[1, j], box[2, k])

    quads = [
        ([c(0, 0, 0), c(0, 1, 0), c(1, 1, 0), c(1, 0, 0)], (0, 0, -1)),
        ([c(0, 0, 1), c(1, 0, 1), c(1, 1, 1), c(0, 1, 1)], (0, 0, 1)),
        ([c(0, 0, 0), c(1, 0, 0), c(1, 0, 1), c(0, 0, 1)], (0, -1, 0)),
        ([c(0, 1, 0), c(0, 1, 1), c(1, 1, 1), c(1, 1, 0)], (0, 1, 0)),
        ([c(0, 0, 0), c(0, 0, 1), c(0, 1, 1), c(0, 1, 0)], (-1, 0, 0)),
        ([c(1, 0, 0), c(1, 1, 0), c(1, 1, 1), c(1, 0, 1)], (1, 0, 0)),
    ]
    return [(np.array(q, dtype=np.float64), np.array(n, dtype=np.float64)) for q, n in quads]


def render_chair(boxes: list[np.ndarray], azimuth: float, elevation: float, size: int = SIZE, supersample: int = 2) -> np.ndarray:
    """Orthographic, flat-shaded, painter's-algorithm rendering; grey chair on white, in [0, 1]."""
    a, e = np.radians(azimuth), np.radians(elevation)
    rot_z = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    rot_x = np.array([[1, 0, 0], [0, np.cos(e), -np.sin(e)], [0, np.sin(e), np.cos(e)]])
    view = rot_x @ rot_z  # world -> camera: x right, z up on screen, y into the screen
    corners = np.concatenate([np.stack(np.meshgrid(*b, indexing="ij"), -1).reshape(-1, 3) for b in boxes])
    centre = (corners.min(0) + corners.max(0)) / 2
    radius = np.linalg.norm(corners - centre, axis=1).max()
    n = size * supersample
    coords = (np.arange(n) + 0.5) / n * 2 - 1
    px, pz = np.meshgrid(coords, -coords)  # screen x to the right, z upwards
    image = np.ones((n, n))
    faces = []
    for box in boxes:
        for quad, normal in _faces(box):
            cam_normal = view @ normal
            if cam_normal[1] >= 0:  # facing away from the camera (camera looks along +y)
                continue
            pts = (quad - centre) @ view.T / (radius * 1.05)
            shade = 0.25 + 0.6 * max(0.0, float(normal @ LIGHT / np.linalg.norm(LIGHT)))
            faces.append((pts[:, 1].mean(), pts, shade))
    for _, pts, shade in sorted(faces, key=lambda f: -f[0]):  # far faces first
        u, w = pts[:, 0], pts[:, 2]
        inside = np.ones_like(px, dtype=bool)
        turn = (u[1] - u[0]) * (w[2] - w[1]) - (w[1] - w[0]) * (u[2] - u[1])
        orientation = 1.0 if turn >= 0 else -1.0
        for i in range(4):
            j = (i + 1) % 4
            edge = (u[j] - u[i]) * (pz - w[i]) - (w[j] - w[i]) * (px - u[i])
            inside &= orientation * edge >= 0
        image[inside] = shade
    return image.reshape(size, supersample, size, supersample).mean(axis=(1, 3)).astype(np.float32)


def synthetic_chairs(n_chairs: int = N_CHAIRS, seed: int = 0, azimuths: int = AZIMUTHS, elevations=ELEVATIONS_DEG, size: int = SIZE):
    """Images (n_chairs * azimuths * len(elevations), size, size) and the chair id of each."""
    if n_chairs < 2:
        raise DataError(f"datasets.chairs.n_chairs must be >= 2 (one chair per partition at least), got {n_chairs}")
    rng = np.random.default_rng(seed)
    images, ids = [], []
    for chair in range(n_chairs):
        boxes = chair_boxes(rng)
        for elevation in elevations:
            for k in range(azimuths):
                images.append(render_chair(boxes, 360.0 * k / azimuths, elevation, size))
                ids.append(chair)
    return np.stack(images), np.array(ids)


def read_rendered_chairs(path, max_chairs: int | None = None, crop_fraction: float = 0.6, size: int = SIZE):
    """``rendered_chairs/<chair id>/renders/image_*.png``: centre crop, grayscale, resized."""
    from PIL import Image, UnidentifiedImageError

    root = existing_path(path, "rendered_chairs folder", "datasets.chairs.path")
    chairs = sorted(p for p in root.iterdir() if (p / "renders").is_dir())
    if not chairs:
        raise DataError(f"datasets.chairs.path: {root} has no <chair id>/renders/ folders")
    if max_chairs:
        chairs = chairs[:max_chairs]
    images, ids, names = [], [], []
    for index, chair in enumerate(chairs):
        pngs = sorted((chair / "renders").glob("image_*.png"))
        if not pngs:
            raise DataError(f"3D Chairs: {chair / 'renders'} has no image_*.png files")
        names.append(chair.name)
        for png in pngs:
            try:
                with Image.open(png) as img:
                    gray = img.convert("L")
            except (UnidentifiedImageError, OSError, SyntaxError) as err:
                raise DataError(f"3D Chairs: cannot read image {png} ({err})") from err
            w, h = gray.size
            side = int(min(w, h) * crop_fraction)
            left, top = (w - side) // 2, (h - side) // 2
            gray = gray.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.LANCZOS)
            images.append(np.asarray(gray, dtype=np.float32) / 255.0)
            ids.append(index)
    return np.stack(images), np.array(ids), names


def random_halves(ids: np.ndarray, seed: int) -> np.ndarray:
    """D1/D2 by chair identity: a random half of the chairs each, so no chair is in both."""
    unique = np.unique(ids)
    d1 = np.random.default_rng(seed).permutation(unique)[: len(unique) // 2]
    return np.where(np.isin(ids, d1), "D1", "D2")


def load_chairs(source: str, path=None, n_chairs: int = N_CHAIRS, max_chairs=None, seed: int = 0, partition_seed: int = 0, crop_fraction: float = 0.6, size: int = SIZE) -> RawDataset:
    """``size`` is the side of the square images (64 as the paper; smaller only to save compute)."""
    if size < 8:
        raise DataError(f"datasets.chairs.load.size must be at least 8 pixels, got {size}")
    if source == "synthetic":
        images, ids = synthetic_chairs(n_chairs, seed, size=size)
        names = [f"synthetic chair {i}" for i in range(n_chairs)]
        notes = "SYNTHETIC: procedurally rendered box chairs, not the Aubry et al. 3D Chairs data"
    elif source == "rendered_chairs":
        images, ids, names = read_rendered_chairs(path, max_chairs, crop_fraction, size)
        notes = "3D Chairs (Aubry et al. 2014), rendered_chairs"
        if len(names) < 2:
            raise DataError("3D Chairs: need at least two chairs to split into D1 and D2")
    else:
        raise DataError(f"datasets.chairs.source must be synthetic or rendered_chairs, got {source!r}")
    return RawDataset("chairs", images[:, None], ids, random_halves(ids, partition_seed), names, notes)




def facts(load: dict) -> DatasetFacts:
    """Synthetic chairs: half of the chairs in D1, every view of each."""
    size = int(load.get("size", SIZE))
    if load.get("source", "synthetic") != "synthetic":
        return DatasetFacts((1, size, size))
    n = int(load.get("n_chairs", N_CHAIRS))
    return DatasetFacts((1, size, size), (n // 2) * VIEWS_PER_CHAIR, n * VIEWS_PER_CHAIR, label_counts={c: VIEWS_PER_CHAIR for c in range(n)})
