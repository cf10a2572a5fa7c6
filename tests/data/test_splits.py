"""Regions in split lists, and the shipped three-way split (configs/splits/): disjoint, every dataset everywhere."""

from pathlib import Path

import numpy as np
import pytest

from frd_q.config import DataSource, load_sources
from frd_q.data.dataset import load_pairs, scan_root, scan_sources
from frd_q.data.io import read_label
from frd_q.errors import ConfigError, DataError

SPLITS = Path(__file__).resolve().parents[2] / "configs" / "splits"


def test_region_keeps_a_window_of_the_pair(real_cd, tmp_path):
    lst = tmp_path / "l.txt"
    lst.write_text("SZTAKI_AirChange/Szada_2[100:356,40:296]\nSZTAKI_AirChange/Szada_2\n")
    window, whole = load_pairs(scan_root(DataSource(root=str(real_cd), list=str(lst))))
    assert window.record.key == "SZTAKI_AirChange/Szada_2[100:356,40:296]"
    assert window.a.shape == (256, 256, 3) and window.label.shape == (256, 256)
    assert np.array_equal(window.a, whole.a[100:356, 40:296])
    assert np.array_equal(window.b, whole.b[100:356, 40:296])
    assert np.array_equal(window.label, whole.label[100:356, 40:296])


@pytest.mark.parametrize("entry, message", [
    ("SZTAKI_AirChange/Szada_2[0:700,0:10]", r"region rows 0:700, columns 0:10 .* outside the 952x640 image"),
    ("SZTAKI_AirChange/Szada_2[10:10,0:10]", r"a region needs y0 < y1"),
    ("SZTAKI_AirChange/Szada_9[0:10,0:10]", r"names no pair"),
])
def test_bad_regions_name_the_file(real_cd, tmp_path, entry, message):
    lst = tmp_path / "l.txt"
    lst.write_text(entry + "\n")
    with pytest.raises(DataError, match=message):
        load_pairs(scan_root(DataSource(root=str(real_cd), list=str(lst))))


def test_sources_file_errors(tmp_path):
    bad = tmp_path / "s.yaml"
    bad.write_text("- {root: x, lst: y}\n")
    with pytest.raises(ConfigError, match=r"s\.yaml: unknown key '\[0\]\.lst'"):
        load_sources(bad)
    bad.write_text("root: x\n")
    with pytest.raises(ConfigError, match=r"s\.yaml: expected a non-empty YAML list"):
        load_sources(bad)
    with pytest.raises(ConfigError, match=r"nope\.yaml: sources file not found"):
        load_sources(tmp_path / "nope.yaml")


def _windows(split: str) -> dict[tuple[str, str], list[tuple[int, int, int, int]]]:
    """(root name, pair key) -> the windows (y0, y1, x0, x1) of that pair the split uses (whole image: None)."""
    out = {}
    for source in load_sources(SPLITS / f"{split}.yaml"):
        for rec in scan_sources([source]):
            h, w = read_label(rec.label).shape
            region = rec.region or (0, h, 0, w)
            out.setdefault((Path(source.root).name, f"{rec.dataset}/{rec.name}"), []).append(region)
    return out


def _overlap(r, s) -> bool:
    return r[0] < s[1] and s[0] < r[1] and r[2] < s[3] and s[2] < r[3]


def test_shipped_split_is_disjoint_and_covers_every_dataset(monkeypatch):
    monkeypatch.chdir(SPLITS.parents[1])  # the split files name ../shared/data relative to the repository
    splits = {s: _windows(s) for s in ("train", "val", "test")}
    for s, t in (("train", "val"), ("train", "test"), ("val", "test")):
        for pair in splits[s].keys() & splits[t].keys():
            assert not any(_overlap(r, q) for r in splits[s][pair] for q in splits[t][pair]), (s, t, pair)
    # tiles cut from one LEVIR-CD scene (test_2_*) never straddle two splits
    scenes = {s: {k[1].rsplit("_", 2)[0] for k in splits[s] if k[1].startswith("LEVIR-CD/test_2_")} for s in splits}
    assert sum(bool(v) for v in scenes.values()) == 1
    datasets = {s: {k[1].split("/")[0] for k in splits[s]} for s in splits}
    assert datasets["val"] == datasets["test"] == datasets["train"]
    assert len(datasets["train"]) == 7
    every_pair = {(root, r.key) for root in ("real_cd", "real_cd_train")
                  for r in scan_root(f"../shared/data/{root}")}
    used = set().union(*(set(v) for v in splits.values()))
    assert used == every_pair  # every shared pair is in some split
