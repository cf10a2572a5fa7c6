"""Reading pairs: real files round-trip, and every kind of bad file gets a DataError naming it."""

import numpy as np
import pytest
from PIL import Image

from frd_q.data.dataset import scan_root
from frd_q.data.io import PairRecord, read_image, read_label, read_pair
from frd_q.errors import DataError

from conftest import copy_pairs


def test_real_pair_reads_as_uint8_rgb_and_binary_label(real_cd):
    rec = PairRecord("SZTAKI_AirChange", "Szada_2", *(real_cd / "SZTAKI_AirChange" / d / "Szada_2.png"
                                                       for d in ("A", "B", "label")))
    a, b, label = read_pair(rec)
    assert a.shape == b.shape == (640, 952, 3) and a.dtype == np.uint8
    assert label.shape == (640, 952) and set(np.unique(label)) == {0, 1}
    raw = np.asarray(Image.open(rec.label))
    assert np.array_equal(label, (raw == 255).astype(np.uint8))
    assert np.array_equal(a, np.asarray(Image.open(rec.a).convert("RGB")))


@pytest.fixture
def levir(tmp_path, real_cd):
    return copy_pairs(real_cd / "LEVIR-CD", ["test_2_0000_0000", "val_27_0000_0256"], tmp_path / "levir")


def test_missing_partner_files(levir):
    (levir / "B" / "val_27_0000_0256.png").unlink()
    with pytest.raises(DataError, match=r"A/val_27_0000_0256\.png: no matching time-2 image"):
        scan_root(str(levir))


def test_missing_label(levir):
    (levir / "label" / "test_2_0000_0000.png").unlink()
    with pytest.raises(DataError, match=r"A/test_2_0000_0000\.png: no matching label"):
        scan_root(str(levir))
    assert len(scan_root(str(levir), require_labels=False)) == 2


def test_orphan_b_image(levir):
    Image.new("RGB", (256, 256)).save(levir / "B" / "extra.png")
    with pytest.raises(DataError, match=r"B/extra\.png: no matching time-1 image"):
        scan_root(str(levir))


def test_size_mismatch_names_both_files(levir):
    Image.open(levir / "B" / "test_2_0000_0000.png").crop((0, 0, 200, 256)).save(levir / "B" / "test_2_0000_0000.png")
    rec = scan_root(str(levir))[0]
    with pytest.raises(DataError, match=r"B/test_2_0000_0000\.png: size 200x256 differs from .*A/test_2_0000_0000\.png"):
        read_pair(rec)


def test_label_size_mismatch(levir):
    Image.new("L", (128, 128)).save(levir / "label" / "test_2_0000_0000.png")
    with pytest.raises(DataError, match=r"label/test_2_0000_0000\.png: size 128x128 differs"):
        read_pair(scan_root(str(levir))[0])


def test_odd_label_values_and_threshold(tmp_path):
    lab = np.zeros((8, 8), np.uint8)
    lab[:4] = 128
    lab[0, 0] = 255
    Image.fromarray(lab).save(tmp_path / "l.png")
    with pytest.raises(DataError, match=r"l\.png: label values 128 are not in \{0, 1, 255\}.*label_threshold"):
        read_label(tmp_path / "l.png")
    out = read_label(tmp_path / "l.png", threshold=127)
    assert out.sum() == 32 and out.dtype == np.uint8


def test_zero_one_labels_accepted(tmp_path):
    lab = np.zeros((4, 4), np.uint8)
    lab[1, 2] = 1
    Image.fromarray(lab).save(tmp_path / "l.png")
    assert read_label(tmp_path / "l.png").sum() == 1


def test_rgb_label_with_differing_bands_rejected(tmp_path):
    lab = np.zeros((4, 4, 3), np.uint8)
    lab[0, 0, 0] = 255
    Image.fromarray(lab).save(tmp_path / "l.png")
    with pytest.raises(DataError, match="differing bands"):
        read_label(tmp_path / "l.png")


def test_corrupt_image(levir):
    path = levir / "A" / "test_2_0000_0000.png"
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(DataError, match=r"A/test_2_0000_0000\.png: cannot read image"):
        read_image(path)
    (levir / "A" / "x.png").write_text("not an image")
    with pytest.raises(DataError, match=r"A/x\.png: cannot read image"):
        read_image(levir / "A" / "x.png")


def test_grayscale_when_rgb_expected(levir):
    path = levir / "A" / "test_2_0000_0000.png"
    Image.open(path).convert("L").save(path)
    with pytest.raises(DataError, match=r"A/test_2_0000_0000\.png: grayscale image, but data.in_channels is 3"):
        read_image(path)
    assert read_image(path, channels=1).shape == (256, 256, 1)


def test_rgba_drops_alpha(levir):
    path = levir / "A" / "test_2_0000_0000.png"
    rgb = np.asarray(Image.open(path))
    Image.open(path).convert("RGBA").save(path)
    assert np.array_equal(read_image(path), rgb)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"nope\.png: file not found"):
        read_image(tmp_path / "nope.png")
