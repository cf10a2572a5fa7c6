"""CCRD, contrastive cluster representation distillation: the student's change / non-change feature
distributions are pulled onto the teacher's, at the pixel level and at the level of class clusters.

For a matched stage, on the fused bitemporal features (|A - B| in both models), with z = normalize(adapter(S))
(a 1x1 conv from the student's to the teacher's channels, used only in training), t = normalize(resized T), the
labels y at feature resolution, K pixels sampled per image (half changed, half unchanged), temperature tau:

    c_y       = normalize(mean of t over pixels of class y)                 teacher cluster prototypes
    s_y       = normalize(mean of z over pixels of class y)                 student cluster prototypes
    L_pixel   = -mean_i log( e^{z_i.t_i/tau} / (e^{z_i.t_i/tau} + sum_{j: y_j != y_i} e^{z_i.t_j/tau}) )
    L_cluster = -mean_i log( e^{z_i.c_{y_i}/tau} / sum_y e^{z_i.c_y/tau} )  (when both classes are present)
    L_proto   = mean_y (1 - <s_y, c_y>)
    CCRD      = mean over stages of (L_pixel + L_cluster + L_proto)

The positive of a student pixel is the teacher's embedding of the same pixel, its negatives the teacher's
embeddings of sampled pixels of the other class, so change and non-change features of the student separate the way
the teacher's do. With one class in the batch, L_pixel has no negatives (0) and L_cluster is skipped. L_proto is 0
and the contrastive terms are at their minimum for the given teacher when z equals t.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from frd_q.distill.align import mask_at, resize_to, sample_pixels


class CCRD(nn.Module):
    def __init__(self, student_channels: list[int], teacher_channels: list[int], pixels: int = 256,
                 temperature: float = 0.1):
        super().__init__()
        self.adapters = nn.ModuleList(nn.Conv2d(s, t, 1, bias=False) for s, t in zip(student_channels, teacher_channels))
        self.pixels, self.tau = pixels, temperature

    def stage(self, adapter, s, t, label, valid, gen) -> torch.Tensor:
        size = s.shape[-2:]
        z = F.normalize(adapter(s), dim=1)
        t = F.normalize(resize_to(t.detach(), size), dim=1)
        lab, val = mask_at(label, size), mask_at(valid, size)
        losses = []
        for n, idx in enumerate(sample_pixels(lab, val, self.pixels, gen)):
            if len(idx) == 0:
                continue
            idx = idx.to(z.device)
            zi, ti = z[n].flatten(1)[:, idx].T, t[n].flatten(1)[:, idx].T  # (K, D)
            yi = lab[n].flatten()[idx]
            sim = zi @ ti.T / self.tau  # (K, K): student pixel i vs teacher pixel j
            other = yi[:, None] != yi[None, :]
            pos = sim.diagonal()
            neg = torch.where(other, sim, torch.full_like(sim, float("-inf")))
            l_pix = (torch.logsumexp(torch.cat([pos[:, None], neg], 1), 1) - pos).mean()
            loss = l_pix
            present = [c for c in (True, False) if (yi == c).any()]
            protos_t = {c: F.normalize(ti[yi == c].mean(0), dim=0) for c in present}
            protos_s = {c: F.normalize(zi[yi == c].mean(0), dim=0) for c in present}
            loss = loss + torch.stack([1 - protos_s[c] @ protos_t[c] for c in present]).mean()
            if len(present) == 2:
                logits = zi @ torch.stack([protos_t[True], protos_t[False]]).T / self.tau  # (K, 2)
                loss = loss + F.cross_entropy(logits, (~yi).long())
            losses.append(loss)
        return torch.stack(losses).mean() if losses else z.sum() * 0.0

    def forward(self, student, teacher, pairs, label, valid, gen) -> torch.Tensor:
        losses = [self.stage(self.adapters[i], student.fused[i], teacher.fused[j], label, valid, gen)
                  for i, j in pairs.items()]
        return torch.stack(losses).mean()
