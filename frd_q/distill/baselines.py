"""The classic distillation baselines, for per-pixel change detection.

    KD      (Hinton et al. 2015), per pixel: the change probability is a Bernoulli, so the KL between the
            teacher's and the student's at temperature T:  T^2 * mean_valid KL(B(sigma(z_T/T)) || B(sigma(z_S/T)))
    FitNet  (Romero et al. 2015): MSE between a 1x1 adapter of the student's stage features and the teacher's
            (resized), both dates, every matched stage
    AT      (Zagoruyko & Komodakis 2017): attention maps Q = normalize(flatten(mean_c F^2)) per image; mean
            squared difference of the student's and the (resized) teacher's, both dates, every matched stage
    CWD     (Shu et al. 2021): per channel, a softmax over the pixels at temperature tau; tau^2 * KL(teacher ||
            student) averaged over channels, after a 1x1 adapter to the teacher's channels; both dates, every stage

Each is zero when the student's (adapted) features or logits equal the teacher's.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from frd_q.distill.align import mask_at, resize_to


class LogitKD(nn.Module):
    def __init__(self, temperature: float = 2.0):
        super().__init__()
        self.t = temperature

    def forward(self, student, teacher, pairs, label, valid, gen) -> torch.Tensor:
        z_s, z_t = student.logits[:, 0] / self.t, teacher.logits[:, 0].detach() / self.t
        p_t = torch.sigmoid(z_t)
        # KL(B(p_t) || B(p_s)) = BCE(z_s; p_t) - BCE(z_t; p_t)
        kl = F.binary_cross_entropy_with_logits(z_s, p_t, reduction="none") - F.binary_cross_entropy_with_logits(
            z_t, p_t, reduction="none")
        return self.t**2 * kl[valid].mean() if valid.any() else kl.sum() * 0.0


def _both_dates(student, teacher, pairs):
    """(stage index, student map, teacher map) for every matched stage and both dates."""
    for i, j in pairs.items():
        yield i, student.features_a[i], teacher.features_a[j].detach()
        yield i, student.features_b[i], teacher.features_b[j].detach()


class FitNet(nn.Module):
    def __init__(self, student_channels: list[int], teacher_channels: list[int]):
        super().__init__()
        self.adapters = nn.ModuleList(nn.Conv2d(s, t, 1, bias=False) for s, t in zip(student_channels, teacher_channels))

    def forward(self, student, teacher, pairs, label, valid, gen) -> torch.Tensor:
        losses = []
        for i, s, t in _both_dates(student, teacher, pairs):
            val = mask_at(valid, s.shape[-2:])[:, None]
            err = (self.adapters[i](s) - resize_to(t, s.shape[-2:])) ** 2
            losses.append(err.mean(1, keepdim=True)[val].mean())
        return torch.stack(losses).mean()


def attention_map(f: torch.Tensor) -> torch.Tensor:
    return F.normalize(f.pow(2).mean(1).flatten(1), dim=1)


class AttentionTransfer(nn.Module):
    def forward(self, student, teacher, pairs, label, valid, gen) -> torch.Tensor:
        losses = [((attention_map(s) - attention_map(resize_to(t, s.shape[-2:]))) ** 2).sum(1).mean()
                  for _, s, t in _both_dates(student, teacher, pairs)]
        return torch.stack(losses).mean()


class ChannelWiseKD(nn.Module):
    def __init__(self, student_channels: list[int], teacher_channels: list[int], temperature: float = 4.0):
        super().__init__()
        self.adapters = nn.ModuleList(nn.Conv2d(s, t, 1, bias=False) for s, t in zip(student_channels, teacher_channels))
        self.tau = temperature

    def forward(self, student, teacher, pairs, label, valid, gen) -> torch.Tensor:
        losses = []
        for i, s, t in _both_dates(student, teacher, pairs):
            s = self.adapters[i](s).flatten(2) / self.tau
            t = resize_to(t, student.features_a[i].shape[-2:]).flatten(2) / self.tau
            kl = (F.softmax(t, -1) * (F.log_softmax(t, -1) - F.log_softmax(s, -1))).sum(-1)
            losses.append(self.tau**2 * kl.mean())
        return torch.stack(losses).mean()
