"""Teacher and student: the shared feature contract, Siamese weight sharing, and the student's FINN-safe ops."""

import brevitas
import pytest
import torch
from brevitas import nn as qnn
from torch import nn

from frd_q.config import Arch, Downsample, Fusion, ModelConfig
from frd_q.models import build_model, model_name
from frd_q.models.base import ChangeOutput

CASES = [
    ModelConfig(arch=Arch.TEACHER, widths=[8, 16, 24], blocks=[1, 1, 1]),
    ModelConfig(arch=Arch.TEACHER, widths=[8, 16], blocks=[1, 2], fusion=Fusion.CONCAT),
    ModelConfig(arch=Arch.TEACHER, widths=[8, 16, 24], blocks=[1, 1, 1], decoder_blocks=2),
    ModelConfig(arch=Arch.TEACHER, widths=[8, 16, 24], blocks=[1, 1, 1], decoder_blocks=2, context=[1, 2]),
    ModelConfig(arch=Arch.STUDENT, widths=[8, 16, 24]),
    ModelConfig(arch=Arch.STUDENT, widths=[8, 16, 24], fusion=Fusion.CONCAT, downsample=Downsample.STRIDE),
]


def case_id(c: ModelConfig) -> str:
    return f"{c.arch.value}-{c.fusion.value}-{c.downsample.value}-d{c.decoder_blocks}{'-ctx' if c.context else ''}"


@pytest.mark.parametrize("cfg", CASES, ids=case_id)
def test_feature_contract(cfg):
    torch.manual_seed(0)
    m = build_model(cfg).eval()
    a, b = torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64)
    out = m(a, b, return_features=True)
    assert isinstance(out, ChangeOutput)
    assert out.logits.shape == (2, 1, 64, 64)
    assert len(out.features_a) == len(out.features_b) == len(out.fused) == len(cfg.widths)
    for f, c, s in zip(out.features_a, m.stage_channels, m.stage_strides):
        assert f.shape == (2, c, 64 // s, 64 // s)
    k = 2 if cfg.fusion == Fusion.CONCAT else 1
    assert [f.shape[1] for f in out.fused] == [k * c for c in m.stage_channels]
    assert torch.equal(m(a, b), out.logits)


@pytest.mark.parametrize("cfg", [CASES[0], CASES[4]], ids=["teacher", "student"])
def test_encoder_is_shared_between_dates(cfg):
    m = build_model(cfg).eval()
    a = torch.rand(1, 3, 32, 32)
    out = m(a, a.clone(), return_features=True)
    for fa, fb in zip(out.features_a, out.features_b):
        assert torch.equal(fa, fb)
    # one set of encoder weights: a gradient from date B reaches the same parameters as date A
    m.train()
    first = next(p for n, p in m.named_parameters() if "stage" in n or "stem" in n)
    out = m(torch.zeros(1, 3, 32, 32), torch.rand(1, 3, 32, 32), return_features=True)
    out.features_b[0].sum().backward()
    assert first.grad is not None and first.grad.abs().sum() > 0


def test_teacher_decoder_blocks_add_nonlinear_merges_and_keep_the_linear_fpn_at_zero():
    """decoder_blocks = 0 is the teacher every shipped checkpoint holds (the same parameter names); n adds n conv-BN-ReLU
    blocks at each level but the first, and the logits then depend on them."""
    plain = build_model(ModelConfig(arch=Arch.TEACHER, widths=[8, 16, 24], blocks=[1, 1, 1]))
    assert not any(n.startswith("merge.") for n in plain.state_dict())
    deep = build_model(ModelConfig(arch=Arch.TEACHER, widths=[8, 16, 24], blocks=[1, 1, 1], decoder_blocks=2)).eval()
    merge = {n for n in deep.state_dict() if n.startswith("merge.")}
    assert {n.split(".")[1] for n in merge} == {"0", "1"} and any(n.startswith("merge.1.1.") for n in merge)
    assert set(deep.state_dict()) - merge == set(plain.state_dict())
    a, b = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    before = deep(a, b)
    with torch.no_grad():
        deep.merge[1][1][0].weight.mul_(3.0)
    assert not torch.allclose(before, deep(a, b))


@pytest.mark.parametrize("decoder_blocks", [0, 2])
def test_teacher_context_blocks_start_as_the_identity_and_then_widen_the_view(decoder_blocks):
    """model.context adds residual dilated blocks on the deepest level only (a fine-tune of a teacher without them
    starts from the same function); once trained, a change far from a pixel reaches its logit through them."""
    cfg = dict(arch=Arch.TEACHER, widths=[8, 16, 24], blocks=[1, 1, 1], decoder_blocks=decoder_blocks)
    torch.manual_seed(0)
    plain = build_model(ModelConfig(**cfg)).eval()
    wide = build_model(ModelConfig(**cfg, context=[1, 4])).eval()
    extra = set(wide.state_dict()) - set(plain.state_dict())
    assert extra and all(n.startswith("context.") for n in extra)
    assert wide.context[1].body[0].dilation == (4, 4)
    wide.load_state_dict(plain.state_dict(), strict=False)
    a, b = torch.rand(1, 3, 128, 128), torch.rand(1, 3, 128, 128)
    assert torch.equal(plain(a, b), wide(a, b))
    with torch.no_grad():
        for block in wide.context:
            block.body[-1].weight.fill_(1.0)
    # a change in the image's top-left corner: the logit at the bottom-right corner moves only through the context
    b2 = b.clone()
    b2[..., :16, :16] = 1.0 - b2[..., :16, :16]
    corner = (slice(None), slice(None), slice(112, None), slice(112, None))
    assert torch.equal(plain(a, b)[corner], plain(a, b2)[corner])
    assert not torch.equal(wide(a, b)[corner], wide(a, b2)[corner])


FINN_LAYERS = (qnn.QuantConv2d, qnn.QuantReLU, qnn.QuantIdentity, nn.BatchNorm2d, nn.MaxPool2d, nn.Upsample,
               nn.Identity)


def layers(module):
    """The layers of a network, looking through containers but not into the Brevitas layers themselves."""
    for child in module.children():
        if isinstance(child, FINN_LAYERS):
            yield child
        elif type(child) in (nn.Sequential, nn.ModuleList) or type(child).__name__ == "QConvBNReLU":
            yield from layers(child)
        else:
            yield child  # anything else is reported by the test


@pytest.mark.parametrize("downsample", list(Downsample))
def test_student_uses_only_finn_compilable_modules(downsample):
    m = build_model(ModelConfig(arch=Arch.STUDENT, widths=[8, 16, 24], downsample=downsample))
    found = list(layers(m))
    assert all(isinstance(mod, FINN_LAYERS) for mod in found), [type(x) for x in found]
    convs = [mod for mod in found if isinstance(mod, nn.Conv2d)]
    assert convs and all(isinstance(c, qnn.QuantConv2d) and c.bias is None for c in convs)
    assert all(c.kernel_size in ((3, 3), (1, 1)) and c.groups == 1 for c in convs)
    assert all(u.mode == "nearest" and u.scale_factor == 2 for u in found if isinstance(u, nn.Upsample))
    pools = [mod for mod in found if isinstance(mod, nn.MaxPool2d)]
    strided = [c for c in convs if c.stride == (2, 2)]
    if downsample == Downsample.MAXPOOL:
        assert len(pools) == 2 and not strided
    else:
        assert not pools and len(strided) == 2


@pytest.mark.parametrize("bits", [1, 2, 4, 8])
def test_student_bit_widths(bits):
    m = build_model(ModelConfig(arch=Arch.STUDENT, widths=[8, 16], weight_bits=bits, act_bits=bits))
    assert model_name(m_cfg := ModelConfig(arch=Arch.STUDENT, weight_bits=bits, act_bits=bits)) == f"student_w{bits}a{bits}"
    conv = m.stages[1][-1][0]
    qw = conv.quant_weight()
    assert int(qw.bit_width) == bits
    levels = torch.unique(torch.round(qw.value / qw.scale)).numel()
    assert levels <= (2 if bits == 1 else 2**bits - 1)  # narrow range, or bipolar for 1 bit
    relu = m.stages[1][-1][2]
    assert int(relu.act_quant.bit_width()) == bits
    assert m_cfg.input_bits == 8


def test_student_input_is_exact_8bit_integers():
    m = build_model(ModelConfig(arch=Arch.STUDENT, widths=[8, 16]))
    pixels = torch.arange(256, dtype=torch.float32).reshape(1, 1, 16, 16).repeat(1, 3, 1, 1)
    q = m.input_quant(pixels / 255.0)
    assert torch.equal(torch.round(q * 255.0), pixels)
    assert torch.allclose(q * 255.0, pixels, atol=1e-4)


def test_brevitas_runs_on_this_torch():
    """brevitas 0.13.0 breaks on torch >= 2.13 ('Tensor' object has no attribute 'rename'): catch that here."""
    major, minor = (int(x) for x in torch.__version__.split(".")[:2])
    assert (major, minor) < (2, 13), f"torch {torch.__version__} is not supported by brevitas {brevitas.__version__}"
    inp = qnn.QuantIdentity(bit_width=8, return_quant_tensor=True)
    conv = qnn.QuantConv2d(3, 4, 3, bias=False, weight_bit_width=4, return_quant_tensor=True)
    act = qnn.QuantReLU(bit_width=4, return_quant_tensor=True)
    y = act(conv(inp(torch.rand(1, 3, 8, 8))))
    assert y.value.shape == (1, 4, 6, 6) and int(y.bit_width) == 4
