"""`frd-q ablate`: the same student trained under each distillation variant and several seeds, evaluated and
tabulated (mean and spread over seeds), so a one-point difference can be told from noise.

    frd-q ablate --config configs/ablation.yaml
    frd-q ablate --config configs/ablation.yaml --shard 0/2 & frd-q ablate --config configs/ablation.yaml --shard 1/2

The ablation config names a base student config, a teacher checkpoint (trained first from `teacher_config` if
it does not exist), the steps and seeds, the evaluation data and the variants (each a set of distill weights).
Every run is `<out_dir>/<variant>_s<seed>/`; a run whose last.pt has reached `steps` is reused, so an interrupted
ablation resumes where it stopped. `--shard i/n` trains only every n-th run starting at i (n processes share the
machine) and tabulates once every run of every shard has finished. Each run validates once, at its last step, on
the base config's val split, which chooses its decision threshold. It is then evaluated on the `eval` data (the
test split) at that threshold, with its last checkpoint: a best checkpoint would add a second, per-variant
selection. Evaluations are kept in `<run>/eval.json`. Writes `<out_dir>/ablation.json` and `ablation.md`.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from frd_q.config import DataSource, from_dict, load_config, read_yaml_mapping
from frd_q.distill.distiller import TERMS
from frd_q.errors import ConfigError
from frd_q.fsutil import atomic_path, write_json


@dataclass
class AblationConfig:
    base: str  #: student config every variant starts from
    teacher: str  #: teacher checkpoint
    eval: list[DataSource]  #: pairs every run is evaluated on (full images): the test split's sources
    variants: dict[str, dict[str, float]]  #: name -> distill weights, e.g. {bfdd: 1.0, ccrd: 0.5}; {} = none
    teacher_config: str | None = None  #: config to train the teacher from when `teacher` does not exist
    teacher_steps: int | None = None  #: steps for that teacher run (None: the config's)
    steps: int = 100  #: training steps of every student run
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])  #: one run per seed and variant
    out_dir: str = "runs/ablation"  #: where runs and tables go
    set: list[str] = field(default_factory=list)  #: extra key=value overrides for every student run


def load_ablation(path: str | Path) -> AblationConfig:
    path = Path(path)
    cfg = from_dict(AblationConfig, read_yaml_mapping(path, "ablation config"), str(path))
    for name, weights in cfg.variants.items():
        unknown = set(weights) - set(TERMS)
        if unknown:
            raise ConfigError(f"{path}: variant {name}: unknown loss {sorted(unknown)[0]} (known: {', '.join(TERMS)})")
    if len(cfg.seeds) < 1 or cfg.steps < 1:
        raise ConfigError(f"{path}: needs at least one seed and one step")
    return cfg


def _finished(run_dir: Path, steps: int) -> bool:
    from frd_q.train.checkpoint import load_checkpoint

    last = run_dir / "last.pt"
    return last.is_file() and load_checkpoint(last)["step"] >= steps


def ensure_teacher(path: str, config: str | None, steps: int | None, progress: bool) -> Path:
    """The teacher checkpoint `path`, trained first from `config` (for `steps` steps) when it does not exist."""
    from frd_q.train.loop import train

    teacher = Path(path)
    if teacher.is_file():
        return teacher
    if config is None:
        raise ConfigError(f"{teacher}: teacher checkpoint not found and no teacher_config to train it")
    overrides = [f"name={teacher.parent.name}", f"train.out_dir={teacher.parent.parent}"]
    if steps:
        overrides.append(f"train.steps={steps}")
    tcfg = load_config(config, overrides)
    train(tcfg, resume=(teacher.parent / "last.pt").is_file(), progress=progress)
    if not teacher.is_file():
        raise ConfigError(f"{teacher}: training {config} did not write it (name the teacher "
                          "<dir>/<run>/best.pt or last.pt)")
    return teacher


def parse_shard(text: str) -> tuple[int, int]:
    """'i/n' -> (i, n) with 0 <= i < n."""
    try:
        i, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise ConfigError(f"--shard {text!r}: expected i/n, e.g. 0/2") from None
    if not 0 <= i < n:
        raise ConfigError(f"--shard {text!r}: needs 0 <= i < n")
    return i, n


def run_ablation(cfg: AblationConfig, progress: bool = True, log=print, shard: tuple[int, int] = (0, 1)) -> dict | None:
    """Train this shard's runs, then (once every run has finished) evaluate and tabulate; None while runs of
    other shards are still missing."""
    from frd_q.train.loop import train

    teacher = ensure_teacher(cfg.teacher, cfg.teacher_config, cfg.teacher_steps, progress)
    out = Path(cfg.out_dir)
    runs = [(variant, weights, seed) for variant, weights in cfg.variants.items() for seed in cfg.seeds]
    for k, (variant, weights, seed) in enumerate(runs):
        name = f"{variant}_s{seed}"
        if k % shard[1] != shard[0] or _finished(out / name, cfg.steps):
            continue
        overrides = [f"name={name}", f"train.out_dir={out}", f"train.seed={seed}", f"train.steps={cfg.steps}",
                     f"train.val_every={cfg.steps}", *cfg.set]
        overrides += [f"distill.{k}={v}" for k, v in weights.items()]
        if weights:
            overrides.append(f"distill.teacher={teacher}")
        log(f"ablate: training {name}")
        train(load_config(cfg.base, overrides), resume=(out / name / "last.pt").is_file(), progress=progress)
    missing = [f"{v}_s{s}" for v, _, s in runs if not _finished(out / f"{v}_s{s}", cfg.steps)]
    if missing:
        log(f"ablate: shard {shard[0]}/{shard[1]} done; {len(missing)} runs of other shards unfinished "
            f"({missing[0]} ...): run again without --shard once they are, to tabulate")
        return None
    results: dict[str, dict] = {}
    pairs = None
    for variant, _, seed in runs:
        name = f"{variant}_s{seed}"
        evaluated = out / name / "eval.json"
        if not evaluated.is_file():
            pairs = _evaluate_run(out / name, cfg, pairs)
        results.setdefault(variant, {})[seed] = json.loads(evaluated.read_text())["metrics"]
        log(f"ablate: {name}: F1 {results[variant][seed]['all']['f1']:.4f}")
    table = summarize(results)
    write_json(out / "ablation.json", {"config": cfg.__dict__ | {"eval": [e.__dict__ for e in cfg.eval]}, "runs": results,
                                       "summary": table})
    with atomic_path(out / "ablation.md") as tmp:
        tmp.write_text(markdown(table, cfg))
    return table


def _evaluate_run(run_dir: Path, cfg: AblationConfig, pairs):
    """Evaluate run_dir/last.pt on the eval data at its val-chosen threshold into run_dir/eval.json; returns the
    loaded eval pairs for the next run."""
    from frd_q.data.dataset import load_pairs, scan_sources
    from frd_q.infer import evaluate_pairs
    from frd_q.train.checkpoint import decision_threshold, load_model

    model, mcfg, ckpt = load_model(run_dir / "last.pt")
    if pairs is None:
        pairs = load_pairs(scan_sources(cfg.eval), mcfg.data.in_channels, mcfg.data.label_threshold)
    threshold = decision_threshold(ckpt)
    total, per_dataset = evaluate_pairs(model, pairs, mcfg.data.tile_size, threshold=threshold)
    metrics = {"all": total.metrics(), **{k: c.metrics() for k, c in per_dataset.items()}}
    write_json(run_dir / "eval.json", {"step": ckpt["step"], "threshold": threshold, "metrics": metrics})
    return pairs


def _mean_sd(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def summarize(results: dict[str, dict]) -> dict:
    """Per variant and set (each dataset, their mean, all pixels): mean and sample std of F1 and IoU over seeds."""
    table = {}
    for variant, by_seed in results.items():
        runs = list(by_seed.values())
        datasets = sorted(k for k in runs[0] if k != "all")
        row = {}
        for key in datasets + ["all"]:
            for m in ("f1", "iou"):
                row[f"{key}/{m}"] = _mean_sd([r[key][m] for r in runs])
        for m in ("f1", "iou"):  # macro mean over datasets, per seed, then over seeds
            row[f"dataset mean/{m}"] = _mean_sd([statistics.fmean(r[d][m] for d in datasets) for r in runs])
        table[variant] = row
    return table


def markdown(table: dict, cfg: AblationConfig) -> str:
    cols = [c for c in next(iter(table.values())) if c.endswith("/f1")]
    lines = [f"# Ablation: {cfg.steps} steps, seeds {cfg.seeds}, evaluated on "
             + ", ".join(f"{e.root}" + (f" ({e.list})" if e.list else "") for e in cfg.eval), "",
             "F1 in percent, mean ± sample std over seeds (last checkpoint of each run).", "",
             "| variant | " + " | ".join(c.removesuffix("/f1") for c in cols) + " | IoU (all) |",
             "|---|" + "---:|" * (len(cols) + 1)]
    for variant, row in table.items():
        cells = [f"{100 * row[c][0]:.2f} ± {100 * row[c][1]:.2f}" for c in cols]
        iou = row["all/iou"]
        lines.append(f"| {variant} | " + " | ".join(cells) + f" | {100 * iou[0]:.2f} ± {100 * iou[1]:.2f} |")
    return "\n".join(lines) + "\n"
