"""Training on real pairs: the loss falls, checkpoints resume exactly, and runs refuse to clobber each other."""

import csv
import warnings

import numpy as np

import pytest
import torch

from frd_q.config import config_from_dict
from frd_q.errors import CheckpointError, ConfigError
from frd_q.train.checkpoint import load_checkpoint
from frd_q.train.loop import lr_factor, make_batch, train
from frd_q.data.dataset import TileDataset, load_pairs, scan_sources

from conftest import tiny_config


def read_log(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def fixed_batch_loss(model, tiles, cfg):
    """Loss of `model` (eval mode) on one fixed batch that training never draws (step 10**6)."""
    from frd_q.train.losses import ChangeLoss

    batch = make_batch(tiles, cfg, 10**6)
    with torch.no_grad():
        logits = model.eval()(batch["a"], batch["b"])
    return ChangeLoss(cfg.loss, 3.0)(logits, batch["label"], batch["valid"])[0].item()


def test_smoke_run_lowers_the_loss(tmp_path, real_cd):
    from frd_q.models import build_model
    from frd_q.train.checkpoint import load_model

    raw = tiny_config(tmp_path, real_cd, steps=40, val_every=40, lr=0.01, warmup_steps=5, batch_size=8)
    raw["data"]["augment"] = {"flip": False, "rot90": False, "swap": 0.0, "jitter": 0.0}  # tested on their own
    cfg = config_from_dict(raw)
    tiles = TileDataset(load_pairs(scan_sources(cfg.data.train)), cfg.data.tile_size)
    torch.manual_seed(cfg.train.seed)
    before = fixed_batch_loss(build_model(cfg.model), tiles, cfg)  # the same initial weights train() starts from
    metrics = train(cfg, progress=False)
    after = fixed_batch_loss(load_model(tmp_path / "runs" / "tiny" / "last.pt")[0], tiles, cfg)
    assert after < 0.8 * before, (before, after)
    rows = read_log(tmp_path / "runs" / "tiny" / "train_log.csv")
    assert [int(r["step"]) for r in rows] == list(range(1, 41))
    assert 0.0 <= metrics["f1"] <= 1.0 and metrics["step"] == 40
    ckpt = load_checkpoint(tmp_path / "runs" / "tiny" / "best.pt")
    assert ckpt["model_name"] == "student_w4a4" and ckpt["metrics"]["f1_mean"] == ckpt["best_f1"]


def test_resume_equals_uninterrupted_run(tmp_path, real_cd):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    whole = config_from_dict(tiny_config(tmp_path / "a", real_cd, steps=4, val_every=2))
    train(whole, progress=False)
    parted = config_from_dict(tiny_config(tmp_path / "b", real_cd, steps=4, val_every=2))
    train(parted, stop_after=2, progress=False)
    assert load_checkpoint(tmp_path / "b" / "runs" / "tiny" / "last.pt")["step"] == 2
    train(parted, resume=True, progress=False)
    sa = load_checkpoint(tmp_path / "a" / "runs" / "tiny" / "last.pt")
    sb = load_checkpoint(tmp_path / "b" / "runs" / "tiny" / "last.pt")
    assert sb["step"] == 4
    for k, v in sa["model"].items():
        assert torch.equal(v, sb["model"][k]), k
    assert sa["metrics"] == sb["metrics"]
    la = read_log(tmp_path / "a" / "runs" / "tiny" / "train_log.csv")
    lb = read_log(tmp_path / "b" / "runs" / "tiny" / "train_log.csv")
    assert [r["loss"] for r in la] == [r["loss"] for r in lb]


def test_existing_run_needs_resume_or_overwrite_and_same_config(tmp_path, real_cd):
    raw = tiny_config(tmp_path, real_cd, steps=2, val_every=2)
    train(config_from_dict(raw), progress=False)
    with pytest.raises(ConfigError, match="pass --resume to continue it or --overwrite"):
        train(config_from_dict(raw), progress=False)
    raw["model"]["widths"] = [8, 8]
    with pytest.raises(CheckpointError, match="different config"):
        train(config_from_dict(raw), resume=True, progress=False)
    train(config_from_dict(raw), overwrite=True, progress=False)


def test_init_from_starts_from_the_checkpoint_weights_with_a_fresh_schedule(tmp_path, real_cd):
    from frd_q.models import build_model

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    train(config_from_dict(tiny_config(tmp_path / "a", real_cd, steps=2, val_every=2)), progress=False)
    start = tmp_path / "a" / "runs" / "tiny" / "last.pt"
    # lr 0: the learned parameters stay where the fine-tune started (BatchNorm running statistics still move)
    raw = tiny_config(tmp_path / "b", real_cd, steps=2, val_every=2, init_from=str(start), lr=0.0)
    ft = config_from_dict(raw)
    train(ft, progress=False)
    learned = [k for k, _ in build_model(ft.model).named_parameters()]
    before, tuned = load_checkpoint(start), load_checkpoint(tmp_path / "b" / "runs" / "tiny" / "last.pt")
    assert all(torch.equal(before["model"][k], tuned["model"][k]) for k in learned)
    torch.manual_seed(ft.train.seed)
    seeded = build_model(ft.model).state_dict()  # what the run would have started from without init_from
    assert not all(torch.equal(seeded[k], tuned["model"][k]) for k in learned)
    assert tuned["step"] == 2 and tuned["scheduler"]["last_epoch"] == 2  # its own schedule, counted from 0
    # a checkpoint written before a model key existed (here decoder_blocks, added later) is read with its default
    old = load_checkpoint(start)
    del old["config"]["model"]["decoder_blocks"]
    torch.save(old, tmp_path / "old.pt")
    train(config_from_dict({**raw, "train": {**raw["train"], "init_from": str(tmp_path / "old.pt")}}),
          overwrite=True, progress=False)
    # other bit widths start from the same weights: a quantization-aware start (the sweep's pretrain_steps)
    low = {**raw, "model": {**raw["model"], "weight_bits": 2, "act_bits": 2}}
    train(config_from_dict(low), overwrite=True, progress=False)
    lowered = load_checkpoint(tmp_path / "b" / "runs" / "tiny" / "last.pt")
    assert lowered["config"]["model"]["weight_bits"] == 2
    assert all(torch.equal(before["model"][k], lowered["model"][k]) for k in learned)
    raw["model"]["widths"] = [8, 8]
    with pytest.raises(CheckpointError, match=r"last.pt: train.init_from needs the same model config .*widths"):
        train(config_from_dict(raw), overwrite=True, progress=False)
    raw["model"]["widths"] = [8, 16]
    raw["train"]["init_from"] = str(tmp_path / "missing.pt")
    with pytest.raises(CheckpointError, match="missing.pt: checkpoint not found"):
        train(config_from_dict(raw), overwrite=True, progress=False)


def test_teacher_trains_through_the_same_loop(tmp_path, real_cd):
    cfg = config_from_dict(tiny_config(tmp_path, real_cd, arch="teacher", steps=2, val_every=2))
    train(cfg, progress=False)
    start = tmp_path / "runs" / "tiny" / "best.pt"
    assert load_checkpoint(start)["model_name"] == "teacher_8"
    # a fine-tune may add context blocks (model.context) to a teacher that had none: the rest starts from it
    raw = tiny_config(tmp_path, real_cd, arch="teacher", steps=2, val_every=2, init_from=str(start), lr=0.0)
    raw["name"], raw["model"]["context"] = "tiny_ctx", [1, 2]
    train(config_from_dict(raw), progress=False)
    before, grown = load_checkpoint(start)["model"], load_checkpoint(tmp_path / "runs" / "tiny_ctx" / "last.pt")
    assert {k for k in grown["model"] if k not in before} == {k for k in grown["model"] if k.startswith("context.")}
    assert all(torch.equal(v, grown["model"][k]) for k, v in before.items() if not k.endswith("running_mean")
               and not k.endswith("running_var") and not k.endswith("num_batches_tracked"))
    # the blocks a fine-tune adds may learn at a multiple of the rate (train.context_lr)
    raw["name"], raw["train"] = "tiny_ctx_fast", {**raw["train"], "lr": 1e-3, "context_lr": 10.0}
    train(config_from_dict(raw), progress=False)
    groups = load_checkpoint(tmp_path / "runs" / "tiny_ctx_fast" / "last.pt")["optimizer"]["param_groups"]
    assert [g["initial_lr"] for g in groups] == pytest.approx([1e-3, 1e-3, 1e-2, 1e-2])
    n_context = sum(1 for k in grown["model"] if k.startswith("context.") and "running" not in k
                    and "num_batches" not in k)
    assert sum(len(g["params"]) for g in groups[2:]) == n_context
    # but not other dilations than the start's, nor none when it has them
    for context in ([2, 2], []):
        raw = {**raw, "name": "tiny_ctx2", "model": {**raw["model"], "context": context}}
        raw["train"] = {**raw["train"], "context_lr": 1.0,
                        "init_from": str(tmp_path / "runs" / "tiny_ctx" / "last.pt")}
        with pytest.raises(CheckpointError, match=r"tiny_ctx/last.pt: train.init_from needs the same model config"
                                                  r" \(differs in model.context\)"):
            train(config_from_dict(raw), overwrite=True, progress=False)


def test_trainable_prefixes_train_only_those_parameters_and_freeze_the_rest_with_their_statistics(tmp_path, real_cd):
    cfg = config_from_dict(tiny_config(tmp_path, real_cd, arch="teacher", steps=2, val_every=2))
    train(cfg, progress=False)
    start = tmp_path / "runs" / "tiny" / "best.pt"
    # the context blocks a fine-tune adds, alone: everything else, BatchNorm statistics included, stays the start's
    raw = tiny_config(tmp_path, real_cd, arch="teacher", steps=3, val_every=3, init_from=str(start), lr=1e-2,
                      trainable=["context."])
    raw["name"], raw["model"]["context"] = "tiny_ctx_only", [1, 2]
    train(config_from_dict(raw), progress=False)
    before = load_checkpoint(start)["model"]
    after = load_checkpoint(tmp_path / "runs" / "tiny_ctx_only" / "last.pt")
    assert all(torch.equal(v, after["model"][k]) for k, v in before.items()), "a frozen tensor moved"
    moved = [k for k, v in after["model"].items() if k.startswith("context.") and v.is_floating_point()
             and not torch.equal(v, torch.zeros_like(v)) and k.endswith(".weight")]
    assert moved, "the context blocks did not train"
    groups = after["optimizer"]["param_groups"]
    n_context = sum(1 for k in after["model"] if k.startswith("context.") and "running" not in k
                    and "num_batches" not in k)
    assert sum(len(g["params"]) for g in groups) == n_context
    # a prefix that names nothing is an error that lists what there is
    raw["name"], raw["train"] = "tiny_bad", {**raw["train"], "trainable": ["contxt."]}
    with pytest.raises(ConfigError, match=r"tiny_bad: train.trainable \['contxt.'\] names no parameter"):
        train(config_from_dict(raw), progress=False)
    assert not (tmp_path / "runs" / "tiny_bad").exists()


def test_batches_are_a_function_of_seed_and_step(tmp_path, real_cd):
    cfg = config_from_dict(tiny_config(tmp_path, real_cd))
    tiles = TileDataset(load_pairs(scan_sources(cfg.data.train)), cfg.data.tile_size)
    x, y, z = make_batch(tiles, cfg, 3), make_batch(tiles, cfg, 3), make_batch(tiles, cfg, 4)
    assert torch.equal(x["a"], y["a"]) and torch.equal(x["label"], y["label"])
    assert not torch.equal(x["a"], z["a"])
    assert x["a"].shape == (4, 3, 64, 64)
    halves = [make_batch(tiles, cfg, 3, rank=r, world=2) for r in (0, 1)]
    assert torch.equal(halves[0]["a"], x["a"][0::2]) and torch.equal(halves[1]["a"], x["a"][1::2])


def test_scale_augmentation_resizes_windows_to_the_crop_and_keeps_labels_binary(tmp_path, real_cd):
    raw = tiny_config(tmp_path, real_cd)
    plain = config_from_dict(raw)
    raw["data"]["augment"] = {"scale": [0.5, 2.0]}
    cfg = config_from_dict(raw)
    tiles = TileDataset(load_pairs(scan_sources(cfg.data.train)), cfg.data.tile_size)
    x, y, z = make_batch(tiles, cfg, 3), make_batch(tiles, cfg, 3), make_batch(tiles, plain, 3)
    assert x["a"].shape == (4, 3, 64, 64) and x["label"].shape == (4, 64, 64)
    assert torch.equal(x["a"], y["a"]) and torch.equal(x["label"], y["label"])  # still a function of (seed, step)
    assert not torch.equal(x["a"], z["a"])
    assert set(torch.unique(x["label"]).tolist()) <= {0.0, 1.0}
    assert float(x["label"][~x["valid"]].abs().sum()) == 0  # padding stays unlabelled
    raw["data"]["augment"] = {"scale": [0.1, 1.0]}  # a 64 crop would need a 640-pixel window of a 256 tile
    with pytest.raises(ConfigError, match="data.augment.scale"):
        config_from_dict(raw)


def test_lr_schedule_warms_up_then_decays(tmp_path, real_cd):
    cfg = config_from_dict(tiny_config(tmp_path, real_cd, steps=100, warmup_steps=10))
    f = [lr_factor(s, cfg) for s in range(100)]
    assert f[0] == pytest.approx(0.1) and f[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(f[10:], f[11:])) and f[99] < 0.01


def test_change_crops_contain_changed_pixels():
    from frd_q.train.loop import crop_origin

    label = np.zeros((256, 256), np.float32)
    label[200:204, 10:14] = 1
    for seed in range(20):
        y, x = crop_origin(label, 64, 1.0, np.random.default_rng(seed))
        assert 0 <= y <= 192 and 0 <= x <= 192
        assert label[y : y + 64, x : x + 64].sum() > 0
    hits = sum(label[y : y + 64, x : x + 64].sum() > 0
               for y, x in (crop_origin(label, 64, 0.0, np.random.default_rng(s)) for s in range(50)))
    assert hits < 25  # uniform crops rarely find a 4x4 change in a 256x256 tile


def test_param_groups_keep_1d_parameters_out_of_decay_on_request():
    from frd_q.train.loop import param_groups

    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    params = list(net.parameters())
    decayed, kept = param_groups(params, 0.1, decay_1d=False)
    assert [p.shape for p in decayed["params"]] == [torch.Size([4, 3, 3, 3])]
    assert len(kept["params"]) == 3 and kept["weight_decay"] == 0.0 and decayed["weight_decay"] == 0.1
    decayed, kept = param_groups(params, 0.1, decay_1d=True)
    assert len(decayed["params"]) == 4 and kept["params"] == []


def test_validation_scans_thresholds_in_one_pass(tmp_path, real_cd, tiny_teacher_checkpoint):
    from frd_q.infer import evaluate_pairs
    from frd_q.metrics import dataset_mean
    from frd_q.train.checkpoint import load_model
    from frd_q.train.loop import VAL_THRESHOLDS, validation_metrics

    model = load_model(tiny_teacher_checkpoint)[0]
    lst = tmp_path / "l.txt"
    lst.write_text("LEVIR-CD/val_27_0000_0256\nDSIFN-CD/1_1\n")
    pairs = load_pairs(scan_root_list(real_cd, lst))
    m = validation_metrics(model, pairs, 256, "cpu")
    total, per_dataset = evaluate_pairs(model, pairs, 256)
    assert m["f1"] == total.metrics()["f1"] and m["f1_mean"] == dataset_mean(per_dataset)["f1"]
    assert m["threshold"] in VAL_THRESHOLDS and m["f1_mean_at_threshold"] >= m["f1_mean"]
    _, at_t = evaluate_pairs(model, pairs, 256, threshold=m["threshold"])
    assert dataset_mean(at_t)["f1"] == m["f1_mean_at_threshold"]


def scan_root_list(root, lst):
    from frd_q.config import DataSource
    from frd_q.data.dataset import scan_root

    return scan_root(DataSource(root=str(root), list=str(lst)))


@pytest.mark.filterwarnings("ignore:.*no native bfloat16")  # expected on such CPUs; tested below
def test_bf16_channels_last_teacher_trains_and_validates_in_float(tmp_path, real_cd):
    raw = tiny_config(tmp_path, real_cd, arch="teacher", steps=2, val_every=2, precision="bf16",
                      channels_last=True, decay_1d=False)
    metrics = train(config_from_dict(raw), progress=False)
    ckpt = load_checkpoint(tmp_path / "runs" / "tiny" / "last.pt")
    assert all(v.dtype == torch.float32 for v in ckpt["model"].values() if v.is_floating_point())
    assert 0.0 <= metrics["f1_mean"] <= 1.0 and ckpt["config"]["train"]["precision"] == "bf16"


def test_weight_average_follows_the_ramped_decay():
    from frd_q.train.loop import WeightAverage

    net = torch.nn.Sequential(torch.nn.Linear(2, 1), torch.nn.BatchNorm1d(1))
    with torch.no_grad():
        net[0].weight.fill_(1.0)
    avg = WeightAverage(net, decay=0.9)
    expected = 1.0
    for n, target in enumerate([3.0, 3.0, 5.0, -1.0] + [2.0] * 30):
        with torch.no_grad():
            net[0].weight.fill_(target)
        net[1].num_batches_tracked.fill_(n + 7)
        avg.update(net)
        d = min(0.9, (1 + n) / (10 + n))
        expected = d * expected + (1 - d) * target
    assert torch.allclose(avg.model[0].weight, torch.full((1, 2), expected))
    assert abs(expected - 2.0) < 0.2 and int(avg.model[1].num_batches_tracked) == 40  # integers copied
    assert not avg.model[0].weight.requires_grad and avg.updates == 34


@pytest.mark.parametrize("arch", ["teacher", "student"])
def test_ema_run_validates_and_keeps_the_average_and_resumes_exactly(tmp_path, real_cd, arch):
    from frd_q.train.checkpoint import load_model
    from frd_q.train.loop import validation_metrics

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    whole = config_from_dict(tiny_config(tmp_path / "a", real_cd, arch=arch, steps=4, val_every=2, ema=0.5))
    metrics = train(whole, progress=False)
    ckpt = load_checkpoint(tmp_path / "a" / "runs" / "tiny" / "last.pt")
    differs = [k for k, v in ckpt["model"].items() if v.is_floating_point() and not torch.equal(v, ckpt["train_model"][k])]
    assert differs  # the average is not the stepped weights
    model, cfg, _ = load_model(tmp_path / "a" / "runs" / "tiny" / "last.pt")  # loads the average
    val = load_pairs(scan_sources(cfg.data.val))
    assert validation_metrics(model, val, 256, "cpu")["f1_mean"] == metrics["f1_mean"]  # what was validated
    parted = config_from_dict(tiny_config(tmp_path / "b", real_cd, arch=arch, steps=4, val_every=2, ema=0.5))
    train(parted, stop_after=2, progress=False)
    train(parted, resume=True, progress=False)
    resumed = load_checkpoint(tmp_path / "b" / "runs" / "tiny" / "last.pt")
    for part in ("model", "train_model"):
        for k, v in ckpt[part].items():
            assert torch.equal(v, resumed[part][k]), (part, k)
    with pytest.raises(ConfigError, match=r"train.ema=1.0"):
        config_from_dict(tiny_config(tmp_path, real_cd, ema=1.0)).validate("x.yaml")


def test_bf16_on_a_cpu_without_native_bfloat16_warns(tmp_path, real_cd, monkeypatch):
    from frd_q.train import device, loop

    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 fma\n\nprocessor\t: 1\nflags\t\t: fpu sse2 avx2 fma\n")
    assert device.cpu_bf16_is_emulated(info)
    info.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16 amx_tile\n")
    assert not device.cpu_bf16_is_emulated(info)
    assert not device.cpu_bf16_is_emulated(tmp_path / "missing")  # another OS: nothing claimed
    monkeypatch.setattr(loop, "cpu_bf16_is_emulated", lambda: True)
    cfg = config_from_dict(tiny_config(tmp_path, real_cd, steps=1, val_every=1, precision="bf16"))
    with pytest.warns(UserWarning, match=r"tiny: train.precision is bf16 but this CPU has no native bfloat16"):
        train(cfg, progress=False)
    cfg = config_from_dict(tiny_config(tmp_path, real_cd, steps=1, val_every=1))  # fp32: no warning
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train(cfg, overwrite=True, progress=False)
    assert not [w for w in caught if "native bfloat16" in str(w.message)]
