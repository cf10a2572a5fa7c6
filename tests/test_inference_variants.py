"""scripts/inference_variants.py: test-time augmentation undoes each transform, a soup averages the weights, and
the script scores its variants on real pairs."""

import sys

import pytest
import torch
from torch import nn

from conftest import load_script


class Pointwise(nn.Module):
    """Logits from each pixel alone: the same under any rotation or mirror."""

    size_multiple = 1

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 1, 1)

    def forward(self, a, b):
        return self.conv(torch.abs(a - b))


class Ramp(Pointwise):
    """Logits weighted by the column index: a model that sees orientation."""

    def forward(self, a, b):
        return super().forward(a, b) * torch.arange(a.shape[-1], dtype=a.dtype)


def test_square_transforms():
    square_transforms = load_script("inference_variants").square_transforms
    all8 = square_transforms(8)
    assert all8[0] == (0, False) and len(set(all8)) == 8
    assert square_transforms(4) == all8[:4]
    for bad in (0, 9):
        with pytest.raises(ValueError, match="between 1 and 8"):
            square_transforms(bad)


def test_tta_undoes_each_transform():
    tta = load_script("inference_variants").TestTimeAugment
    torch.manual_seed(0)
    a, b = torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16)
    pointwise = Pointwise()
    with torch.no_grad():
        assert torch.allclose(tta(pointwise, 8)(a, b), pointwise(a, b), atol=1e-6)
        ramp = Ramp()
        ramp.conv.load_state_dict(pointwise.conv.state_dict())
        base = pointwise(a, b)
        columns = torch.arange(16, dtype=a.dtype)
        # identity, then one quarter turn: undone, the ramp over the turned image's columns runs down the rows
        expected = (base * columns + base * columns[:, None]) / 2
        assert torch.allclose(tta(ramp, 2)(a, b), expected, atol=1e-5)
        assert not torch.allclose(tta(ramp, 2)(a, b), ramp(a, b))


def test_soup_averages_weights(tiny_teacher_checkpoint, tmp_path):
    from frd_q.train.checkpoint import load_checkpoint, save_checkpoint

    script = load_script("inference_variants")
    ckpt = load_checkpoint(tiny_teacher_checkpoint)
    shifted = {k: v + 1.0 if v.is_floating_point() else v + 5 for k, v in ckpt["model"].items()}
    other = tmp_path / "other.pt"
    save_checkpoint(other, {k: v for k, v in {**ckpt, "model": shifted}.items()
                            if k not in ("format", "version", "frd_q")})
    same, _ = script.soup([str(tiny_teacher_checkpoint)] * 2)
    mixed, _ = script.soup([str(tiny_teacher_checkpoint), str(other)])
    for key, value in ckpt["model"].items():
        if value.is_floating_point():
            assert torch.allclose(same.state_dict()[key], value)
            assert torch.allclose(mixed.state_dict()[key], value + 0.5, atol=1e-6), key
        else:
            assert torch.equal(mixed.state_dict()[key], value), key  # counters: the first checkpoint's


def test_main_scores_variants_on_real_pairs(tiny_teacher_checkpoint, real_cd, tmp_path, monkeypatch, capsys):
    sources = tmp_path / "val.yaml"
    (tmp_path / "val.txt").write_text("LEVIR-CD/val_27_0000_0256\n")
    sources.write_text(f"- {{root: {real_cd}, list: {tmp_path / 'val.txt'}}}\n")
    monkeypatch.setattr(sys, "argv", ["inference_variants.py", "--checkpoint", str(tiny_teacher_checkpoint),
                                      "--sources", str(sources), "--tta", "1", "2", "--overlap", "0", "32"])
    load_script("inference_variants").main()
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows[0].startswith("| tta | overlap") and rows[0].endswith("| LEVIR-CD |")
    cells = [[c.strip() for c in r.strip("|").split("|")] for r in rows[1:]]
    assert [(c[0], c[1]) for c in cells] == [("1", "0"), ("1", "32"), ("2", "0"), ("2", "32")]
    for c in cells:
        assert 0.0 <= float(c[4]) <= 1.0 and float(c[4]) >= float(c[2])  # the best threshold is at least 0's
