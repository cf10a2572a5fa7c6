"""The training loop: `train(cfg)` fits the model a Config describes and keeps last.pt / best.pt.

Determinism: weights are seeded by `train.seed`, and the batch of step s (tiles, crops, augmentations) is drawn
from numpy.random.default_rng([seed, s]); a resumed run therefore replays exactly the batches the uninterrupted run
would have seen. Multi-GPU: started by `torchrun --nproc_per_node N -m frd_q.apps.cli train ...` the same command runs
DistributedDataParallel; each process takes every N-th sample of the step's batch, process 0 validates and saves.

Validation runs on full images: the micro metrics at logit > 0, `f1_mean` (F1 averaged over the validation
datasets, each dataset weighing the same) and the logit threshold with the best dataset-mean F1 (`threshold`,
`f1_mean_at_threshold`), scanned over VAL_THRESHOLDS.

With `train.ema` > 0 an exponential moving average of the weights (WeightAverage) is what validation sees and
what the checkpoints' `model` holds; the raw weights the optimizer steps are kept beside it (`train_model`) for
--resume.

Outputs in <train.out_dir>/<name>/: config.yaml, last.pt, best.pt (highest validation `f1_mean`; last.pt when there
is no validation data), train_log.csv, val_log.csv, metrics.json.
"""

from __future__ import annotations

import copy
import csv
import math
import time
import warnings
from pathlib import Path

import numpy as np
import torch
import yaml
from tqdm import tqdm

from frd_q.config import Config, Precision, to_dict
from frd_q.data.augment import augment, rescale
from frd_q.data.dataset import TileDataset, collate, load_pairs, scan_sources
from frd_q.errors import CheckpointError, ConfigError, TrainingError
from frd_q.fsutil import atomic_path, write_json
from frd_q.infer import scan_pairs
from frd_q.metrics import Confusion, dataset_mean
from frd_q.models import build_model, model_name
from frd_q.train import distributed
from frd_q.train.checkpoint import checkpoint_config, load_checkpoint, load_weights, run_provenance, save_checkpoint
from frd_q.train.device import BF16_FLAGS, cpu_bf16_is_emulated, resolve_device
from frd_q.train.losses import ChangeLoss, auto_pos_weight


BIT_WIDTH_KEYS = ("weight_bits", "act_bits")  #: model keys a train.init_from start may change
GROWN_KEY = "context"  #: a model key whose modules a train.init_from start may lack (it had none of them)
VAL_THRESHOLDS = tuple(float(t) for t in np.round(np.arange(-4.0, 4.001, 0.25), 2))  #: logit thresholds scanned


def lr_factor(step: int, cfg: Config) -> float:
    """Linear warm-up to 1, then cosine decay to 0 over the remaining steps."""
    t = cfg.train
    if step < t.warmup_steps:
        return (step + 1) / t.warmup_steps
    progress = (step - t.warmup_steps) / max(1, t.steps - t.warmup_steps)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def crop_origin(label: np.ndarray, crop: int, change_crop: float, rng: np.random.Generator) -> tuple[int, int]:
    """Top-left corner of a training crop: uniform, or (with probability `change_crop`, when the tile has changed
    pixels) placed so that a random changed pixel lies inside it at a random position."""
    tile = label.shape[0]
    y, x = (int(v) for v in rng.integers(0, tile - crop + 1, size=2))
    use_change, pick, dy, dx = rng.random(), rng.random(), *rng.integers(0, crop, size=2)
    if use_change < change_crop:
        ys, xs = np.nonzero(label)
        if len(ys):
            k = int(pick * len(ys))
            y = int(np.clip(ys[k] - dy, 0, tile - crop))
            x = int(np.clip(xs[k] - dx, 0, tile - crop))
    return y, x


def make_batch(tiles: TileDataset, cfg: Config, step: int, rank: int = 0, world: int = 1) -> dict:
    """The training batch of `step` (this process's share of it), a pure function of (seed, step)."""
    rng = np.random.default_rng([cfg.train.seed, step])
    picks = rng.integers(len(tiles), size=cfg.train.batch_size)
    crop = cfg.data.crop_size
    lo, hi = cfg.data.augment.scale
    samples = []
    for j in range(rank, cfg.train.batch_size, world):
        srng = np.random.default_rng([cfg.train.seed, step, j])
        i = int(picks[j])
        window = crop
        if (lo, hi) != (1.0, 1.0):  # drawn only when on, so runs without it keep their batches
            window = min(tiles.tile, round(crop / math.exp(srng.uniform(math.log(lo), math.log(hi)))))
        y, x = crop_origin(tiles.tile_label(i), window, cfg.data.change_crop, srng)
        sample = tiles.window(i, y, x, window)
        if window != crop:
            sample = rescale(sample, crop)
        samples.append(augment(sample, cfg.data.augment, srng))
    return collate(samples)


class CsvLog:
    """Append-only CSV with the header fixed by the first row; on resume rows after `keep_until` are dropped."""

    def __init__(self, path: Path, keep_until: int | None):
        self.path, self.fields = path, None
        if keep_until is None or not path.exists():
            path.unlink(missing_ok=True)
            return
        with path.open() as f:
            rows = [r for r in csv.DictReader(f) if int(r["step"]) <= keep_until]
        path.unlink()
        for r in rows:
            self.write(r)

    def write(self, row: dict) -> None:
        new = self.fields is None
        self.fields = self.fields or list(row)
        with self.path.open("a", newline="") as f:
            w = csv.DictWriter(f, self.fields)
            if new:
                w.writeheader()
            w.writerow(row)


class WeightAverage:
    """An exponential moving average of a model's weights and buffers (BatchNorm statistics included), the decay
    ramped as min(decay, (1 + n) / (10 + n)) over the first updates n so that a run from scratch forgets its
    random start; integer buffers are copied."""

    def __init__(self, model: torch.nn.Module, decay: float, updates: int = 0):
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        self.decay, self.updates = decay, updates

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        current = model.state_dict()
        for k, v in self.model.state_dict().items():
            if v.is_floating_point():
                v.lerp_(current[k].detach(), 1.0 - d)
            else:
                v.copy_(current[k])
        self.updates += 1


def mean_f1_per_threshold(scan: dict) -> tuple[list[float], int]:
    """For a scan_pairs result over VAL_THRESHOLDS: the dataset-mean F1 at each threshold, and the index of the
    best one (the first, where several tie)."""
    means = [dataset_mean({k: c[i] for k, c in scan.items()})["f1"] for i in range(len(VAL_THRESHOLDS))]
    return means, int(np.argmax(means))


def validation_metrics(model, pairs, tile: int, device) -> dict:
    """Micro metrics at logit > 0, their dataset mean `f1_mean`, and the scanned threshold with the best
    dataset-mean F1 (`threshold`, `f1_mean_at_threshold`), from one inference pass over `pairs`."""
    scan = scan_pairs(model, pairs, VAL_THRESHOLDS, tile, device=device)
    at_zero = VAL_THRESHOLDS.index(0.0)
    total = Confusion()
    for counts in scan.values():
        total += counts[at_zero]
    means, best = mean_f1_per_threshold(scan)
    return {**total.metrics(), "f1_mean": means[at_zero], "threshold": VAL_THRESHOLDS[best],
            "f1_mean_at_threshold": means[best]}


def validate_and_save(cfg: Config, run_dir: Path, model, val_pairs, device, step: int, best_f1: float,
                      extra: dict) -> tuple[dict, float]:
    """Validate `model` (the weight average when there is one) on full images, write last.pt (and best.pt when the
    dataset-mean F1 improved, or always without validation data)."""
    metrics = {"step": step}
    if val_pairs:
        metrics.update(validation_metrics(model, val_pairs, cfg.data.tile_size, device))
    improved = not val_pairs or metrics["f1_mean"] > best_f1
    best_f1 = max(best_f1, metrics.get("f1_mean", -1.0))
    payload = {"config": to_dict(cfg), "model_name": model_name(cfg.model), "model": model.state_dict(),
               "step": step, "metrics": metrics, "best_f1": best_f1, **extra}
    save_checkpoint(run_dir / "last.pt", payload)
    if improved:
        save_checkpoint(run_dir / "best.pt", payload)
    write_json(run_dir / "metrics.json", {"last": metrics, "best_f1": best_f1})
    return metrics, best_f1


def load_teacher(cfg: Config, student, device):
    """The frozen float teacher of `cfg.distill.teacher` (eval mode, no gradients) and the Distiller."""
    from frd_q.distill import Distiller
    from frd_q.train.checkpoint import load_model

    teacher, tcfg, _ = load_model(cfg.distill.teacher)
    if getattr(teacher, "fusion", None) is None:
        raise ConfigError(f"{cfg.distill.teacher}: a teacher must be a Siamese model with per-date features")
    if tcfg.data.in_channels != cfg.data.in_channels:
        raise ConfigError(f"{cfg.distill.teacher}: teacher reads {tcfg.data.in_channels} bands, the student "
                          f"{cfg.data.in_channels}")
    teacher.eval().requires_grad_(False).to(device)
    return teacher, Distiller(cfg.distill, student, teacher, cfg.train.seed).to(device)


def load_data(cfg: Config, validate: bool = True) -> tuple[TileDataset, list]:
    """The training tiles, and the validation pairs (full images) when `validate`."""
    channels, threshold = cfg.data.in_channels, cfg.data.label_threshold
    tiles = TileDataset(load_pairs(scan_sources(cfg.data.train), channels, threshold), cfg.data.tile_size)
    val_pairs = load_pairs(scan_sources(cfg.data.val), channels, threshold) if cfg.data.val and validate else []
    return tiles, val_pairs


def open_run_dir(run_dir: Path, cfg: Config) -> None:
    """Create the run folder, clear temporary files a killed process left (SIGKILL, power loss), write the config."""
    run_dir.mkdir(parents=True, exist_ok=True)
    for stale in run_dir.glob(".*.tmp-*"):
        stale.unlink()
    with atomic_path(run_dir / "config.yaml") as tmp:
        tmp.write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False))


def step_loss(net, loss_fn, teacher, distiller, a, b, label, valid, step: int) -> tuple[torch.Tensor, dict]:
    """(total loss, {term: value}) of one batch: the task loss, plus the distillation terms beside a frozen teacher."""
    if distiller is None:
        return loss_fn(net(a, b), label, valid)
    out = net(a, b, return_features=True)
    with torch.no_grad():
        out_t = teacher(a, b, return_features=True)
    loss, terms = loss_fn(out.logits, label, valid)
    d_loss, d_terms = distiller(out, out_t, label, valid, step)
    terms.update(d_terms)
    return loss + d_loss, terms


def init_weights(model, cfg: Config) -> None:
    """A fine-tune's start: the weights of `cfg.train.init_from`, whose stored model config must equal `cfg.model`
    up to the bit widths (optimizer, schedule, distiller and step start afresh; a resumed run reads its own last.pt
    instead). Other weight or activation bit widths are allowed: the quantizers keep the same state at every width
    (weight scales come from the weights, activation scales are learned clipping values), so a W8A8 run is a
    quantization-aware start for a W2A2 one. A teacher without context blocks may start one with them
    (`model.context`; the blocks start as the identity). The stored config is read with today's defaults, so a
    checkpoint written before a model key existed still matches."""
    path = cfg.train.init_from
    ckpt = load_checkpoint(path)
    stored, wanted = to_dict(checkpoint_config(ckpt, path).model), to_dict(cfg.model)
    grows = not stored.get(GROWN_KEY)  # a start without context blocks: the fine-tune may add them
    free = set(BIT_WIDTH_KEYS) | ({GROWN_KEY} if grows else set())
    diff = sorted(k for k in (set(stored) | set(wanted)) - free if stored.get(k) != wanted.get(k))
    if diff:
        raise CheckpointError(f"{path}: train.init_from needs the same model config (differs in model."
                              f"{', model.'.join(diff)})")
    load_weights(model, ckpt, path, new_prefix=f"{GROWN_KEY}." if grows else None)


def param_groups(params: list[torch.nn.Parameter], weight_decay: float, decay_1d: bool) -> list[dict]:
    """AdamW groups: matrices and kernels decay; 1-D and scalar parameters (norm weights, biases, learned quantizer
    scales) decay only when `decay_1d`. Both groups always exist, so optimizer states stay loadable."""
    decayed = [p for p in params if decay_1d or p.ndim > 1]
    kept = [p for p in params if not (decay_1d or p.ndim > 1)]
    return [{"params": decayed, "weight_decay": weight_decay}, {"params": kept, "weight_decay": 0.0}]


def optimizer_groups(model, trained: list[torch.nn.Parameter], cfg: Config) -> list[dict]:
    """param_groups of the trained parameters; with `train.context_lr` != 1 the context blocks' own two groups
    follow, at that multiple of the rate (blocks a fine-tune adds start as the identity and learn slowly at the
    rate that suits weights already trained)."""
    t = cfg.train
    if t.context_lr == 1.0:
        return param_groups(trained, t.weight_decay, t.decay_1d)
    fast = [p for n, p in model.named_parameters() if n.startswith(f"{GROWN_KEY}.") and p.requires_grad]
    ids = {id(p) for p in fast}
    groups = param_groups([p for p in trained if id(p) not in ids], t.weight_decay, t.decay_1d)
    return groups + [{**g, "lr": t.lr * t.context_lr} for g in param_groups(fast, t.weight_decay, t.decay_1d)]


def restrict_training(model, prefixes: list[str], where: str) -> list[torch.nn.Module]:
    """`train.trainable`: only parameters whose names start with one of `prefixes` keep requires_grad. Returns the
    normalisation layers left with nothing to train, which the loop keeps in eval mode so that their running
    statistics stay those of the start, as frozen weights do. A prefix that names no parameter is an error."""
    names = [n for n, _ in model.named_parameters()]
    unused = [pre for pre in prefixes if not any(n.startswith(pre) for n in names)]
    if unused:
        raise ConfigError(f"{where}: train.trainable {unused} names no parameter of the model (names start with "
                          f"{sorted({n.split('.')[0] for n in names})})")
    for n, p in model.named_parameters():
        p.requires_grad_(any(n.startswith(pre) for pre in prefixes))
    return [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
            and not any(p.requires_grad for p in m.parameters())]


def train(cfg: Config, resume: bool = False, overwrite: bool = False, stop_after: int | None = None,
          progress: bool = True) -> dict:
    """Train per `cfg`; return the final metrics dict. `stop_after` ends the run early at that step (resumable)."""
    ctx = distributed.setup(cfg.train.device)
    device = ctx.device if ctx.world > 1 else resolve_device(cfg.train.device)
    run_dir = Path(cfg.train.out_dir) / cfg.name
    last = run_dir / "last.pt"
    if ctx.rank == 0 and not resume and last.exists() and not overwrite:
        raise ConfigError(f"{last}: a run named '{cfg.name}' exists; pass --resume to continue it or --overwrite")

    if cfg.train.precision == Precision.BF16 and device.type == "cpu" and cpu_bf16_is_emulated():
        warnings.warn(f"{cfg.name}: train.precision is bf16 but this CPU has no native bfloat16 (no "
                      f"{' or '.join(BF16_FLAGS)} in /proc/cpuinfo): autocast is emulated (8 to 9 times slower than "
                      f"fp32 on one such CPU, bench/train_step.py); set train.precision=fp32", stacklevel=2)
    tiles, val_pairs = load_data(cfg, validate=ctx.rank == 0)
    pos_weight = cfg.loss.pos_weight if cfg.loss.pos_weight is not None else auto_pos_weight(tiles.change_fraction())

    torch.manual_seed(cfg.train.seed)
    model = build_model(cfg.model, cfg.data.in_channels)
    ckpt = load_checkpoint(last) if resume else None
    if ckpt is not None:
        if to_dict(checkpoint_config(ckpt, last)) != to_dict(cfg):
            raise CheckpointError(f"{last}: was written by a different config; resume needs the same config")
        # before the optimizer exists: Brevitas replaces its scale Parameters on load_state_dict. An averaged run
        # (train.ema) stored the average as `model` and the weights the optimizer steps as `train_model`
        stepped = {**ckpt, "model": ckpt["train_model"]} if "train_model" in ckpt else ckpt
        load_weights(model, stepped, last)
    elif cfg.train.init_from:
        init_weights(model, cfg)
    model.to(device)
    teacher, distiller = load_teacher(cfg, model, device) if cfg.distill.active else (None, None)
    provenance = ckpt.get("provenance") if ckpt is not None else run_provenance(cfg)
    if distiller is not None and ckpt is not None:
        distiller.load_state_dict(ckpt["distiller"])
    frozen_norms = restrict_training(model, cfg.train.trainable, cfg.name) if cfg.train.trainable else []
    trained = [p for p in model.parameters() if p.requires_grad]
    trained += list(distiller.parameters()) if distiller is not None else []
    if cfg.train.channels_last:
        model.to(memory_format=torch.channels_last)
    average = None
    if cfg.train.ema > 0:
        average = WeightAverage(model, cfg.train.ema, ckpt["step"] if ckpt is not None else 0)
        if ckpt is not None:
            load_weights(average.model, ckpt, last)
    opt = torch.optim.AdamW(optimizer_groups(model, trained, cfg), lr=cfg.train.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, cfg))
    loss_fn = ChangeLoss(cfg.loss, pos_weight)
    start, best_f1, metrics = 0, -1.0, {}
    if ckpt is not None:
        opt.load_state_dict(ckpt["optimizer"])
        sched.load_state_dict(ckpt["scheduler"])
        start, best_f1, metrics = ckpt["step"], ckpt["best_f1"], ckpt["metrics"]
    net = ctx.wrap(model)

    if ctx.rank == 0:  # the run folder appears only once data, model and checkpoint have loaded
        open_run_dir(run_dir, cfg)
    keep = start if resume else None
    train_log = CsvLog(run_dir / "train_log.csv", keep) if ctx.rank == 0 else None
    val_log = CsvLog(run_dir / "val_log.csv", keep) if ctx.rank == 0 else None
    end = cfg.train.steps if stop_after is None else min(cfg.train.steps, stop_after)
    bar = tqdm(range(start, end), initial=start, total=cfg.train.steps, disable=not progress or ctx.rank != 0,
               desc=f"train {cfg.name}", dynamic_ncols=True)
    t0 = time.time()
    for step in bar:
        model.train()
        for norm in frozen_norms:
            norm.eval()
        batch = make_batch(tiles, cfg, step, ctx.rank, ctx.world)
        a, b = batch["a"].to(device), batch["b"].to(device)
        if cfg.train.channels_last:
            a, b = a.contiguous(memory_format=torch.channels_last), b.contiguous(memory_format=torch.channels_last)
        label, valid = batch["label"].to(device), batch["valid"].to(device)
        with torch.autocast(device.type, torch.bfloat16, enabled=cfg.train.precision == Precision.BF16):
            loss, terms = step_loss(net, loss_fn, teacher, distiller, a, b, label, valid, step)
        if not torch.isfinite(loss):
            raise TrainingError(f"{run_dir}: loss became {loss.item()} at step {step + 1}; last.pt holds the "
                                f"last good state; lower train.lr")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if average is not None:
            average.update(model)
        done = step + 1
        bar.set_postfix(loss=f"{loss.item():.4f}", lr=f"{sched.get_last_lr()[0]:.2e}",
                        **{k.removeprefix("distill_"): f"{v.item():.3f}" for k, v in terms.items()
                           if k.startswith("distill_")})
        if train_log and (done % cfg.train.log_every == 0 or done == end):
            train_log.write({"step": done, "lr": sched.get_last_lr()[0], "loss": loss.item(),
                             **{k: v.item() for k, v in terms.items()}, "elapsed_s": round(time.time() - t0, 2)})
        if done % cfg.train.val_every == 0 or done == end:
            if ctx.rank == 0:
                extra = {"pos_weight": pos_weight, "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                         "provenance": provenance}
                if distiller is not None:
                    extra["distiller"] = distiller.state_dict()
                shown = model
                if average is not None:
                    extra["train_model"], shown = model.state_dict(), average.model
                metrics, best_f1 = validate_and_save(cfg, run_dir, shown, val_pairs, device, done, best_f1, extra)
                if val_pairs:
                    val_log.write({"step": done, **metrics})
                    bar.write(f"step {done}: val f1={metrics['f1']:.4f} dataset-mean f1={metrics['f1_mean']:.4f} "
                              f"(best {best_f1:.4f}; {metrics['f1_mean_at_threshold']:.4f} at logit > "
                              f"{metrics['threshold']})")
            ctx.barrier()
    bar.close()
    ctx.close()
    return metrics
