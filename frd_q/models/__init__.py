"""Model zoo: `build_model(cfg)` returns the teacher or student a ModelConfig describes."""

from __future__ import annotations

from frd_q.config import Arch, ModelConfig
from frd_q.models.base import ChangeDetector, ChangeOutput


def build_model(cfg: ModelConfig, in_channels: int = 3) -> ChangeDetector:
    """Build the network named by `cfg.arch` (imports Brevitas only for the quantized models)."""
    if cfg.arch == Arch.TEACHER:
        from frd_q.models.teacher import TeacherCD

        return TeacherCD(cfg, in_channels)
    if cfg.arch == Arch.EARLY:
        from frd_q.models.early import EarlyFusionCD

        return EarlyFusionCD(cfg, in_channels)
    from frd_q.models.student import StudentCD

    return StudentCD(cfg, in_channels)


def model_name(cfg: ModelConfig) -> str:
    """Variant name `<arch>_w<W>a<A>` for quantized models, `teacher_<w0>` for teachers."""
    if cfg.arch == Arch.TEACHER:
        return f"teacher_{cfg.widths[0]}"
    return f"{cfg.arch.value}_w{cfg.weight_bits}a{cfg.act_bits}"


__all__ = ["ChangeDetector", "ChangeOutput", "build_model", "model_name"]
