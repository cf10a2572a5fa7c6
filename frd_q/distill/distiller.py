"""Distiller: the weighted sum of the distillation terms a DistillConfig switches on."""

from __future__ import annotations

import torch
from torch import nn

from frd_q.config import DISTILL_TERMS as TERMS
from frd_q.config import DistillConfig
from frd_q.distill.align import match_stages
from frd_q.distill.baselines import AttentionTransfer, ChannelWiseKD, FitNet, LogitKD
from frd_q.distill.bfdd import BFDD
from frd_q.distill.ccrd import CCRD
from frd_q.errors import ConfigError

PER_DATE = ("fitnet", "at", "cwd", "bfdd")  #: terms that need each date's features (a Siamese student)


class Distiller(nn.Module):
    def __init__(self, cfg: DistillConfig, student: nn.Module, teacher: nn.Module, seed: int = 0):
        super().__init__()
        self.weights = cfg.weights()
        if getattr(student, "fusion", None) is None and any(name in self.weights for name in PER_DATE):
            raise ConfigError(f"distill: {', '.join(n for n in PER_DATE if n in self.weights)} need per-date "
                              "features; the early-fusion student has none (use kd or ccrd)")
        matched = match_stages(student.stage_strides, teacher.stage_strides)
        if any(i >= len(matched) for i in cfg.stages):
            raise ConfigError(f"distill.stages={cfg.stages}: the student has stages 0 to {len(matched) - 1}")
        #: {student stage: teacher stage} of the stages the feature terms distil (adapters exist for every stage)
        self.pairs = {i: j for i, j in enumerate(matched) if not cfg.stages or i in cfg.stages}
        s_ch = list(student.stage_channels)
        t_ch = [teacher.stage_channels[j] for j in matched]
        self.seed = seed
        self.terms = nn.ModuleDict({
            "kd": LogitKD(cfg.kd_temperature),
            "fitnet": FitNet(s_ch, t_ch),
            "at": AttentionTransfer(),
            "cwd": ChannelWiseKD(s_ch, t_ch, cfg.cwd_temperature),
            "bfdd": BFDD(cfg.pixels, cfg.bfdd_relation),
            "ccrd": CCRD(s_ch, t_ch, cfg.pixels, cfg.ccrd_temperature),
        })
        for name in TERMS:  # keep only the modules in use (their adapters are trained with the student)
            if name not in self.weights:
                del self.terms[name]

    def forward(self, student_out, teacher_out, label, valid, step: int) -> tuple[torch.Tensor, dict]:
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + step)  # iteration-wise random selection
        label = label > 0.5
        terms = {name: self.terms[name](student_out, teacher_out, self.pairs, label, valid, gen)
                 for name in self.weights}
        total = sum(self.weights[n] * v for n, v in terms.items()) if terms else student_out.logits.sum() * 0.0
        return total, {f"distill_{n}": v.detach() for n, v in terms.items()}
