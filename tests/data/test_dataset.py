"""Scanning roots, split lists, tiling of real images and round-trips back to the full image."""

import numpy as np
import pytest

from frd_q.config import DataSource
from frd_q.data.dataset import TileDataset, collate, load_pairs, scan_root, scan_sources
from frd_q.data.tiling import Stitcher
from frd_q.errors import DataError

from conftest import copy_pairs


def test_scan_multi_dataset_root(real_cd):
    recs = scan_root(str(real_cd))
    assert len(recs) == 18
    assert {r.dataset for r in recs} == {"LEVIR-CD", "DSIFN-CD", "EGY-BCD_NCC", "SZTAKI_AirChange", "OSCD_RGB"}
    assert all(r.a.stem == r.b.stem == r.label.stem for r in recs)


def test_list_file_filters_and_orders(real_cd, tmp_path):
    lst = tmp_path / "l.txt"
    lst.write_text("# comment\nOSCD_RGB/rennes\nDSIFN-CD/1_1.png\n")
    recs = scan_root(DataSource(root=str(real_cd), list=str(lst)))
    assert [r.key for r in recs] == ["OSCD_RGB/rennes", "DSIFN-CD/1_1"]
    lst.write_text("OSCD_RGB/paris\n")
    with pytest.raises(DataError, match=r"l\.txt: 'OSCD_RGB/paris' names no pair"):
        scan_root(DataSource(root=str(real_cd), list=str(lst)))


def test_split_folder_in_bit_layout(real_cd, tmp_path):
    root = copy_pairs(real_cd / "LEVIR-CD", ["test_2_0000_0000", "val_27_0000_0256"], tmp_path / "levir")
    (root / "list").mkdir()
    (root / "list" / "val.txt").write_text("val_27_0000_0256\n")
    assert [r.name for r in scan_root(DataSource(root=str(root), split="val"))] == ["val_27_0000_0256"]
    with pytest.raises(DataError, match=r"list/test\.txt: split list not found"):
        scan_root(DataSource(root=str(root), split="test"))


def test_empty_and_missing_roots(tmp_path):
    with pytest.raises(DataError, match="dataset folder not found"):
        scan_root(str(tmp_path / "nope"))
    with pytest.raises(DataError, match="no A/ folder"):
        scan_root(str(tmp_path))
    (tmp_path / "A").mkdir()
    with pytest.raises(DataError, match="no image pairs found"):
        scan_root(str(tmp_path))
    with pytest.raises(DataError, match="no data sources"):
        scan_sources([])


def test_tiles_cover_ragged_images_and_round_trip(real_cd):
    lst = [r for r in scan_root(str(real_cd)) if r.key in ("SZTAKI_AirChange/Szada_2", "OSCD_RGB/rennes")]
    pairs = load_pairs(lst)
    ds = TileDataset(pairs, 256)
    # 952x640 -> 4x3 tiles, 563x339 -> 3x2 tiles
    assert len(ds) == 12 + 6
    for k, p in enumerate(pairs):
        h, w = p.label.shape
        img, lab = Stitcher(h, w, 256, channels=3), Stitcher(h, w, 256)
        for i, (pk, y, x) in enumerate(ds.index):
            if pk != k:
                continue
            s = ds[i]
            assert s["a"].shape == (3, 256, 256) and s["a"].dtype == np.float32
            assert not s["label"][~s["valid"]].any()
            img.add(y, x, s["a"])
            lab.add(y, x, s["label"][None])
        assert np.array_equal(np.rint(img.result() * 255).astype(np.uint8), p.a.transpose(2, 0, 1))
        assert np.array_equal(lab.result()[0], p.label)
    valid = sum(int(ds[i]["valid"].sum()) for i in range(len(ds)))
    assert valid == sum(p.label.size for p in pairs)


def test_collate_batches_samples(real_cd):
    ds = TileDataset(load_pairs(scan_root(str(real_cd / "DSIFN-CD"))), 256)
    batch = collate([ds[0], ds[1]])
    assert batch["a"].shape == (2, 3, 256, 256) and batch["valid"].dtype.is_floating_point is False
    assert batch["name"] == ["0_2@0,0", "1_1@0,0"]
