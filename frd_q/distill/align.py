"""Matching a student's features to a teacher's: stages by stride, sizes by bilinear interpolation, pixels and
channels by iteration-wise random selection.

Teacher and student differ in channels (e.g. 32..256 vs 16..96) and in resolution per stage (the teacher's
stage i sits at stride 2^(i+1), the student's at 2^i). Each student stage is paired with the teacher stage of the
nearest stride; the teacher's map is bilinearly interpolated to the student's size (the student is never
resized: its features are what the hardware computes). Relation and contrastive losses work on K pixels drawn
afresh every iteration from a generator seeded by (seed, step), stratified by label so the rare changed pixels
are represented; channel-wise losses that need equal channel counts draw min(C_s, C_t) channels at random.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def match_stages(student_strides: tuple[int, ...], teacher_strides: tuple[int, ...]) -> list[int]:
    """For each student stage, the index of the teacher stage whose stride is nearest (the deeper one on a tie)."""
    pairs = []
    for s in student_strides:
        gaps = [abs(t - s) for t in teacher_strides]
        best = min(gaps)
        pairs.append(max(i for i, g in enumerate(gaps) if g == best))
    return pairs


def resize_to(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of an (N, C, H, W) map to `size` (no-op when it already has it)."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def mask_at(mask: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """An (N, H, W) label or validity mask at feature resolution: a pixel is set if most of its area is set."""
    return F.adaptive_avg_pool2d(mask[:, None].float(), size)[:, 0] > 0.5


def sample_pixels(label: torch.Tensor, valid: torch.Tensor, k: int, gen: torch.Generator) -> list[torch.Tensor]:
    """Per image, up to k flat indices of valid pixels: half changed, half unchanged where both exist."""
    picks = []
    for lab, val in zip(label.flatten(1), valid.flatten(1)):
        changed = torch.nonzero(lab & val).flatten()
        unchanged = torch.nonzero(~lab & val).flatten()
        k_changed = min(len(changed), k // 2 if len(unchanged) else k)
        k_unchanged = min(len(unchanged), k - k_changed)
        chosen = [pool[torch.randperm(len(pool), generator=gen)[:n]] for pool, n in
                  ((changed, k_changed), (unchanged, k_unchanged))]
        picks.append(torch.cat(chosen))
    return picks


def select_channels(c_student: int, c_teacher: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Random channel indices (student, teacher) of equal length min(c_student, c_teacher)."""
    n = min(c_student, c_teacher)
    return torch.randperm(c_student, generator=gen)[:n], torch.randperm(c_teacher, generator=gen)[:n]
