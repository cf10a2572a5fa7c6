"""`frd-q ablate`: the same student trained under each distillation variant and several seeds, evaluated and
tabulated (mean and spread over seeds), so a one-point difference can be told from noise.

    frd-q ablate --config configs/ablation.yaml            # one worker; start a second one beside it to share
    frd-q ablate --config configs/ablation.yaml --table    # the table of the runs finished so far, trains nothing

The ablation config names a base student config, a teacher checkpoint (trained first from `teacher_config` if
it does not exist), the steps and seeds, the evaluation data and the variants (each a set of distill weights).
Runs go seed by seed (every variant's seed 0, then seed 1, ...), so an ablation cut short still compares every
variant. Every run is `<out_dir>/<variant>_s<seed>/`. Each run validates once, at its last step, on the base
config's val split, which chooses its decision threshold; it is then evaluated on the `eval` data (the test
split) at that threshold, with its last checkpoint (a best checkpoint would add a second, per-variant selection),
into `<run>/eval.json`.

A finished run is kept twice: its checkpoint under `out_dir` and, when the config names `records`, a small record
`<records>/<variant>_s<seed>.json` (test metrics, threshold, val metrics, wall time, the teacher's sha256). Records
are meant to be committed: an ablation longer than one session (or one machine) resumes from them, and a record
made under other settings (steps, weights, teacher) is one error naming it. Workers share the runs through claim
files (`<out_dir>/<run>.claim`, taken with O_EXCL, left by a dead process: taken over); `--shard i/n` restricts
a worker to runs i, i+n, ... Once every run has finished, the last worker writes `ablation.json` and
`ablation.md` to `records` (or `out_dir`).
"""

from __future__ import annotations

import json
import os
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from frd_q.config import DataSource, from_dict, load_config, read_yaml_mapping
from frd_q.distill.distiller import TERMS
from frd_q.errors import ConfigError
from frd_q.fsutil import atomic_path, sha256, write_json


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
    out_dir: str = "runs/ablation"  #: where runs (checkpoints) go
    records: str | None = None  #: where finished runs' records and the tables go (committed); None: out_dir only
    set: list[str] = field(default_factory=list)  #: extra key=value overrides for every student run


@dataclass(frozen=True)
class Run:
    variant: str
    weights: dict
    seed: int

    @property
    def name(self) -> str:
        return f"{self.variant}_s{self.seed}"


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


def plan(cfg: AblationConfig) -> list[Run]:
    """Every run, seed by seed: all variants' seed 0 first."""
    return [Run(variant, dict(weights), seed) for seed in cfg.seeds for variant, weights in cfg.variants.items()]


def parse_shard(text: str) -> tuple[int, int]:
    """'i/n' -> (i, n) with 0 <= i < n."""
    try:
        i, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise ConfigError(f"--shard {text!r}: expected i/n, e.g. 0/2") from None
    if not 0 <= i < n:
        raise ConfigError(f"--shard {text!r}: needs 0 <= i < n")
    return i, n


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


# --- records: what a finished run leaves behind, small enough to commit ---

def _settings(cfg: AblationConfig, run: Run, teacher_sha: str | None) -> dict:
    """What a record must match to stand for `run` under `cfg`."""
    return {"base": cfg.base, "steps": cfg.steps, "set": list(cfg.set), "weights": run.weights, "seed": run.seed,
            "teacher_sha256": teacher_sha if run.weights else None}


def read_record(cfg: AblationConfig, run: Run, teacher_sha: str | None) -> dict | None:
    """The committed record of `run`, None if there is none; one error if it was made under other settings.
    `teacher_sha` None (`--table` where the teacher file is absent) leaves the record's teacher unchecked."""
    if cfg.records is None:
        return None
    path = Path(cfg.records) / f"{run.name}.json"
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text())
        made = record["settings"]
        record["metrics"]["all"]
    except (ValueError, KeyError, TypeError) as e:
        raise ConfigError(f"{path}: not an ablation record ({e.__class__.__name__}: {e})") from None
    want = _settings(cfg, run, teacher_sha)
    diff = sorted(k for k in want if made.get(k) != want[k] and not (k == "teacher_sha256" and teacher_sha is None))
    if diff:
        raise ConfigError(f"{path}: made with other settings ({diff[0]}: {made.get(diff[0])!r}, the config "
                          f"now: {want[diff[0]]!r}); delete it to train the run again")
    return record


def _trained(run_dir: Path, steps: int) -> bool:
    from frd_q.train.checkpoint import load_checkpoint

    last = run_dir / "last.pt"
    return last.is_file() and load_checkpoint(last)["step"] >= steps


def _evaluated(run_dir: Path, settings: dict, steps: int) -> dict | None:
    """run_dir/eval.json if it was made under `settings` from a finished run, else None."""
    path = run_dir / "eval.json"
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text())
    except ValueError:
        return None
    if not isinstance(record, dict) or record.get("settings") != settings or record.get("step", 0) < steps:
        return None
    return record


def _finish(cfg: AblationConfig, run: Run, teacher_sha: str | None, pairs):
    """Evaluate a trained run on the eval data at its val-chosen threshold: <run>/eval.json and, with `records`,
    the record. Returns (record, the loaded eval pairs for the next run)."""
    from frd_q.data.dataset import load_pairs, scan_sources
    from frd_q.infer import evaluate_pairs
    from frd_q.train.checkpoint import decision_threshold, load_model, train_wall_time

    run_dir = Path(cfg.out_dir) / run.name
    model, mcfg, ckpt = load_model(run_dir / "last.pt")
    if pairs is None:
        pairs = load_pairs(scan_sources(cfg.eval), mcfg.data.in_channels, mcfg.data.label_threshold)
    threshold = decision_threshold(ckpt)
    total, per_dataset = evaluate_pairs(model, pairs, mcfg.data.tile_size, threshold=threshold)
    metrics = {"all": total.metrics(), **{k: c.metrics() for k, c in per_dataset.items()}}
    record = {"run": run.name, "settings": _settings(cfg, run, teacher_sha), "step": ckpt["step"],
              "threshold": threshold, "val": ckpt.get("metrics"), "wall_time_s": train_wall_time(run_dir),
              "metrics": metrics}
    write_json(run_dir / "eval.json", record)
    if cfg.records is not None:
        write_json(Path(cfg.records) / f"{run.name}.json", record)
    return record, pairs


# --- claims: several workers on one machine share the runs ---

def _claim(path: Path) -> bool:
    """Take the claim file `path` (O_EXCL); a claim whose process is gone is taken over."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                pid = int(path.read_text().strip() or 0)
            except (OSError, ValueError):
                pid = 0
            if pid and _alive(pid):
                return False
            path.unlink(missing_ok=True)  # stale: its worker died
            continue
        with os.fdopen(fd, "w") as f:
            f.write(str(os.getpid()))
        return True
    return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_ablation(cfg: AblationConfig, progress: bool = True, log=print, shard: tuple[int, int] = (0, 1),
                 table_only: bool = False) -> Path | None:
    """Train and evaluate this worker's unfinished runs, then, once every run has finished, tabulate. Returns the
    table's markdown file, or None while runs are missing. `table_only`: tabulate the finished runs (into
    ablation_partial.md/.json while some are missing), train nothing."""
    from frd_q.train.loop import train

    runs = plan(cfg)
    out = Path(cfg.out_dir)
    teacher = ensure_teacher(cfg.teacher, cfg.teacher_config, cfg.teacher_steps, progress) if not table_only \
        else Path(cfg.teacher)
    teacher_sha = sha256(teacher) if teacher.is_file() else None
    if teacher_sha is None:
        log(f"ablate: {teacher} is absent: the records' teacher (sha256) is not checked")
    records: dict[str, dict] = {}
    pairs = None
    for k, run in enumerate(runs):
        record = read_record(cfg, run, teacher_sha)
        if record is None:  # evaluated here but not recorded (records added to the config later)
            record = _evaluated(out / run.name, _settings(cfg, run, teacher_sha), cfg.steps)
            if record is not None and cfg.records is not None:
                write_json(Path(cfg.records) / f"{run.name}.json", record)
        if record is None and not table_only and k % shard[1] == shard[0]:
            claim = out / f"{run.name}.claim"
            if not _claim(claim):
                continue
            try:
                if not _trained(out / run.name, cfg.steps):
                    overrides = [f"name={run.name}", f"train.out_dir={out}", f"train.seed={run.seed}",
                                 f"train.steps={cfg.steps}", f"train.val_every={cfg.steps}", *cfg.set]
                    overrides += [f"distill.{t}={v}" for t, v in run.weights.items()]
                    if run.weights:
                        overrides.append(f"distill.teacher={teacher}")
                    log(f"ablate: training {run.name}")
                    train(load_config(cfg.base, overrides), resume=(out / run.name / "last.pt").is_file(),
                          progress=progress)
                record, pairs = _finish(cfg, run, teacher_sha, pairs)
            finally:
                claim.unlink(missing_ok=True)
        if record is not None:
            records[run.name] = record
            log(f"ablate: {run.name}: test F1 {record['metrics']['all']['f1']:.4f} (threshold {record['threshold']:g})")
    missing = [run.name for run in runs if run.name not in records]
    if missing and not table_only:
        log(f"ablate: {len(missing)} of {len(runs)} runs unfinished ({', '.join(missing[:3])}"
            f"{' ...' if len(missing) > 3 else ''}): other workers or a later call train them; tabulating then")
        return None
    results: dict[str, dict] = {}
    for run in runs:
        if run.name in records:
            results.setdefault(run.variant, {})[run.seed] = records[run.name]["metrics"]
    if not results:
        log("ablate: no run has finished yet")
        return None
    table = summarize(results)
    diffs = paired(results, runs[0].variant)
    dest = Path(cfg.records or cfg.out_dir)
    stem = "ablation_partial" if missing else "ablation"
    write_json(dest / f"{stem}.json", {"config": cfg.__dict__ | {"eval": [e.__dict__ for e in cfg.eval]},
                                       "runs": results, "missing": missing, "summary": table, "paired": diffs})
    with atomic_path(dest / f"{stem}.md") as tmp:
        tmp.write_text(markdown(table, cfg, missing, diffs, runs[0].variant))
    if not missing:  # the full table supersedes a partial one
        for suffix in (".md", ".json"):
            (dest / f"ablation_partial{suffix}").unlink(missing_ok=True)
    return dest / f"{stem}.md"


def _mean_sd(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def _value(metrics: dict, key: str, m: str = "f1") -> float:
    """Metric `m` of one run's set `key`: a dataset, "all" (pixels) or "dataset mean" (macro mean over datasets)."""
    if key == "dataset mean":
        return statistics.fmean(v[m] for k, v in metrics.items() if k != "all")
    return metrics[key][m]


def summarize(results: dict[str, dict]) -> dict:
    """Per variant and set (each dataset, their mean, all pixels): mean and sample std of F1 and IoU over seeds,
    and the number of seeds `n`."""
    table = {}
    for variant, by_seed in results.items():
        runs = list(by_seed.values())
        datasets = sorted(k for k in runs[0] if k != "all")
        row = {}
        for key in datasets + ["all"]:
            for m in ("f1", "iou"):
                row[f"{key}/{m}"] = _mean_sd([r[key][m] for r in runs])
        for m in ("f1", "iou"):  # macro mean over datasets, per seed, then over seeds
            row[f"dataset mean/{m}"] = _mean_sd([_value(r, "dataset mean", m) for r in runs])
        row["n"] = len(runs)
        table[variant] = row
    return table


PAIRED_SETS = ("all", "dataset mean")


def paired(results: dict[str, dict], baseline: str) -> dict:
    """Per variant, F1 minus the baseline's F1 of the same seed (same batches and initialisation, so the seed's
    luck cancels): mean and sample std over the seeds both have, their number `n` and how many seeds the variant
    wins (`wins`), for all pixels and the dataset mean."""
    base = results.get(baseline, {})
    out = {}
    for variant, by_seed in results.items():
        seeds = sorted(set(by_seed) & set(base))
        if variant == baseline or not seeds:
            continue
        row = {"n": len(seeds)}
        for key in PAIRED_SETS:
            d = [_value(by_seed[s], key) - _value(base[s], key) for s in seeds]
            row[key] = {"mean_sd": _mean_sd(d), "wins": sum(x > 0 for x in d)}
        out[variant] = row
    return out


def markdown(table: dict, cfg: AblationConfig, missing: list[str] = (), diffs: dict | None = None,
             baseline: str = "none") -> str:
    cols = [c for c in next(iter(table.values())) if c.endswith("/f1")]
    lines = [f"# Ablation: {cfg.steps} steps, seeds {cfg.seeds}, evaluated on "
             + ", ".join(f"{e.root}" + (f" ({e.list})" if e.list else "") for e in cfg.eval), ""]
    if missing:
        lines += [f"**Partial:** {len(missing)} runs unfinished ({', '.join(missing)}).", ""]
    lines += ["F1 in percent, mean ± sample std over the n seeds (last checkpoint of each run, decision threshold "
              "chosen on the val split).", "",
              "| variant | n | " + " | ".join(c.removesuffix("/f1") for c in cols) + " | IoU (all) |",
              "|---|---:|" + "---:|" * (len(cols) + 1)]
    for variant, row in table.items():
        cells = [f"{100 * row[c][0]:.2f} ± {100 * row[c][1]:.2f}" for c in cols]
        iou = row["all/iou"]
        lines.append(f"| {variant} | {row['n']} | " + " | ".join(cells) + f" | {100 * iou[0]:.2f} ± {100 * iou[1]:.2f} |")
    if diffs:
        lines += ["", f"Paired by seed (same batches and initialisation): F1 minus `{baseline}`'s F1 of the same seed, "
                  "in points, mean ± sample std over the n seeds both have, and the seeds where the variant is ahead.",
                  "", "| variant | n | " + " | ".join(f"Δ {k} | ahead" for k in PAIRED_SETS) + " |",
                  "|---|---:|" + "---:|---:|" * len(PAIRED_SETS)]
        for variant, row in diffs.items():
            cells = [f"{100 * row[k]['mean_sd'][0]:+.2f} ± {100 * row[k]['mean_sd'][1]:.2f} | "
                     f"{row[k]['wins']}/{row['n']}" for k in PAIRED_SETS]
            lines.append(f"| {variant} | {row['n']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
