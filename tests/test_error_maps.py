"""scripts/error_maps.py: each pixel's colour says hit, false alarm or miss; the figure is written whole, with each
panel's F1 equal to the one the metrics compute, and a dataset the split lacks is named in the error."""

import numpy as np
import pytest
from PIL import Image

from conftest import load_script


def test_error_colours_hits_false_alarms_and_misses():
    em = load_script("error_maps")
    pred = np.array([[1, 1], [0, 0]], np.uint8)
    label = np.array([[1, 0], [1, 0]], np.uint8)
    rgb = em.error_rgb(pred, label)
    assert rgb.dtype == np.uint8 and rgb.shape == (2, 2, 3)
    assert tuple(rgb[0, 0]) == em.WHITE  # hit
    assert tuple(rgb[0, 1]) == em.RED  # false alarm
    assert tuple(rgb[1, 0]) == em.BLUE  # miss
    assert tuple(rgb[1, 1]) == (0, 0, 0)  # unchanged, left alone
    with pytest.raises(ValueError, match="differ in size"):
        em.error_rgb(pred, label[:1])


def test_figure_and_f1_on_real_pairs(tmp_path, real_cd, tiny_checkpoint, capsys):
    from frd_q.config import DataSource
    from frd_q.data.dataset import load_pairs, scan_root
    from frd_q.infer import evaluate_pairs
    from frd_q.train.checkpoint import decision_threshold, load_model

    em = load_script("error_maps")
    sources = tmp_path / "sources.yaml"
    sources.write_text(f"- {{root: {real_cd}}}\n")
    out = tmp_path / "maps.png"
    em.main(["--sources", str(sources), "--datasets", "SZTAKI_AirChange", "--checkpoint", str(tiny_checkpoint),
             "--out", str(out)])
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["maps.png", "sources.yaml"]  # no temporary file left
    printed = capsys.readouterr().out.splitlines()
    rows = [line for line in printed if line.startswith("SZTAKI_AirChange/")]
    model, cfg, ckpt = load_model(tiny_checkpoint)
    pairs = load_pairs(scan_root(DataSource(root=str(real_cd / "SZTAKI_AirChange"))))
    assert len(rows) == len(pairs) > 0
    for row, p in zip(rows, pairs):
        total, _ = evaluate_pairs(model, [p], cfg.data.tile_size, 0, "cpu", decision_threshold(ckpt))
        assert row.split(" | ")[1] == f"{100 * total.metrics()['f1']:.1f} ({total.fp}, {total.fn})"
    drawn = np.asarray(Image.open(out).convert("RGB")).reshape(-1, 3)
    assert any((drawn == colour).all(axis=1).any() for colour in (em.RED, em.BLUE))  # errors drawn in their colours
    with pytest.raises(SystemExit, match="no pairs of Atlantis"):
        em.main(["--sources", str(sources), "--datasets", "Atlantis", "--checkpoint", str(tiny_checkpoint),
                 "--out", str(tmp_path / "none.png")])
    assert not (tmp_path / "none.png").exists()
    with pytest.raises(SystemExit, match="no.pt"):  # a missing checkpoint: named, nothing written
        em.main(["--sources", str(sources), "--datasets", "SZTAKI_AirChange", "--checkpoint",
                 str(tmp_path / "no.pt"), "--out", str(tmp_path / "none.png")])
    assert not (tmp_path / "none.png").exists()
    (tmp_path / "bad.yaml").write_text(f"- {{root: {tmp_path / 'nowhere'}}}\n")
    with pytest.raises(SystemExit, match="nowhere"):  # a missing data root: named
        em.main(["--sources", str(tmp_path / "bad.yaml"), "--checkpoint", str(tiny_checkpoint),
                 "--out", str(tmp_path / "none.png")])
