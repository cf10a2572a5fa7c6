"""`frd-q evaluate / predict / info / train` end to end on real pairs, and one-line errors for bad input."""

import json
import subprocess
import sys

import numpy as np
import torch
from PIL import Image

from frd_q.apps.cli import main
from frd_q.metrics import METRIC_KEYS

from conftest import REPO, tiny_config, write_config


def one_error_line(capsys, argv, match):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("frd-q: error: ") and match in err[0], err
    return err[0]


def sources_file(tmp_path, real_cd, *pairs):
    """A sources YAML (as configs/splits/test.yaml) naming `pairs` of the shared real_cd root."""
    lst = tmp_path / "l.txt"
    lst.write_text("".join(f"{p}\n" for p in pairs))
    sources = tmp_path / "s.yaml"
    sources.write_text(f"- {{root: {real_cd}, list: {lst}}}\n")
    return sources


def test_evaluate_prints_table_and_writes_exact_json_keys(tiny_checkpoint, real_cd, tmp_path, capsys):
    out = tmp_path / "m.json"
    assert main(["evaluate", "--checkpoint", str(tiny_checkpoint), "--data", str(real_cd / "DSIFN-CD"),
                 "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "precision" in text and "kappa" in text and "all (3 pairs)" in text
    metrics = json.loads(out.read_text())
    assert list(metrics) == list(METRIC_KEYS)
    assert all(0.0 <= metrics[k] <= 1.0 for k in METRIC_KEYS if k != "kappa")


def test_evaluate_full_images_per_dataset(tiny_checkpoint, real_cd, tmp_path, capsys):
    lst = tmp_path / "l.txt"
    lst.write_text("OSCD_RGB/rennes\nSZTAKI_AirChange/Szada_2\n")
    assert main(["evaluate", "--checkpoint", str(tiny_checkpoint), "--data", str(real_cd), "--list", str(lst)]) == 0
    text = capsys.readouterr().out
    assert "OSCD_RGB (1)" in text and "SZTAKI_AirChange (1)" in text and "all (2 pairs)" in text


def test_evaluate_uses_the_checkpoints_threshold_and_split_sources(tiny_checkpoint, real_cd, tmp_path, capsys):
    import torch

    from frd_q.train.checkpoint import decision_threshold

    ckpt = torch.load(tiny_checkpoint, weights_only=False)
    assert decision_threshold(ckpt) == ckpt["metrics"]["threshold"]
    assert decision_threshold({"metrics": {"f1": 0.5}}) == 0.0  # older checkpoints: probability 0.5
    ckpt["metrics"]["threshold"] = 1e9  # nothing is above it: no change anywhere
    high = tmp_path / "high.pt"
    torch.save(ckpt, high)
    sources = sources_file(tmp_path, real_cd, "DSIFN-CD/1_1")
    out = tmp_path / "m.json"
    assert main(["evaluate", "--checkpoint", str(high), "--sources", str(sources), "--json", str(out)]) == 0
    assert "change = logit > 1e+09" in capsys.readouterr().out
    assert json.loads(out.read_text())["recall"] == 0.0
    assert main(["evaluate", "--checkpoint", str(high), "--sources", str(sources), "--json", str(out),
                 "--threshold=-1e9"]) == 0
    assert json.loads(out.read_text())["recall"] == 1.0
    one_error_line(capsys, ["evaluate", "--checkpoint", str(high), "--sources", str(sources), "--data",
                            str(real_cd)], "give one")


def test_evaluate_and_compare_read_the_test_split_when_no_pairs_are_named(tiny_checkpoint, real_cd, tmp_path,
                                                                          monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    one_error_line(capsys, ["evaluate", "--checkpoint", str(tiny_checkpoint)],
                   "configs/splits/test.yaml: not found, and evaluate reads it")
    split = tmp_path / "configs" / "splits"
    split.mkdir(parents=True)
    sources_file(split, real_cd, "DSIFN-CD/1_1", "OSCD_RGB/rennes").rename(split / "test.yaml")
    assert main(["evaluate", "--checkpoint", str(tiny_checkpoint)]) == 0
    assert "all (2 pairs)" in capsys.readouterr().out
    assert main(["compare", "--checkpoint", str(tiny_checkpoint), "--resamples", "20"]) == 0
    assert "2 pairs" in capsys.readouterr().out


def test_predict_writes_mask_of_input_size_and_overlay(tiny_checkpoint, real_cd, tmp_path, capsys):
    d = real_cd / "OSCD_RGB"
    mask, overlay = tmp_path / "mask.png", tmp_path / "over.png"
    assert main(["predict", "--checkpoint", str(tiny_checkpoint), "--a", str(d / "A" / "rennes.png"),
                 "--b", str(d / "B" / "rennes.png"), "--out", str(mask), "--overlay", str(overlay),
                 "--overlap", "32"]) == 0
    m = np.asarray(Image.open(mask))
    src = Image.open(d / "A" / "rennes.png")
    assert m.shape == (src.height, src.width) and set(np.unique(m)) <= {0, 255}
    o = np.asarray(Image.open(overlay))
    b = np.asarray(Image.open(d / "B" / "rennes.png").convert("RGB"))
    assert o.shape == b.shape
    assert np.array_equal(o[m == 0], b[m == 0])
    assert (o[m == 255][:, 0].astype(int) >= b[m == 255][:, 0]).all()
    assert "% changed" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mask.geojson", "mask.json", "mask.png", "over.png"]


def test_info(tiny_checkpoint, capsys):
    assert main(["info", "--checkpoint", str(tiny_checkpoint)]) == 0
    assert "student_w4a4" in capsys.readouterr().out


def test_bad_checkpoints(tiny_checkpoint, real_cd, tmp_path, capsys):
    data = str(real_cd / "DSIFN-CD")
    one_error_line(capsys, ["evaluate", "--checkpoint", str(tmp_path / "no.pt"), "--data", data], "checkpoint not found")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"\x00garbage" * 10)
    one_error_line(capsys, ["evaluate", "--checkpoint", str(junk), "--data", data], "cannot read checkpoint")
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {}}, foreign)
    one_error_line(capsys, ["evaluate", "--checkpoint", str(foreign), "--data", data], "not a frd_q checkpoint")
    ckpt = torch.load(tiny_checkpoint, weights_only=False)
    ckpt["config"]["model"]["widths"] = [8, 32]  # weights of one architecture, config of another
    other = tmp_path / "other.pt"
    torch.save(ckpt, other)
    line = one_error_line(capsys, ["evaluate", "--checkpoint", str(other), "--data", data], "weights do not fit")
    assert str(other) in line


def test_bad_data_and_outputs_left_clean(tiny_checkpoint, real_cd, tmp_path, capsys):
    d = real_cd / "LEVIR-CD"
    small = tmp_path / "small.png"
    Image.open(d / "B" / "test_2_0000_0000.png").resize((128, 128)).save(small)
    out = tmp_path / "out" / "mask.png"
    one_error_line(capsys, ["predict", "--checkpoint", str(tiny_checkpoint), "--a", str(d / "A" / "test_2_0000_0000.png"),
                            "--b", str(small), "--out", str(out)], "differs from")
    assert not out.exists()
    one_error_line(capsys, ["evaluate", "--checkpoint", str(tiny_checkpoint), "--data", str(tmp_path / "empty")],
                   "dataset folder not found")
    one_error_line(capsys, ["predict", "--checkpoint", str(tiny_checkpoint), "--a", str(tmp_path / "nope.png"),
                            "--b", str(small), "--out", str(out)], "nope.png: file not found")
    assert not out.parent.exists() or not any(out.parent.iterdir())


def test_train_config_errors(tmp_path, real_cd, capsys):
    cfg = tiny_config(tmp_path, real_cd)
    cfg["train"]["stepz"] = 3
    path = write_config(tmp_path / "bad.yaml", cfg)
    one_error_line(capsys, ["train", "--config", str(path)], "unknown key 'train.stepz'")
    del cfg["train"]["stepz"]
    cfg["data"]["train"] = [{"root": str(tmp_path / "missing")}]
    path = write_config(tmp_path / "bad2.yaml", cfg)
    one_error_line(capsys, ["train", "--config", str(path)], "missing: dataset folder not found")
    assert not (tmp_path / "runs" / "tiny" / "last.pt").exists()


def test_console_script_exit_status(tmp_path):
    """The installed entry point: a bad config is one stderr line and exit status 2."""
    (tmp_path / "c.yaml").write_text("modle: {}\n")
    proc = subprocess.run([sys.executable, "-m", "frd_q.apps.cli", "train", "--config", str(tmp_path / "c.yaml")],
                          capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        f"frd-q: error: {tmp_path / 'c.yaml'}: unknown key 'modle' (known keys here: name, data, model, loss, distill, train)")


def test_data_command_checks_and_counts(real_cd, tmp_path, capsys):
    assert main(["data", "--data", str(real_cd)]) == 0
    out = capsys.readouterr().out
    assert "SZTAKI_AirChange" in out and "952x640" in out
    all_row = [line for line in out.splitlines() if line.startswith("all")][0].split()
    assert all_row[1] == "18"  # pairs
    # 9 LEVIR + 3 DSIFN + 2 EGY (1 tile each), SZTAKI 2 x 12, OSCD 461x517 -> 2x3 and 563x339 -> 3x2
    assert all_row[2] == str(14 + 24 + 6 + 6)
    bad = tmp_path / "bad"
    (bad / "A").mkdir(parents=True)
    (bad / "A" / "x.png").write_bytes(b"broken")
    one_error_line(capsys, ["data", "--data", str(bad)], "x.png: no matching time-2 image")


def test_export_writes_graph_and_tie_free_checkpoint(tiny_checkpoint, real_cd, tmp_path, capsys):
    out = tmp_path / "s.onnx"
    assert main(["export", "--checkpoint", str(tiny_checkpoint), "--out", str(out), "--tile", "64",
                 "--check", str(real_cd / "LEVIR-CD"), "--check-pairs", "2"]) == 0
    text = capsys.readouterr().out
    assert out.is_file() and out.with_suffix(".pt").is_file()
    assert "tie removal:" in text and "QONNX vs PyTorch on 2 real tiles" in text
    one_error_line(capsys, ["export", "--checkpoint", str(tmp_path / "none.pt"), "--out", str(tmp_path / "n.onnx")],
                   "checkpoint not found")
    assert not (tmp_path / "n.onnx").exists()


def test_ship_writes_weights_card_and_readme(tiny_checkpoint, real_cd, tmp_path, capsys):
    import hashlib

    from frd_q.train.checkpoint import load_checkpoint

    sources = sources_file(tmp_path, real_cd, "DSIFN-CD/1_1", "OSCD_RGB/rennes")
    out = tmp_path / "ckpts"
    assert main(["ship", "--checkpoint", str(tiny_checkpoint), "--name", "tiny", "--out", str(out),
                 "--sources", str(sources)]) == 0
    shipped = load_checkpoint(out / "tiny.pt")
    assert "optimizer" not in shipped and shipped["step"] == load_checkpoint(tiny_checkpoint)["step"]
    card = json.loads((out / "tiny.json").read_text())
    assert card["sha256"] == hashlib.sha256((out / "tiny.pt").read_bytes()).hexdigest()
    assert set(card["test"]) == {"DSIFN-CD", "OSCD_RGB", "dataset mean", "all pixels"} and card["test_pairs"] == 2
    assert card["wall_time_s"] > 0 and card["parameters"] > 0
    readme = (out / "README.md").read_text()
    assert card["sha256"] in readme and "| DSIFN-CD |" in readme
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(out / "tiny.pt"), "--sources", str(sources)]) == 0
    one_error_line(capsys, ["ship", "--checkpoint", str(tmp_path / "nope.pt"), "--name", "x", "--out", str(out)],
                   "nope.pt: checkpoint not found")
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "tiny.json", "tiny.pt"]  # nothing half-written
    again = tmp_path / "again"  # the same weights shipped again under another name: the same bytes and sha256
    assert main(["ship", "--checkpoint", str(tiny_checkpoint), "--name", "tiny_again", "--out", str(again),
                 "--sources", str(sources)]) == 0
    assert json.loads((again / "tiny_again.json").read_text())["sha256"] == card["sha256"]


def test_ship_card_names_the_config_file_that_reproduces_the_run(tiny_checkpoint, real_cd, tmp_path):
    """A run made with `--set name=...` is named by the config file equal to it in all but the name; a file that
    differs in one value, or is no training config at all, is not."""
    import yaml

    from frd_q.apps.ship import ship

    run_config = yaml.safe_load((tiny_checkpoint.parent / "config.yaml").read_text())
    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "a_sweep.yaml").write_text("points: [1, 2]\n")
    other = {**run_config, "train": {**run_config["train"], "lr": run_config["train"]["lr"] * 2}}
    (configs / "b_other_lr.yaml").write_text(yaml.safe_dump({**other, "name": "b_other_lr"}))
    sources = sources_file(tmp_path, real_cd, "DSIFN-CD/1_1")
    card = ship(tiny_checkpoint, "tiny", tmp_path / "out1", sources, configs_dir=configs)
    assert card["config_file"] is None
    assert f"the config of run {run_config['name']} (stored whole in the checkpoint; no file in configs/ matches" in \
        (tmp_path / "out1" / "README.md").read_text()
    (configs / "c_same.yaml").write_text(yaml.safe_dump({**run_config, "name": "c_same"}))
    card = ship(tiny_checkpoint, "tiny", tmp_path / "out2", sources, configs_dir=configs)
    assert card["config_file"] == str(configs / "c_same.yaml")
    assert f"config `{configs / 'c_same.yaml'}` (run {run_config['name']}; stored whole in the checkpoint)" in \
        (tmp_path / "out2" / "README.md").read_text()
    (configs / "c_same.yaml").unlink()  # a short file over a base, equal to the run once merged, is found too
    (configs / "d_over_base.yaml").write_text(f"base: {configs / 'b_other_lr.yaml'}\nname: d_over_base\n"
                                             f"train: {{lr: {run_config['train']['lr']}}}\n")
    card = ship(tiny_checkpoint, "tiny", tmp_path / "out3", sources, configs_dir=configs)
    assert card["config_file"] == str(configs / "d_over_base.yaml")


def test_ship_card_names_the_checkpoint_a_fine_tune_started_from_and_a_weight_average(tiny_checkpoint, real_cd, tmp_path):
    import hashlib

    import torch

    from frd_q.train.checkpoint import load_checkpoint, save_checkpoint

    ckpt = load_checkpoint(tiny_checkpoint)
    ckpt["config"]["train"]["init_from"] = str(tiny_checkpoint)  # as a stage-2 run of train.init_from stores it
    del ckpt["provenance"]  # what its start was, ship then reads from the file (a run from before that record)
    ckpt["config"]["train"]["ema"] = 0.5  # and an averaged run: the stepped weights beside the average
    ckpt["train_model"] = {k: torch.zeros_like(v) for k, v in ckpt["model"].items()}
    tuned = tmp_path / "run" / "best.pt"
    tuned.parent.mkdir()
    save_checkpoint(tuned, {k: v for k, v in ckpt.items() if k not in ("format", "version", "frd_q")})
    sources = sources_file(tmp_path, real_cd, "DSIFN-CD/1_1")
    out = tmp_path / "ckpts"
    assert main(["ship", "--checkpoint", str(tuned), "--name", "tuned", "--out", str(out),
                 "--sources", str(sources)]) == 0
    start = json.loads((out / "tuned.json").read_text())["init_from"]
    assert start == {"checkpoint": str(tiny_checkpoint), "name": ckpt["config"]["name"], "step": ckpt["step"],
                     "sha256": hashlib.sha256(tiny_checkpoint.read_bytes()).hexdigest()}
    assert f"- fine-tuned from `{tiny_checkpoint}` (run {ckpt['config']['name']}, step {ckpt['step']}" in \
        (out / "README.md").read_text()
    shipped = load_checkpoint(out / "tuned.pt")
    assert torch.equal(shipped["model"][next(iter(ckpt["model"]))], next(iter(ckpt["model"].values())))
    assert "train_model" not in shipped and "- weights: the run's exponential moving average (train.ema 0.5)" in \
        (out / "README.md").read_text()


def test_ship_over_the_start_of_a_fine_tune_names_the_start_as_it_was(tiny_checkpoint, real_cd, tmp_path):
    import hashlib
    import shutil

    from frd_q.config import config_from_dict
    from frd_q.train.checkpoint import load_checkpoint, save_checkpoint
    from frd_q.train.loop import train

    out = tmp_path / "ckpts"
    out.mkdir()
    start, card = out / "model.pt", out / "model.json"
    shutil.copy(tiny_checkpoint, start)
    digest = hashlib.sha256(start.read_bytes()).hexdigest()
    soup_card = json.dumps({"sha256": digest, "soup": [{"name": "a", "step": 4}, {"name": "b", "step": 2}]})
    card.write_text(soup_card)  # as frd-q ship writes it for a weight average shipped as model.pt
    raw = {**tiny_config(tmp_path, real_cd, steps=2, val_every=2, init_from=str(start), lr=1e-3), "name": "tuned"}
    train(config_from_dict(raw), progress=False)
    run = tmp_path / "runs" / "tuned" / "best.pt"
    recorded = load_checkpoint(run)["provenance"]["init_from"]
    assert recorded["sha256"] == digest and recorded["soup"] == ["a@4", "b@2"]
    sources = sources_file(tmp_path, real_cd, "DSIFN-CD/1_1")
    ship = ["ship", "--checkpoint", str(run), "--name", "model", "--out", str(out), "--sources", str(sources)]
    # shipped under its start's own name: the card names the start the run had, not the file that replaced it
    assert main(ship) == 0
    assert hashlib.sha256(start.read_bytes()).hexdigest() != digest
    assert json.loads(card.read_text())["init_from"]["sha256"] == digest
    assert f"fine-tuned from `{start}` (the weight average of a@4, b@2, sha256 `{digest[:16]}…`)" in \
        (out / "README.md").read_text()
    # a run from before runs recorded their start: ship reads it before it writes over it
    shutil.copy(tiny_checkpoint, start)
    card.write_text(soup_card)
    ckpt = load_checkpoint(run)
    save_checkpoint(run, {k: v for k, v in ckpt.items() if k not in ("format", "version", "frd_q", "provenance")})
    assert main(ship) == 0
    assert json.loads(card.read_text())["init_from"]["sha256"] == digest
