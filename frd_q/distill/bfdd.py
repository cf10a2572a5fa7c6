"""BFDD, bitemporal feature distance distillation: the student learns how far apart the teacher puts the two
dates' features, pixel by pixel and between sampled pixels, separately for changed and unchanged pixels.

For a matched stage, with f = L2-normalized features (teacher map bilinearly resized to the student's size):

    d(p)      = 1 - <f_A(p), f_B(p)>                              bitemporal cosine distance map, in [0, 2]
    L_dist    = 1/2 [ mean_{p changed} (d_S(p) - d_T(p))^2 + mean_{p unchanged} (d_S(p) - d_T(p))^2 ]
    R(i, j)   = <f_A(p_i), f_B(p_j)>                              cross-date relation of K sampled pixels
    L_rel     = mean_{i,j} (R_S(i, j) - R_T(i, j))^2
    BFDD      = mean over stages of (L_dist + relation * L_rel)

Both terms compare cosine quantities, so the teacher's and the student's channel counts need not agree; the K
pixels are drawn afresh every iteration, half changed and half unchanged where both exist. The class-balanced
mean keeps the rare changed pixels from vanishing in the average. Zero when the student's normalized features
equal the (resized) teacher's.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from frd_q.distill.align import mask_at, resize_to, sample_pixels


def balanced_mean(x: torch.Tensor, label: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Mean of x over valid changed pixels and over valid unchanged pixels, averaged (a missing class drops out)."""
    parts = [x[valid & cls].mean() for cls in (label, ~label) if (valid & cls).any()]
    return torch.stack(parts).mean() if parts else x.sum() * 0.0


class BFDD(nn.Module):
    def __init__(self, pixels: int = 256, relation: float = 1.0):
        super().__init__()
        self.pixels, self.relation = pixels, relation

    def stage(self, s_a, s_b, t_a, t_b, label, valid, gen) -> torch.Tensor:
        size = s_a.shape[-2:]
        s_a, s_b = F.normalize(s_a, dim=1), F.normalize(s_b, dim=1)
        t_a, t_b = (F.normalize(resize_to(t.detach(), size), dim=1) for t in (t_a, t_b))
        lab, val = mask_at(label, size), mask_at(valid, size)
        d_s, d_t = 1 - (s_a * s_b).sum(1), 1 - (t_a * t_b).sum(1)
        loss = balanced_mean((d_s - d_t) ** 2, lab, val)
        if self.relation:
            rel = []
            for n, idx in enumerate(sample_pixels(lab, val, self.pixels, gen)):
                if len(idx) == 0:
                    continue
                pick = lambda f: f[n].flatten(1)[:, idx.to(f.device)]  # noqa: E731  (C, K)
                r_s, r_t = pick(s_a).T @ pick(s_b), pick(t_a).T @ pick(t_b)
                rel.append(((r_s - r_t) ** 2).mean())
            if rel:
                loss = loss + self.relation * torch.stack(rel).mean()
        return loss

    def forward(self, student, teacher, pairs, label, valid, gen) -> torch.Tensor:
        losses = [self.stage(student.features_a[i], student.features_b[i], teacher.features_a[j],
                             teacher.features_b[j], label, valid, gen) for i, j in pairs.items()]
        return torch.stack(losses).mean()
