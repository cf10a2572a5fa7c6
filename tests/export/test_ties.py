"""frd_q.export.ties: thresholds leave integers, the model's decisions stay the same."""

import numpy as np
import pytest
import torch

from frd_q.config import Arch, ModelConfig
from frd_q.export.ties import MARGIN, block_thresholds, remove_ties, smallest_shift
from frd_q.models import build_model


def test_smallest_shift():
    assert smallest_shift(np.array([3.3, 7.6])) == 0.0  # already clear of integers
    shift = smallest_shift(np.array([3.0, 10.52]))
    assert abs(shift) < 0.1
    assert np.abs(np.array([3.0, 10.52]) + shift - np.round(np.array([3.0, 10.52]) + shift)).min() >= MARGIN - 1e-9


@pytest.fixture
def student_on_ties():
    """A W4A4 student whose first block has thresholds exactly on integers (BN set to make them so)."""
    torch.manual_seed(0)
    model = build_model(ModelConfig(arch=Arch.STUDENT, widths=[8, 16])).eval()
    block, quant = model.conv_blocks()[0]
    t, unit = block_thresholds(block, quant)
    with torch.no_grad():  # move every channel's first threshold onto the integer nearest to it
        block[1].bias += torch.from_numpy((t[0] - np.round(t[0])) * unit).float()
    return model


def test_ties_are_removed_and_only_tie_pixels_can_change(student_on_ties, real_cd):
    from PIL import Image

    block, quant = student_on_ties.conv_blocks()[0]
    t, _ = block_thresholds(block, quant)
    assert np.abs(t[0] - np.round(t[0])).max() < 1e-6
    a = np.asarray(Image.open(real_cd / "LEVIR-CD" / "A" / "val_27_0000_0256.png").convert("RGB"))[:64, :64]
    b = np.asarray(Image.open(real_cd / "LEVIR-CD" / "B" / "val_27_0000_0256.png").convert("RGB"))[:64, :64]
    x = lambda im: torch.from_numpy(im.transpose(2, 0, 1).copy())[None].float() / 255  # noqa: E731
    with torch.no_grad():
        before = student_on_ties(x(a), x(b)).numpy()
    stats = remove_ties(student_on_ties)
    assert stats["closest_before"] < 1e-6 and stats["closest_after"] >= 1 / 40 and stats["max_shift"] < 0.5
    for block, quant in student_on_ties.conv_blocks():
        t, _ = block_thresholds(block, quant)
        assert np.abs(t - np.round(t)).min() >= 1 / 40
    with torch.no_grad():
        after = student_on_ties(x(a), x(b)).numpy()
    assert np.mean((before > 0) != (after > 0)) < 0.01  # decisions move only where an accumulator hit a threshold
