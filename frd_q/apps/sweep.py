"""`frd-q sweep`: students over a grid of bit widths, widths and distillation, each trained, evaluated, built for
one or more boards and (optionally) synthesized with Yosys; one JSON record per point for `frd-q report`.

    frd-q sweep --config configs/sweep_reduced.yaml --jobs 2      # every point, two processes at a time
    frd-q sweep --config configs/sweep_reduced.yaml --list        # the points, numbered, and which are done
    frd-q sweep --config configs/sweep_reduced.yaml --teacher     # only the shared teacher (before a job array)
    frd-q sweep --config configs/sweep_reduced.yaml --pretrain    # only the pretrain runs, one per width (idem)
    frd-q sweep --config configs/sweep_reduced.yaml --point 3     # one point (a job-array task), by number or name

A point is `<bits>-<widths>-<distill>`, e.g. `w4a4-s-frd`. The points are the union of the cartesian products in
`grids` (each grid names values of the three axes), so a reduced sweep can cover all bit widths at one width and
the width and distillation axes at a few bit widths without running the full product.

Everything a point makes lives in `<out_dir>/points/<point>/`: the training run (last.pt ...), eval.json,
build_<board>/ (the FINN flow's output, with synth/ when synthesized) and point.json, written last. Each stage is
skipped when its output exists, so an interrupted sweep, or a job-array task that died, resumes where it stopped.
Points are independent processes: locally a `concurrent.futures` process pool runs `--jobs` of them at a time;
on a cluster, each point is one task of a job array (`--point $SLURM_ARRAY_TASK_ID`, see docs/sweep.md) after a
`--teacher` and a `--pretrain` job. The teacher is trained once, before the points, when any point distills.

With `pretrain_steps`, every point is a quantization-aware fine-tune rather than a run from random weights: each
width first gets one undistilled run at `pretrain_bits` (`<out_dir>/pretrain/<width>/train/last.pt`, shared by
all points of that width), and each point starts from it at its own bit widths (`train.init_from`), with or
without distillation. Short runs from scratch compare how fast points learn; fine-tunes of one start compare
where they end, which is what an accuracy-vs-resource trade-off asks.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import shutil
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

from frd_q.config import DISTILL_TERMS, DataSource, from_dict, load_config, read_yaml_mapping
from frd_q.errors import ConfigError, FrdError
from frd_q.fsutil import write_json
from hw.buildfolder import BuildFolder, BuildSummary
from hw.fifo_sizing import FifoSizing
from hw.flow import BuildConfig, run_flow
from hw.steps import STEP_NAMES

BITS = re.compile(r"w(\d)a(\d)")


@dataclass
class Grid:
    bits: list[str]  #: names like w4a4 (weights, activations)
    widths: list[str]  #: keys of SweepConfig.widths
    distill: list[str]  #: keys of SweepConfig.distill


@dataclass
class SweepConfig:
    base: str  #: student config every point starts from (data, loss, optimizer)
    eval: list[DataSource]  #: pairs every point is evaluated on (full images): the test split's sources
    widths: dict[str, list[int]]  #: name -> channels per encoder stage (the list's length is the depth)
    distill: dict[str, dict[str, float]]  #: name -> distillation loss weights ({} = none)
    grids: list[Grid]  #: the points: union of the cartesian products of these
    boards: dict[str, float]  #: board -> target tiles/s to fold for
    synth: list[str] = field(default_factory=list)  #: boards whose builds are synthesized with Yosys
    synth_points: list[str] | None = None  #: points to synthesize (None: all)
    teacher: str | None = None  #: teacher checkpoint for the distilled points
    teacher_config: str | None = None  #: config that trains the teacher when `teacher` does not exist
    teacher_steps: int | None = None  #: steps of that teacher run (None: the config's)
    steps: int = 100  #: training steps of every point
    seed: int = 0  #: training seed of every point
    tile: int = 256  #: accelerator tile size
    out_dir: str = "runs/sweep"  #: where points, the sweep record and the report go
    set: list[str] = field(default_factory=list)  #: extra key=value overrides for every student run
    pretrain_steps: int | None = None  #: when set, points fine-tune from one undistilled run per width this long
    pretrain_bits: str = "w8a8"  #: bit widths of those pretrain runs


@dataclass(frozen=True)
class Point:
    name: str
    bits: str
    weight_bits: int
    act_bits: int
    widths: str
    distill: str


def load_sweep(path: str | Path) -> SweepConfig:
    from hw.boards import get_board

    path = Path(path)
    cfg = from_dict(SweepConfig, read_yaml_mapping(path, "sweep config"), str(path))
    for grid in cfg.grids:
        for b in grid.bits:
            if not BITS.fullmatch(b):
                raise ConfigError(f"{path}: grids: bit width '{b}' is not of the form w<weight bits>a<act bits>")
        for axis, known in (("widths", cfg.widths), ("distill", cfg.distill)):
            for v in getattr(grid, axis):
                if v not in known:
                    raise ConfigError(f"{path}: grids: {axis} '{v}' is not defined under {axis}: "
                                      f"({', '.join(known)})")
    for name, weights in cfg.distill.items():
        unknown = set(weights) - set(DISTILL_TERMS)
        if unknown:
            raise ConfigError(f"{path}: distill {name}: unknown loss {sorted(unknown)[0]} "
                              f"(known: {', '.join(DISTILL_TERMS)})")
        if weights and cfg.teacher is None:
            raise ConfigError(f"{path}: distill {name} needs a teacher checkpoint (teacher:)")
    for board in list(cfg.boards) + cfg.synth:
        try:
            get_board(board)
        except FrdError as e:
            raise ConfigError(f"{path}: {e}") from None
    missing = set(cfg.synth) - set(cfg.boards)
    if missing:
        raise ConfigError(f"{path}: synth board {sorted(missing)[0]} is not among the built boards")
    names = {p.name for p in points(cfg)}
    for name in cfg.synth_points or []:
        if name not in names:
            raise ConfigError(f"{path}: synth_points: '{name}' is not a point of the grids")
    if cfg.steps < 1:
        raise ConfigError(f"{path}: steps must be at least 1")
    if cfg.pretrain_steps is not None and cfg.pretrain_steps < 1:
        raise ConfigError(f"{path}: pretrain_steps must be at least 1 (or left out: points train from scratch)")
    if not BITS.fullmatch(cfg.pretrain_bits):
        raise ConfigError(f"{path}: pretrain_bits '{cfg.pretrain_bits}' is not of the form w<weight bits>a<act bits>")
    return cfg


def points(cfg: SweepConfig) -> list[Point]:
    """The sweep's points, in grid order, without repeats."""
    seen: dict[str, Point] = {}
    for grid in cfg.grids:
        for bits, widths, distill in itertools.product(grid.bits, grid.widths, grid.distill):
            w, a = (int(x) for x in BITS.fullmatch(bits).groups())
            p = Point(f"{bits}-{widths}-{distill}", bits, w, a, widths, distill)
            seen.setdefault(p.name, p)
    return list(seen.values())


def point_dir(cfg: SweepConfig, point: Point) -> Path:
    return Path(cfg.out_dir) / "points" / point.name


def find_point(cfg: SweepConfig, key: str) -> Point:
    pts = points(cfg)
    if key.isdigit():
        if int(key) >= len(pts):
            raise ConfigError(f"point {key}: the sweep has points 0..{len(pts) - 1}")
        return pts[int(key)]
    for p in pts:
        if p.name == key:
            return p
    raise ConfigError(f"point '{key}' is not in the sweep (frd-q sweep --list shows them)")


def needs_teacher(cfg: SweepConfig) -> bool:
    return any(cfg.distill[p.distill] for p in points(cfg))


def pretrain_widths(cfg: SweepConfig) -> list[str]:
    """The widths that get a pretrain run: those of the points, when `pretrain_steps` is set."""
    return sorted({p.widths for p in points(cfg)}) if cfg.pretrain_steps else []


def pretrain_dir(cfg: SweepConfig, widths: str) -> Path:
    return Path(cfg.out_dir) / "pretrain" / widths


def pretrain_checkpoint(cfg: SweepConfig, widths: str) -> Path:
    return pretrain_dir(cfg, widths) / "train" / "last.pt"


def _trained(checkpoint: Path, steps: int) -> bool:
    from frd_q.train.checkpoint import load_checkpoint

    return checkpoint.is_file() and load_checkpoint(checkpoint)["step"] >= steps


def _run_overrides(cfg: SweepConfig, run_dir: Path, steps: int, bits: str, widths: str) -> list[str]:
    """A sweep run of the base config: `steps` steps at `bits` and `widths`, no validation, into run_dir/train/."""
    w, a = BITS.fullmatch(bits).groups()
    return ["name=train", f"train.out_dir={run_dir}", f"train.seed={cfg.seed}", f"train.steps={steps}",
            f"train.val_every={steps}", "data.val=[]", f"model.weight_bits={w}", f"model.act_bits={a}",
            f"model.widths={cfg.widths[widths]}", *cfg.set]


def pretrain_config(cfg: SweepConfig, widths: str):
    return load_config(cfg.base, _run_overrides(cfg, pretrain_dir(cfg, widths), cfg.pretrain_steps,
                                                cfg.pretrain_bits, widths))


def ensure_pretrain(cfg: SweepConfig, widths: str, progress: bool = True) -> Path:
    """The pretrain run of `widths`, trained (or finished) when it is missing."""
    from frd_q.train.loop import train

    last = pretrain_checkpoint(cfg, widths)
    if not _trained(last, cfg.pretrain_steps):
        train(pretrain_config(cfg, widths), resume=last.is_file(), progress=progress)
    return last


def student_config(cfg: SweepConfig, point: Point):
    overrides = _run_overrides(cfg, point_dir(cfg, point), cfg.steps, point.bits, point.widths)
    if cfg.pretrain_steps:
        overrides.append(f"train.init_from={pretrain_checkpoint(cfg, point.widths)}")
    weights = cfg.distill[point.distill]
    overrides += [f"distill.{k}={v}" for k, v in weights.items()]
    if weights:
        overrides.append(f"distill.teacher={cfg.teacher}")
    return load_config(cfg.base, overrides)


# ---------------------------------------------------------------------------------------------------------------
# One point: train -> evaluate -> count -> build per board -> synthesize


def run_point(cfg: SweepConfig, point: Point, progress: bool = False, log=print) -> dict:
    """Run (or finish) one point; returns its record, also written to point.json."""
    from frd_q.train.loop import train

    out = point_dir(cfg, point)
    record_path = out / "point.json"
    if record_path.is_file():
        return json.loads(record_path.read_text())
    t0 = time.time()
    if cfg.distill[point.distill] and not Path(cfg.teacher).is_file():
        raise ConfigError(f"{cfg.teacher}: teacher checkpoint not found (run frd-q sweep --teacher first)")
    start = pretrain_checkpoint(cfg, point.widths) if cfg.pretrain_steps else None
    if start is not None and not _trained(start, cfg.pretrain_steps):
        raise ConfigError(f"{start}: the pretrain run of width {point.widths} is missing or unfinished "
                          "(run frd-q sweep --pretrain first)")
    scfg = student_config(cfg, point)
    last = out / "train" / "last.pt"
    if not _trained(last, cfg.steps):
        log(f"{point.name}: training {cfg.steps} steps")
        train(scfg, resume=last.is_file(), progress=progress)
    times = {"train": round(time.time() - t0, 1)}
    record = {"point": asdict(point), "widths": cfg.widths[point.widths], "distill": cfg.distill[point.distill],
              "steps": cfg.steps, "checkpoint": str(last),
              "init_from": None if start is None else {"checkpoint": str(start), "steps": cfg.pretrain_steps,
                                                       "bits": cfg.pretrain_bits}}
    t = time.time()
    record["eval"] = _evaluate(cfg, last, out / "eval.json")
    record["model"] = model_stats(last, cfg.tile)
    times["eval"] = round(time.time() - t, 1)
    record["boards"] = {}
    first = None
    for board, fps in cfg.boards.items():
        t = time.time()
        bdir = out / f"build_{board}"
        summary = _build(last, board, fps, cfg.tile, bdir, first)
        first = first or bdir
        entry = {"build": str(bdir), "target_fps": fps, "fits": summary.folding["fits"],
                 "estimates": summary.estimates, "folding": summary.folding}
        times[f"build_{board}"] = round(time.time() - t, 1)
        if board in cfg.synth and (cfg.synth_points is None or point.name in cfg.synth_points):
            t = time.time()
            entry["synth"] = _synth(bdir, Path(cfg.out_dir) / "synth_cache", log)
            times[f"synth_{board}"] = round(time.time() - t, 1)
        record["boards"][board] = entry
    record["seconds"] = times
    write_json(record_path, record)
    log(f"{point.name}: F1 {record['eval']['f1']:.4f}, done in {sum(times.values()):.0f} s")
    return record


def _evaluate(cfg: SweepConfig, checkpoint: Path, path: Path) -> dict:
    from frd_q.data.dataset import load_pairs, scan_sources
    from frd_q.infer import evaluate_pairs
    from frd_q.train.checkpoint import load_model

    if path.is_file():
        return json.loads(path.read_text())
    model, mcfg, _ = load_model(checkpoint)
    pairs = load_pairs(scan_sources(cfg.eval), mcfg.data.in_channels, mcfg.data.label_threshold)
    total, per_dataset = evaluate_pairs(model, pairs, mcfg.data.tile_size)
    metrics = {**total.metrics(), "datasets": {k: c.metrics() for k, c in per_dataset.items()}, "pairs": len(pairs)}
    write_json(path, metrics)
    return metrics


def model_stats(checkpoint: Path, tile: int) -> dict:
    """Parameters, multiply-accumulates per tile (both dates) and weight memory bits of a student."""
    import torch

    from frd_q.train.checkpoint import load_model

    model, mcfg, _ = load_model(checkpoint)
    macs, weight_bits = [], 0
    wb = mcfg.model.weight_bits

    def hook(m, inputs, output):
        k = m.weight.shape[1] * m.weight.shape[2] * m.weight.shape[3]
        macs.append(output.shape[1] * output.shape[2] * output.shape[3] * k)

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            weight_bits += m.weight.numel() * wb
    x = torch.zeros(1, mcfg.data.in_channels, tile, tile)
    with torch.no_grad():
        model.eval()(x, x)
    for h in handles:
        h.remove()
    return {"params": sum(p.numel() for p in model.parameters()), "macs_per_tile": int(sum(macs)),
            "weight_bits": int(weight_bits)}


def _build(checkpoint: Path, board: str, fps: float, tile: int, out: Path, reuse: Path | None) -> BuildSummary:
    """The FINN flow for one board; a second board reuses the first one's board-independent steps."""
    folder = BuildFolder(out, must_exist=False)
    if folder.summary_path.is_file():
        summary = folder.summary
        if "codegen" in summary.completed:
            return summary
    if out.exists():
        shutil.rmtree(out)
    start = None
    if reuse is not None:  # export .. dataflow_partition do not depend on the board
        start = "specialize"
        folder.seed_from(BuildFolder(reuse), STEP_NAMES[: STEP_NAMES.index(start)])
    # a sweep compares designs by their estimates and synthesis; FIFO sizing (minutes of simulation per design)
    # is for the build of the design it chooses
    return run_flow(BuildConfig(checkpoint=checkpoint, board=board, out=out, tile=tile, target_fps=fps,
                                fifo_sizing=FifoSizing.OFF, start_step=start), log=lambda *a, **k: None)


def _synth(build: Path, cache: Path, log) -> dict:
    from hw.synth import synthesize

    path = build / "synth" / "synth.json"
    if path.is_file():
        result = json.loads(path.read_text())
    else:
        result = synthesize(build, cache=cache, log=log)
    return {k: result[k] for k in ("total", "finn_total_rtl", "by_op", "covered", "seconds", "family")} | {
        "not_covered_ops": sorted({x["op"] for x in result["not_covered"]})}


# ---------------------------------------------------------------------------------------------------------------
# The whole sweep


def ensure_sweep_teacher(cfg: SweepConfig, progress: bool = True) -> None:
    from frd_q.distill.ablate import ensure_teacher

    if needs_teacher(cfg):
        ensure_teacher(cfg.teacher, cfg.teacher_config, cfg.teacher_steps, progress)


def write_record(cfg: SweepConfig, config_path: str | Path) -> None:
    """<out_dir>/sweep.json: the resolved config and the point list, what `frd-q report` starts from."""
    write_json(Path(cfg.out_dir) / "sweep.json", {"config": _plain(asdict(cfg)), "config_file": str(config_path),
                                                  "points": [p.name for p in points(cfg)]})


def _plain(d):
    return json.loads(json.dumps(d, default=str))


def _worker(cfg: SweepConfig, point: Point, threads: int) -> dict:
    with _logged(point_dir(cfg, point) / "log.txt", threads) as log:
        return run_point(cfg, point, progress=False, log=log)


def _pretrain_worker(cfg: SweepConfig, widths: str, threads: int) -> str:
    with _logged(pretrain_dir(cfg, widths) / "log.txt", threads) as log:
        log(f"pretrain {widths}: {cfg.pretrain_steps} steps at {cfg.pretrain_bits}")
        return str(ensure_pretrain(cfg, widths, progress=False))


@contextlib.contextmanager
def _logged(log_path: Path, threads: int):
    """A pool process's job: `threads` torch threads, a log function that appends to log_path, and the traceback
    of a failure written there before it is raised."""
    import torch

    torch.set_num_threads(threads)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a") as f:
        try:
            yield lambda *args, **kwargs: print(*args, file=f, flush=True)
        except Exception:
            f.write(traceback.format_exc())
            raise


def run_sweep(cfg: SweepConfig, config_path: str | Path, jobs: int = 1, log=print) -> list[dict]:
    """Every point not yet done, `jobs` processes at a time; returns the records of all finished points."""
    import multiprocessing

    write_record(cfg, config_path)
    ensure_sweep_teacher(cfg, progress=True)
    todo = [p for p in points(cfg) if not (point_dir(cfg, p) / "point.json").is_file()]
    done = len(points(cfg)) - len(todo)
    log(f"sweep: {len(points(cfg))} points, {done} done, {len(todo)} to run with {jobs} process(es)")
    threads = max(1, (os.cpu_count() or 1) // max(1, jobs))
    failed = []
    with ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=multiprocessing.get_context("spawn")) as pool:
        starts = [w for w in pretrain_widths(cfg) if not _trained(pretrain_checkpoint(cfg, w), cfg.pretrain_steps)]
        if todo and starts:
            log(f"sweep: pretraining width(s) {', '.join(starts)}: {cfg.pretrain_steps} steps at {cfg.pretrain_bits}")
            for path in pool.map(_pretrain_worker, [cfg] * len(starts), starts, [threads] * len(starts)):
                log(f"sweep: pretrained {path}")
        futures = {pool.submit(_worker, cfg, p, threads): p for p in todo}
        for future in as_completed(futures):
            p = futures[future]
            done += 1
            try:
                rec = future.result()
                log(f"sweep: [{done}/{len(points(cfg))}] {p.name}: F1 {rec['eval']['f1']:.4f} "
                    f"({sum(rec['seconds'].values()):.0f} s)")
            except Exception as e:  # noqa: BLE001 (reported per point, the others go on)
                failed.append(p.name)
                log(f"sweep: [{done}/{len(points(cfg))}] {p.name} FAILED: {str(e).splitlines()[0] if str(e) else e!r}"
                    f" (see {point_dir(cfg, p) / 'log.txt'})")
    if failed:
        raise FrdError(f"{len(failed)} point(s) failed: {', '.join(failed)}; rerun the same command to retry them")
    return load_records(cfg.out_dir)


def load_records(out_dir: str | Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(Path(out_dir).glob("points/*/point.json"))]


def status_table(cfg: SweepConfig) -> str:
    lines = [f"{'#':>3}  {'point':<24} status"]
    for i, p in enumerate(points(cfg)):
        d = point_dir(cfg, p)
        status = "done" if (d / "point.json").is_file() else ("started" if d.exists() else "-")
        lines.append(f"{i:>3}  {p.name:<24} {status}")
    return "\n".join(lines)


__all__ = ["Grid", "Point", "SweepConfig", "ensure_pretrain", "load_records", "load_sweep", "model_stats", "points",
           "pretrain_checkpoint", "pretrain_widths", "run_point", "run_sweep", "status_table", "write_record"]
