"""Every distillation term: zero (or minimal) when the student matches the teacher, positive otherwise, gradients
into the student only, batches with no change and with all change, mismatched channels and sizes."""

import pytest
import torch

from frd_q.config import DistillConfig
from frd_q.distill import TERMS, Distiller
from frd_q.distill.align import match_stages, resize_to
from frd_q.errors import ConfigError
from frd_q.models.base import ChangeOutput


class Fake(torch.nn.Module):
    """Stands in for a model: only the stage description the Distiller reads."""

    fusion = "absdiff"

    def __init__(self, channels, strides):
        super().__init__()
        self.stage_channels, self.stage_strides = tuple(channels), tuple(strides)


def outputs(channels, sizes, gen, requires_grad=False, n=2, full=32):
    rand = lambda *s: torch.randn(*s, generator=gen).requires_grad_(requires_grad)  # noqa: E731
    fa = [rand(n, c, s, s) for c, s in zip(channels, sizes)]
    fb = [rand(n, c, s, s) for c, s in zip(channels, sizes)]
    fused = [(a - b).abs() for a, b in zip(fa, fb)]
    return ChangeOutput(rand(n, 1, full, full), fa, fb, fused)


def student_like_teacher(teacher: ChangeOutput, pairs, sizes) -> ChangeOutput:
    """Student outputs equal to the teacher's resized to the student's stage sizes (leaf tensors with grads)."""
    leaf = lambda x: x.detach().clone().requires_grad_(True)  # noqa: E731
    pick = lambda fs: [leaf(resize_to(fs[j], (s, s))) for j, s in zip(pairs, sizes)]  # noqa: E731
    fa, fb = pick(teacher.features_a), pick(teacher.features_b)
    return ChangeOutput(leaf(teacher.logits), fa, fb, [(a - b).abs() for a, b in zip(fa, fb)])


def identity_adapters(distiller):
    for term in distiller.terms.values():
        for conv in getattr(term, "adapters", []):
            with torch.no_grad():
                conv.weight.zero_()
                conv.weight[:, :, 0, 0] += torch.eye(conv.weight.shape[0], conv.weight.shape[1])


LABELS = {
    "mixed": lambda n, s: (torch.arange(s * s).reshape(1, s, s) % 7 == 0).float().expand(n, s, s).clone(),
    "no_change": lambda n, s: torch.zeros(n, s, s),
    "all_change": lambda n, s: torch.ones(n, s, s),
}


@pytest.mark.parametrize("term", TERMS)
@pytest.mark.parametrize("labels", list(LABELS))
def test_term_is_minimal_at_the_teacher_and_trains_only_the_student(term, labels):
    gen = torch.Generator().manual_seed(0)
    s_ch, s_sizes, s_strides = [8, 8], [16, 8], [2, 4]  # equal channels to the matched teacher stages: identity adapters
    t_ch, t_sizes, t_strides = [8, 8, 8], [16, 8, 4], [2, 4, 8]
    distiller = Distiller(DistillConfig(teacher="t.pt", **{term: 1.0}, pixels=64), Fake(s_ch, s_strides),
                          Fake(t_ch, t_strides))
    identity_adapters(distiller)
    teacher = outputs(t_ch, t_sizes, gen)
    for f in teacher.features_a + teacher.features_b + [teacher.logits]:
        f.requires_grad_(True)  # to see that no gradient reaches it
    label, valid = LABELS[labels](2, 32), torch.ones(2, 32, 32, dtype=torch.bool)
    pairs = match_stages(s_strides, t_strides)
    same = student_like_teacher(teacher, pairs, s_sizes)
    other = outputs(s_ch, s_sizes, gen, requires_grad=True)
    at_teacher, _ = distiller(same, teacher, label, valid, step=0)
    elsewhere, terms = distiller(other, teacher, label, valid, step=0)
    assert f"distill_{term}" in terms
    assert torch.isfinite(at_teacher) and torch.isfinite(elsewhere)
    if term == "ccrd":  # contrastive terms are not zero at the optimum: minimal, below a random student
        assert at_teacher < elsewhere
    else:
        assert at_teacher.abs() < 1e-5 and elsewhere > 1e-3
    elsewhere.backward()
    assert any(f.grad is not None and f.grad.abs().sum() > 0 for f in other.features_a + [other.logits])
    assert all(f.grad is None for f in teacher.features_a + teacher.features_b + [teacher.logits])


@pytest.mark.parametrize("term", TERMS)
def test_term_runs_with_mismatched_channels_and_sizes(term):
    gen = torch.Generator().manual_seed(1)
    s_ch, s_sizes, s_strides = [6, 12, 20], [32, 16, 8], [1, 2, 4]
    t_ch, t_sizes, t_strides = [32, 64, 128, 256], [16, 8, 4, 2], [2, 4, 8, 16]
    distiller = Distiller(DistillConfig(teacher="t.pt", **{term: 1.0}, pixels=32), Fake(s_ch, s_strides),
                          Fake(t_ch, t_strides))
    student = outputs(s_ch, s_sizes, gen, requires_grad=True)
    loss, _ = distiller(student, outputs(t_ch, t_sizes, gen), LABELS["mixed"](2, 32),
                        torch.ones(2, 32, 32, dtype=torch.bool), step=3)
    assert torch.isfinite(loss) and loss > 0
    loss.backward()
    assert all(p.grad is not None for p in distiller.parameters())  # the adapters train with the student


def test_stage_matching_by_stride():
    assert match_stages((1, 2, 4, 8), (2, 4, 8, 16)) == [0, 0, 1, 2]
    assert match_stages((2, 4), (2, 4, 8)) == [0, 1]


def test_early_fusion_student_gets_one_clear_error():
    from frd_q.errors import ConfigError

    early = Fake([8], [1])
    early.fusion = None
    with pytest.raises(ConfigError, match="early-fusion"):
        Distiller(DistillConfig(teacher="t.pt", bfdd=1.0), early, Fake([8], [2]))


@pytest.mark.parametrize("term", ["fitnet", "at", "cwd", "bfdd", "ccrd"])
def test_distill_stages_leave_the_other_stages_alone(term):
    gen = torch.Generator().manual_seed(2)
    s_ch, s_sizes, s_strides = [8, 8], [16, 8], [2, 4]
    t_ch, t_sizes, t_strides = [8, 8, 8], [16, 8, 4], [2, 4, 8]
    teacher = outputs(t_ch, t_sizes, gen)
    label, valid = LABELS["mixed"](2, 32), torch.ones(2, 32, 32, dtype=torch.bool)
    same = student_like_teacher(teacher, match_stages(s_strides, t_strides), s_sizes)
    other = outputs(s_ch, s_sizes, gen, requires_grad=True)
    # a student equal to the teacher at stage 1 and random at stage 0 (fused map too)
    mixed = type(same)(same.logits, [other.features_a[0], same.features_a[1]],
                       [other.features_b[0], same.features_b[1]], [other.fused[0], same.fused[1]])
    late = Distiller(DistillConfig(teacher="t.pt", **{term: 1.0}, pixels=64, stages=[1]), Fake(s_ch, s_strides),
                     Fake(t_ch, t_strides))
    every = Distiller(DistillConfig(teacher="t.pt", **{term: 1.0}, pixels=64), Fake(s_ch, s_strides),
                      Fake(t_ch, t_strides))
    every.load_state_dict(late.state_dict())  # the same adapters: stages only choose what is compared
    identity_adapters(late), identity_adapters(every)
    assert late.pairs == {1: 1} and every.pairs == {0: 0, 1: 1}
    loss_late, _ = late(mixed, teacher, label, valid, step=0)
    loss_every, _ = every(mixed, teacher, label, valid, step=0)
    assert loss_late < loss_every
    if term != "ccrd":  # stage 1 is the teacher's own: nothing left to learn there
        assert loss_late.abs() < 1e-5
    loss_late.backward(retain_graph=True)
    assert all(f.grad is None or f.grad.abs().sum() == 0 for f in (other.features_a[0], other.features_b[0]))
    loss_every.backward()  # the check above can fail: with every stage, stage 0 does get a gradient
    assert other.features_a[0].grad.abs().sum() > 0
    with pytest.raises(ConfigError, match=r"distill.stages=\[2\]: the student has stages 0 to 1"):
        Distiller(DistillConfig(teacher="t.pt", bfdd=1.0, stages=[2]), Fake(s_ch, s_strides), Fake(t_ch, t_strides))
