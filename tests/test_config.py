from pathlib import Path

import pytest

from frd_q.config import Arch, Fusion, load_config
from frd_q.errors import ConfigError

from conftest import REPO


@pytest.mark.parametrize("path", sorted(p for p in (REPO / "configs").glob("*.yaml") if p.name != "ablation.yaml"),
                         ids=lambda p: p.name)  # ablation.yaml is an AblationConfig (tests/distill/test_ablate.py)
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
