"""Changed regions as the strips stream past: connected components of changed pixels (union-find across strips),
spilled to a temporary file once finished, written as GeoJSON polygons in the scene's CRS."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from frd_q.fsutil import atomic_path


class _UnionFind:
    def __init__(self):
        self.parent: list[int] = []

    def add(self, n: int) -> int:
        first = len(self.parent)
        self.parent.extend(range(first, first + n))
        return first

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return root

    def union(self, i: int, j: int) -> None:
        ri, rj = self.find(i), self.find(j)
        if ri != rj:
            self.parent[max(ri, rj)] = min(ri, rj)


class Regions:
    """Connected changed regions (4-connectivity), found strip by strip, merged across strip borders, and written
    out as soon as they are complete.

    Each strip's components are labelled and polygonized (rasterio.features.shapes, in the scene's CRS through
    `transform`); a component touching the previous strip's last row is joined to it by union-find. A region none
    of whose pieces reaches the current strip's last row can no longer grow: its pieces are unioned (shapely) and
    the finished polygon goes to a temporary spill file, so memory holds only the regions still open, plus one
    pixel count per component. `regions()` reads them back (largest first); `write_geojson` streams them."""

    def __init__(self, transform=None, min_pixels: int = 1):
        import tempfile

        from rasterio.transform import Affine

        self.transform = transform or Affine.identity()
        self.min_pixels = min_pixels
        self.changed = self.total = 0
        self._uf = _UnionFind()
        self._pixels: list[int] = []  # per component id
        self._pieces: dict[int, list] = {}  # open component id -> polygons
        self._last_row = None  # component ids of the previous strip's last row (-1 = no change)
        self._spill = tempfile.TemporaryFile("w+")
        self._index: list[tuple[int, int]] = []  # (pixels, offset) of each finished region in the spill file

    def write(self, row, logits):
        from rasterio.features import shapes
        from rasterio.windows import Window, transform as window_transform
        from scipy import ndimage
        from shapely.geometry import shape

        mask = logits > 0
        self.total += mask.size
        self.changed += int(mask.sum())
        labels, n = ndimage.label(mask)  # 4-connectivity
        first = self._uf.add(n)
        self._pixels.extend(np.bincount(labels.ravel(), minlength=n + 1)[1:].tolist())
        gid = np.where(labels > 0, labels - 1 + first, -1)
        if self._last_row is not None:
            both = (self._last_row >= 0) & (gid[0] >= 0)
            for i, j in set(zip(self._last_row[both].tolist(), gid[0][both].tolist())):
                self._uf.union(i, j)
        self._last_row = gid[-1].copy()
        if n:
            t = window_transform(Window(0, row, mask.shape[1], mask.shape[0]), self.transform)
            for geom, value in shapes(labels.astype(np.int32), mask=mask, connectivity=4, transform=t):
                self._pieces.setdefault(int(value) - 1 + first, []).append(shape(geom))
        still_open = {self._uf.find(int(g)) for g in np.unique(self._last_row[self._last_row >= 0])}
        self._finish(lambda root: root not in still_open)

    def _finish(self, done) -> None:
        """Union and spill every open region whose root satisfies `done`."""
        from shapely import union_all
        from shapely.geometry import mapping

        groups: dict[int, list[int]] = {}
        for g in self._pieces:
            groups.setdefault(self._uf.find(g), []).append(g)
        for root, members in groups.items():
            if not done(root):
                continue
            polys = [p for g in members for p in self._pieces.pop(g)]
            pixels = sum(self._pixels[g] for g in members)
            if pixels < self.min_pixels:
                continue
            geom = polys[0] if len(polys) == 1 else union_all(polys)
            offset = self._spill.tell()
            self._spill.write(json.dumps({"pixels": pixels, "geometry": mapping(geom)}) + "\n")
            self._index.append((pixels, offset))

    def close(self):
        self._finish(lambda root: True)

    def __len__(self) -> int:
        return len(self._index)

    @property
    def largest(self) -> int:
        return max((p for p, _ in self._index), default=0)

    def __iter__(self):
        """Finished regions, largest first: {id, pixels, area (CRS units^2 or pixels), geometry (GeoJSON dict)}."""
        pixel_area = abs(self.transform.a * self.transform.e - self.transform.b * self.transform.d)
        self._spill.flush()
        for k, (_, offset) in enumerate(sorted(self._index, key=lambda t: (-t[0], t[1]))):
            self._spill.seek(offset)
            d = json.loads(self._spill.readline())
            yield {"id": k + 1, "pixels": d["pixels"], "area": d["pixels"] * pixel_area, "geometry": d["geometry"]}
        self._spill.seek(0, 2)

    def regions(self) -> list[dict]:
        """All finished regions as a list (geometry as shapely objects), largest first."""
        from shapely.geometry import shape

        return [dict(d, geometry=shape(d["geometry"])) for d in self]


def write_geojson(path: str | Path, regions, crs=None, area_unit: str = "px") -> None:
    """A GeoJSON FeatureCollection of the regions (properties id, pixels, area, area_unit), written feature by
    feature; the CRS is named in a `crs` member (GeoJSON 2008 style), since RFC 7946 assumes WGS 84."""
    from shapely.geometry import mapping

    with atomic_path(path) as tmp, tmp.open("w") as fh:
        fh.write('{"type": "FeatureCollection",')
        if crs is not None:
            fh.write(' "crs": ' + json.dumps({"type": "name", "properties": {"name": crs.to_string()}}) + ",")
        fh.write(' "features": [')
        for k, d in enumerate(regions):
            geom = d["geometry"] if isinstance(d["geometry"], dict) else mapping(d["geometry"])
            feature = {"type": "Feature", "id": d["id"], "geometry": geom,
                       "properties": {"id": d["id"], "pixels": d["pixels"], "area": round(d["area"], 6),
                                      "area_unit": area_unit}}
            fh.write(("," if k else "") + "\n" + json.dumps(feature))
        fh.write("\n]}\n")


def area_unit(crs) -> str:
    """'m2' for a projected CRS in metres, '<unit>2' for another linear unit, 'px' without a CRS or for degrees."""
    if crs is None or not crs.is_projected:
        return "px"
    unit = (crs.linear_units or "").lower()
    return "m2" if unit in ("metre", "meter", "m") else f"{unit}2"

