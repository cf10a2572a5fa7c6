"""frd-q soup: weights averaged per tensor, ingredients kept greedily on val, the result a checkpoint that
evaluates and ships with the list of what went in."""

import json

import pytest
import torch

from frd_q.apps.cli import main
from frd_q.errors import CheckpointError, ConfigError
from frd_q.train.checkpoint import load_checkpoint, load_model, save_checkpoint
from frd_q.train.soup import greedy_soup, mean_state


def test_mean_state_averages_floats_and_keeps_the_first_counters():
    states = [{"w": torch.tensor([1.0, 2.0]), "n": torch.tensor(3)},
              {"w": torch.tensor([3.0, 6.0]), "n": torch.tensor(7)}]
    mean = mean_state(states)
    assert torch.equal(mean["w"], torch.tensor([2.0, 4.0])) and mean["w"].dtype == torch.float32
    assert torch.equal(mean["n"], torch.tensor(3))


def variant(src, dst, change):
    """A copy of checkpoint `src` at `dst` with change(name, tensor) applied to every floating-point tensor."""
    ckpt = load_checkpoint(src)
    model = {k: change(k, v) if v.is_floating_point() else v for k, v in ckpt["model"].items()}
    save_checkpoint(dst, {k: v for k, v in {**ckpt, "model": model}.items() if k not in ("format", "version", "frd_q")})
    return str(dst)


def test_greedy_soup_keeps_what_does_not_hurt_val(tiny_teacher_checkpoint, tmp_path):
    src = str(tiny_teacher_checkpoint)
    twin = variant(src, tmp_path / "twin.pt", lambda k, v: v.clone())
    assert load_checkpoint(src)["best_f1"] > 0  # the tiny teacher finds some change ...
    # ... and a copy whose output bias says "no change" everywhere finds none (F1 0), as does its mean with the rest
    broken = variant(src, tmp_path / "broken.pt", lambda k, v: v - 1e4 if k == "head.bias" else v.clone())
    lines = []
    out = greedy_soup([broken, src, twin], "soup", tmp_path / "runs", log=lines.append)
    ckpt = load_checkpoint(out)
    assert [s["checkpoint"] for s in ckpt["soup"]] == [src, twin]  # the broken copy lowers val: left out
    assert any(line.startswith(f"+ {broken}") and line.endswith("left out") for line in lines)
    for k, v in load_checkpoint(src)["model"].items():  # the mean of two equal states is that state
        assert torch.allclose(ckpt["model"][k].float(), v.float()), k
    assert ckpt["config"]["name"] == "soup" and "threshold" in ckpt["metrics"]
    model, cfg, _ = load_model(out)
    assert cfg.name == "soup" and ckpt["best_f1"] == ckpt["metrics"]["f1_mean"] == load_checkpoint(src)["best_f1"]


def test_soup_refuses_other_models_and_one_checkpoint(tiny_teacher_checkpoint, tiny_checkpoint, tmp_path):
    with pytest.raises(CheckpointError, match=f"{tiny_checkpoint}: a different model"):
        greedy_soup([str(tiny_teacher_checkpoint), str(tiny_checkpoint)], "x", tmp_path)
    with pytest.raises(ConfigError, match="at least two"):
        greedy_soup([str(tiny_teacher_checkpoint)], "x", tmp_path)
    assert main(["soup", "--checkpoint", str(tiny_teacher_checkpoint), str(tiny_checkpoint), "--name", "x",
                 "--out-dir", str(tmp_path)]) != 0
    assert not (tmp_path / "x").exists()


def test_shipped_soup_card_lists_its_ingredients(tiny_teacher_checkpoint, real_cd, tmp_path, capsys):
    src = str(tiny_teacher_checkpoint)
    twin = variant(src, tmp_path / "twin.pt", lambda k, v: v.clone())
    assert main(["soup", "--checkpoint", src, twin, "--name", "soup", "--out-dir", str(tmp_path / "runs")]) == 0
    lst = tmp_path / "l.txt"
    lst.write_text("LEVIR-CD/val_27_0000_0256\n")
    (tmp_path / "s.yaml").write_text(f"- {{root: {real_cd}, list: {lst}}}\n")
    assert main(["ship", "--checkpoint", str(tmp_path / "runs" / "soup" / "best.pt"), "--name", "t",
                 "--out", str(tmp_path / "ck"), "--sources", str(tmp_path / "s.yaml")]) == 0
    card = json.loads((tmp_path / "ck" / "t.json").read_text())
    assert [s["checkpoint"] for s in card["soup"]] == [src, twin]
    assert "the mean of 2 checkpoints' weights" in (tmp_path / "ck" / "README.md").read_text()
