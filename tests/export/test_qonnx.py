"""frd_q.export: checkpoint -> QONNX runs like PyTorch on real tiles; the integer head reference is exact."""

import numpy as np
import pytest

from frd_q.config import DataSource
from frd_q.data.dataset import load_pairs, scan_root
from frd_q.errors import ConfigError
from frd_q.export import export_checkpoint, export_model, head_accumulators, run_qonnx
from frd_q.export.qonnx import run_torch
from frd_q.train.checkpoint import load_model

TILE = 64


@pytest.fixture(scope="module")
def real_tiles(real_cd):
    pairs = load_pairs(scan_root(DataSource(root=str(real_cd / "LEVIR-CD"))))[:3]
    return [(p.a[:TILE, :TILE], p.b[:TILE, :TILE]) for p in pairs]


@pytest.mark.parametrize("fixture", ["tiny_checkpoint", "tiny_early_checkpoint"])
def test_export_matches_pytorch_on_real_tiles(request, tmp_path, real_tiles, fixture):
    result = export_checkpoint(request.getfixturevalue(fixture), TILE, tmp_path / "m.onnx")
    path = result["onnx"]
    assert result["ties"]["closest_after"] >= 1 / 40
    model, _, _ = load_model(result["checkpoint"])  # the exported (tie-free) weights
    for a, b in real_tiles:
        out, ref = run_qonnx(path, a, b), run_torch(model, a, b)
        assert out.shape == ref.shape
        # the same quantized graph in float32, operations in another order: rounding-level differences only
        assert np.abs(out - ref).max() < 1e-3
        assert np.array_equal(out > 0, ref > 0)


def test_head_accumulators_are_the_head_conv_in_integers(tiny_checkpoint, real_tiles):
    model, _, _ = load_model(tiny_checkpoint)
    a, b = real_tiles[0]
    acc = head_accumulators(model, a, b)
    assert acc.dtype == np.int64 and acc.shape == (1, TILE, TILE, 1)
    captured = {}
    hook = model.head[0].register_forward_hook(lambda m, i, o: captured.update(y=o))
    run_torch(model, a, b)
    hook.remove()
    scale = model.head_input_act.act_quant.scale() * model.head[0].quant_weight().scale.flatten()[0]
    float_acc = (captured["y"] / scale).permute(0, 2, 3, 1).detach().numpy()
    assert np.abs(float_acc - acc).max() < 1e-2  # the float conv of the same integers, rescaled
    assert len(np.unique(acc)) > 10  # a real spread of values, not a constant


def test_teacher_checkpoints_are_refused(tmp_path, real_cd):
    from conftest import tiny_config

    from frd_q.config import config_from_dict
    from frd_q.train.loop import train

    cfg = config_from_dict(tiny_config(tmp_path, real_cd, "teacher", steps=1, val_every=1))
    train(cfg, progress=False)
    with pytest.raises(ConfigError, match="teacher"):
        export_checkpoint(tmp_path / "runs" / "tiny" / "last.pt", TILE, tmp_path / "t.onnx")
    assert not (tmp_path / "t.onnx").exists()


def test_tile_must_fit_the_model(tmp_path, tiny_checkpoint):
    model, _, _ = load_model(tiny_checkpoint)
    with pytest.raises(ConfigError, match="multiple"):
        export_model(model, 63, tmp_path / "m.onnx")
