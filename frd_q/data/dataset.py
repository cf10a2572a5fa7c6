"""Bitemporal change-detection datasets in the standard layout.

Layout (LEVIR-CD / BIT / ChangeFormer style), one dataset per folder:
    <root>/A/<name>.<png|jpg|tif>      time 1
    <root>/B/<name>.<...>              time 2
    <root>/label/<name>.<...>          change mask, 0/255 or 0/1 (one band)
    <root>/list/{train,val,test}.txt   optional split files, one name per line
A split list names '<dataset>/<name>' or '<name>', optionally with a region '[y0:y1,x0:x1]' (rows, columns in
pixels): a scene too large or too rare to give whole to one split (the one WHU-CD scene) lends each split a window.
A root may also be a folder of such dataset folders (like ../shared/data/real_cd); names are then
'<dataset>/<name>'. Several roots are combined by listing several `DataSource`s.

A sample is a dict:
    a, b    float32 (C, T, T) in [0, 1]       label  float32 (T, T) in {0, 1}
    valid   bool (T, T), False on padding      name   '<dataset>/<name>@y,x'
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from frd_q.config import DataSource
from frd_q.data.io import IMAGE_SUFFIXES, PairRecord, find_image, read_pair
from frd_q.data.tiling import pad_to, padded_length, tile_grid
from frd_q.errors import DataError


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _read_names(path: Path) -> list[str]:
    if not path.is_file():
        raise DataError(f"{path}: split list not found")
    names = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            names.append(str(Path(line).with_suffix("")) if Path(line).suffix.lower() in IMAGE_SUFFIXES else line)
    return names


_REGION = re.compile(r"(?P<key>.+)\[(?P<y0>\d+):(?P<y1>\d+),(?P<x0>\d+):(?P<x1>\d+)\]")


def _select(records: list[PairRecord], list_file: Path, root: Path) -> list[PairRecord]:
    """The records a split list names, in its order; a '[y0:y1,x0:x1]' suffix keeps that window of the pair."""
    by_key = {r.key: r for r in records}
    selected = []
    for name in _read_names(list_file):
        m = _REGION.fullmatch(name)
        base = m["key"] if m else name
        if base not in by_key:
            raise DataError(f"{list_file}: '{name}' names no pair under {root}")
        rec = by_key[base]
        if m:
            y0, y1, x0, x1 = (int(m[k]) for k in ("y0", "y1", "x0", "x1"))
            if y1 <= y0 or x1 <= x0:
                raise DataError(f"{list_file}: '{name}': a region needs y0 < y1 and x0 < x1")
            rec = dataclasses.replace(rec, region=(y0, y1, x0, x1))
        selected.append(rec)
    return selected


def scan_root(source: DataSource | str, require_labels: bool = True) -> list[PairRecord]:
    """All pairs under one source (filtered by its split/list), checked for missing partners."""
    source = DataSource(root=source) if isinstance(source, (str, Path)) else source
    root = Path(source.root)
    if not root.is_dir():
        raise DataError(f"{root}: dataset folder not found")
    if (root / "A").is_dir():
        folders = [("", root)]
    else:
        folders = [(d.name, d) for d in sorted(root.iterdir()) if (d / "A").is_dir()]
    if not folders:
        raise DataError(f"{root}: no A/ folder here or in any sub-folder (expected <root>/{{A,B,label}}/<name>.png)")
    records = []
    for dataset, folder in folders:
        a_files = _image_files(folder / "A")
        a_stems = {p.stem for p in a_files}
        for b in _image_files(folder / "B") if (folder / "B").is_dir() else []:
            if b.stem not in a_stems:
                raise DataError(f"{b}: no matching time-1 image {folder / 'A' / b.stem}.*")
        for a in a_files:
            b = find_image(folder / "B", a.stem)
            if b is None:
                raise DataError(f"{a}: no matching time-2 image {folder / 'B' / a.stem}.*")
            label = find_image(folder / "label", a.stem)
            if label is None and require_labels:
                raise DataError(f"{a}: no matching label {folder / 'label' / a.stem}.*")
            records.append(PairRecord(dataset, a.stem, a, b, label))
    list_file = Path(source.list) if source.list else (root / "list" / f"{source.split}.txt" if source.split else None)
    if list_file is not None:
        records = _select(records, list_file, root)
    if not records:
        raise DataError(f"{root}: no image pairs found")
    return records


def scan_sources(sources: list[DataSource], require_labels: bool = True) -> list[PairRecord]:
    """Pairs of several sources, in order; an empty list of sources is an error."""
    if not sources:
        raise DataError("no data sources given")
    return [rec for s in sources for rec in scan_root(s, require_labels)]


@dataclass
class LoadedPair:
    record: PairRecord
    a: np.ndarray  #: uint8 (H, W, C)
    b: np.ndarray  #: uint8 (H, W, C)
    label: np.ndarray  #: uint8 (H, W) in {0, 1}


def load_pairs(records: list[PairRecord], channels: int = 3, threshold: int | None = None) -> list[LoadedPair]:
    """Read every pair into memory (the shared data sets are tens of MB)."""
    return [LoadedPair(r, *read_pair(r, channels, threshold)) for r in records]


def to_sample(a: np.ndarray, b: np.ndarray, label: np.ndarray, valid: np.ndarray, name: str) -> dict:
    """Build the sample dict from HWC uint8 images and an HW uint8 label."""
    return {
        "a": np.ascontiguousarray(a.transpose(2, 0, 1), dtype=np.float32) / 255.0,
        "b": np.ascontiguousarray(b.transpose(2, 0, 1), dtype=np.float32) / 255.0,
        "label": label.astype(np.float32),
        "valid": valid,
        "name": name,
    }


class TileDataset(torch.utils.data.Dataset):
    """Every `tile`x`tile` window of every loaded pair; ragged edges padded (mirrored images, masked labels)."""

    def __init__(self, pairs: list[LoadedPair], tile: int = 256):
        self.pairs, self.tile = pairs, tile
        self.padded = []  # per pair: (a, b, label, valid) padded once to whole tiles
        self.index = []
        for i, p in enumerate(pairs):
            h, w = p.label.shape
            ph, pw = padded_length(h, tile), padded_length(w, tile)
            valid = np.zeros((ph, pw), bool)
            valid[:h, :w] = True
            self.padded.append((pad_to(p.a, ph, pw), pad_to(p.b, ph, pw), pad_to(p.label, ph, pw, "constant"), valid))
            self.index += [(i, y, x) for y, x in tile_grid(h, w, tile)]

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> dict:
        return self.window(i, 0, 0, self.tile)

    def tile_label(self, i: int) -> np.ndarray:
        """The (padded) label of tile i, a view."""
        k, y, x = self.index[i]
        return self.padded[k][2][y : y + self.tile, x : x + self.tile]

    def window(self, i: int, dy: int, dx: int, size: int) -> dict:
        """The sample of the `size`x`size` window at offset (dy, dx) inside tile i."""
        k, y, x = self.index[i]
        y, x = y + dy, x + dx
        win = (slice(y, y + size), slice(x, x + size))
        a, b, label, valid = self.padded[k]
        return to_sample(a[win], b[win], label[win], valid[win], f"{self.pairs[k].record.key}@{y},{x}")

    def change_fraction(self) -> float:
        """Changed share of all labelled pixels."""
        changed = sum(int(p.label.sum()) for p in self.pairs)
        total = sum(p.label.size for p in self.pairs)
        return changed / max(total, 1)


def collate(samples: list[dict]) -> dict:
    """Stack sample dicts into a batch of tensors (names stay a list)."""
    out = {k: torch.from_numpy(np.stack([s[k] for s in samples])) for k in ("a", "b", "label", "valid")}
    out["name"] = [s["name"] for s in samples]
    return out


def iter_tiles(pairs: list[LoadedPair], tile: int):
    """(key, a, b) for every tile x tile window of every pair (edges mirrored, as TileDataset pads them)."""
    tiles = TileDataset(pairs, tile)
    for i, y, x in tiles.index:
        a, b = tiles.padded[i][:2]
        yield f"{pairs[i].record.key}@{y},{x}", a[y : y + tile, x : x + tile], b[y : y + tile, x : x + tile]
