from pathlib import Path

import pytest

from frd_q.config import Arch, Fusion, load_config, to_dict
from frd_q.errors import ConfigError

from conftest import REPO


OTHER_KINDS = {"ablation.yaml", "sweep.yaml", "sweep_reduced.yaml"}  # AblationConfig / SweepConfig, tested below


@pytest.mark.parametrize("path", sorted(p for p in (REPO / "configs").glob("*.yaml") if p.name not in OTHER_KINDS),
                         ids=lambda p: p.name)
def test_shipped_configs_load(path):
    cfg = load_config(path)
    assert cfg.name == path.stem
    assert cfg.data.train and cfg.data.val


def test_student_defaults_are_w4a4_with_8bit_input():
    cfg = load_config(REPO / "configs" / "student_w4a4.yaml")
    assert (cfg.model.arch, cfg.model.weight_bits, cfg.model.act_bits, cfg.model.input_bits) == (Arch.STUDENT, 4, 4, 8)
    assert cfg.model.fusion == Fusion.ABSDIFF


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "c.yaml"
    p.write_text(text)
    return p


def test_unknown_key_names_file_and_dotted_key(tmp_path):
    p = write(tmp_path, "name: x\ntrain:\n  stepz: 3\n")
    with pytest.raises(ConfigError, match=r"c\.yaml: unknown key 'train\.stepz'"):
        load_config(p)


def test_wrong_type_and_bad_choice(tmp_path):
    with pytest.raises(ConfigError, match=r"'train\.steps' must be int"):
        load_config(write(tmp_path, "train: {steps: many}\n"))
    with pytest.raises(ConfigError, match=r"'model\.fusion' = 'sum' is not one of: absdiff, concat"):
        load_config(write(tmp_path, "model: {fusion: sum}\n"))
    with pytest.raises(ConfigError, match=r"model\.weight_bits=9"):
        load_config(write(tmp_path, "model: {weight_bits: 9}\n"))
    with pytest.raises(ConfigError, match=r"model\.decoder_blocks=1 \(>= 0, and a teacher setting\)"):
        load_config(write(tmp_path, "model: {arch: student, decoder_blocks: 1}\n"))
    assert load_config(write(tmp_path, "model: {arch: teacher, decoder_blocks: 1}\n")).model.decoder_blocks == 1
    with pytest.raises(ConfigError, match=r"model\.context=\[2\] \(dilations >= 1, and a teacher setting\)"):
        load_config(write(tmp_path, "model: {arch: student, context: [2]}\n"))
    with pytest.raises(ConfigError, match=r"model\.context=\[0\]"):
        load_config(write(tmp_path, "model: {arch: teacher, context: [0]}\n"))
    assert load_config(write(tmp_path, "model: {arch: teacher, context: [1, 2]}\n")).model.context == [1, 2]
    with pytest.raises(ConfigError, match=r"train\.context_lr=10.0 \(> 0, and only with model\.context\)"):
        load_config(write(tmp_path, "model: {arch: teacher}\ntrain: {context_lr: 10.0}\n"))


def test_nested_list_of_sources_and_overrides(tmp_path):
    p = write(tmp_path, "data:\n  train:\n    - root: /x\n      split: train\n")
    cfg = load_config(p, ["train.steps=7", "model.widths=[8, 16]", "loss.pos_weight=2"])
    assert cfg.data.train[0].root == "/x" and cfg.data.train[0].split == "train"
    assert cfg.train.steps == 7 and cfg.model.widths == [8, 16] and cfg.loss.pos_weight == 2.0
    with pytest.raises(ConfigError, match=r"unknown key 'data\.train\[0\]\.rooot'"):
        load_config(write(tmp_path, "data:\n  train:\n    - rooot: /x\n"))
    with pytest.raises(ConfigError, match="not of the form"):
        load_config(p, ["train.steps"])


def test_missing_and_unparsable_files(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="cannot read YAML"):
        load_config(write(tmp_path, "a: [1, 2\n"))


def test_base_merges_sections_key_by_key_and_replaces_lists(tmp_path):
    (tmp_path / "a.yaml").write_text("name: a\nmodel: {widths: [8, 16], fusion: concat}\n"
                                     "train: {steps: 9, lr: 0.5, seed: 3}\n")
    (tmp_path / "b.yaml").write_text(f"base: {tmp_path / 'a.yaml'}\nname: b\ntrain: {{seed: 4}}\n")
    (tmp_path / "c.yaml").write_text(f"base: {tmp_path / 'b.yaml'}\nname: c\nmodel: {{widths: [4, 6]}}\n")
    cfg = load_config(tmp_path / "c.yaml", ["train.lr=0.25"])
    assert cfg.name == "c" and cfg.model.widths == [4, 6] and cfg.model.fusion == Fusion.CONCAT
    assert (cfg.train.steps, cfg.train.seed, cfg.train.lr) == (9, 4, 0.25)
    assert "base" not in to_dict(cfg)  # runs and checkpoints store the merged config


def test_base_errors_name_the_file(tmp_path):
    (tmp_path / "loop1.yaml").write_text(f"base: {tmp_path / 'loop2.yaml'}\nname: l1\n")
    (tmp_path / "loop2.yaml").write_text(f"base: {tmp_path / 'loop1.yaml'}\nname: l2\n")
    with pytest.raises(ConfigError, match=r"loop2\.yaml: base .*loop1\.yaml leads back"):
        load_config(tmp_path / "loop1.yaml")
    with pytest.raises(ConfigError, match=r"c\.yaml: base nope\.yaml: config file not found"):
        load_config(write(tmp_path, "base: nope.yaml\nname: c\n"))
    with pytest.raises(ConfigError, match=r"c\.yaml: a config with a base must set its own name"):
        load_config(write(tmp_path, f"base: {tmp_path / 'loop1.yaml'}\n"))
    with pytest.raises(ConfigError, match=r"c\.yaml: base must be the path"):
        load_config(write(tmp_path, "base: [1]\nname: c\n"))
    (tmp_path / "bad.yaml").write_text("name: bad\ntrain: {stepz: 1}\n")
    with pytest.raises(ConfigError, match=r"unknown key 'train\.stepz'"):
        load_config(write(tmp_path, f"base: {tmp_path / 'bad.yaml'}\nname: c\n"))


@pytest.mark.parametrize("name", ["sweep.yaml", "sweep_reduced.yaml"])
def test_shipped_sweep_configs_load(name):
    from frd_q.apps.sweep import load_sweep, points, student_config

    cfg = load_sweep(REPO / "configs" / name)
    pts = points(cfg)
    assert {p.bits for p in pts} >= {"w8a8", "w4a4", "w3a3", "w2a2", "w1a2"} and {p.distill for p in pts} >= {"none", "frd"}
    for p in pts[:3]:  # every point's training config is valid and carries the point's settings
        s = student_config(cfg, p)
        assert (s.model.weight_bits, s.model.act_bits, s.model.widths) == (p.weight_bits, p.act_bits, cfg.widths[p.widths])
        assert s.distill.active == bool(cfg.distill[p.distill])
