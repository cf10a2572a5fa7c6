import pytest
import torch

from frd_q.config import LossConfig
from frd_q.train.losses import ChangeLoss, auto_pos_weight


def test_loss_ignores_invalid_pixels():
    torch.manual_seed(0)
    logits = torch.randn(2, 1, 8, 8)
    label = (torch.rand(2, 8, 8) > 0.7).float()
    valid = torch.ones(2, 8, 8, dtype=torch.bool)
    valid[:, :, 4:] = False
    fn = ChangeLoss(LossConfig(), pos_weight=3.0)
    total, terms = fn(logits, label, valid)
    logits2 = logits.clone()
    logits2[..., 4:] = 50.0  # garbage in the padding must not matter
    label2 = label.clone()
    label2[..., 4:] = 1.0
    total2, _ = fn(logits2, label2, valid)
    assert total == pytest.approx(total2.item())
    assert set(terms) == {"bce", "dice"}


def test_perfect_prediction_has_low_loss_and_wrong_one_high():
    label = torch.zeros(1, 8, 8)
    label[0, :2] = 1
    valid = torch.ones(1, 8, 8, dtype=torch.bool)
    good = (label * 2 - 1)[:, None] * 20
    fn = ChangeLoss(LossConfig(), pos_weight=2.0)
    assert fn(good, label, valid)[0] < 0.05
    assert fn(-good, label, valid)[0] > 10


def test_auto_pos_weight():
    assert auto_pos_weight(0.5) == 1.0
    assert auto_pos_weight(0.04) == pytest.approx(24**0.5)
    assert auto_pos_weight(0.0001) == 10.0
    assert auto_pos_weight(0.0) == 1.0
