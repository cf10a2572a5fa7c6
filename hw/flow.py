"""Run the FINN flow (hw.steps.STEPS) for one checkpoint and board.

    from hw.flow import BuildConfig, run_flow
    summary = run_flow(BuildConfig(checkpoint="runs/student_w4a4/best.pt", board="ZCU104", out="build/zcu104"))

Writes into `out` the files listed in hw/buildfolder.py (BuildFolder knows where each lives; summary.json is a
BuildSummary): finn.log, model.pt/.onnx, intermediate/NN_<step>.onnx after every step, the partition, folding,
estimates, hdl/, fifo_sizing.json, time_per_step.json and summary.json. The Xilinx-tool steps run where the
tools are; elsewhere the flow stops before the first of them with a message naming the missing tool (an error
only when that step was asked for explicitly with stop_step).
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path

from qonnx.core.modelwrapper import ModelWrapper

from frd_q.errors import ConfigError, FrdError
from frd_q.fsutil import write_json
from hw.boards import Board, get_board
from hw.buildfolder import LOG, TIMES, BuildFolder, BuildSummary
from hw.fifo_sizing import FifoSizing
from hw.finn_env import finn_session
from hw.graph import has_hls_layers
from hw.steps import STEP_NAMES, STEPS, TOOL_STEPS


class FlowError(FrdError):
    """A flow step failed for a reason the user can act on."""


@dataclass
class BuildConfig:
    checkpoint: Path  #: frd_q student checkpoint (Siamese `student` or early-fusion `early`)
    board: str  #: catalogue name (hw/boards.yaml)
    out: Path  #: output folder
    tile: int = 256  #: input tile size the accelerator is built for (pixels per side)
    rows: int | None = None  #: tile height when it is not `tile` (the band builds FIFO sizing simulates)
    target_fps: float | None = None  #: tiles per second to fold for; None: the fastest design that fits
    folding: Path | None = None  #: FINN folding JSON to apply instead of searching
    clock_ns: float | None = None  #: clock period; None: the board's default
    fit_limit: float = 0.9  #: a design fits when every estimated resource is at most this share of the board's
    mvau_wwidth_max: int = 288  #: widest MVAU weight stream (PE * SIMD * weight bits) folding may use (FINN: 36)
    fifo_sizing: FifoSizing = FifoSizing.RATE  #: FIFOs of a branching graph (fifo_sizing step)
    start_step: str | None = None  #: resume from this step (reads the previous step's intermediate model)
    stop_step: str | None = None  #: stop after this step; None: as far as the installed tools allow
    overwrite: bool = False  #: allow writing into a non-empty output folder when not resuming

    def __post_init__(self):
        self.checkpoint, self.out = Path(self.checkpoint), Path(self.out)
        self.folding = Path(self.folding) if self.folding else None
        for name in ("start_step", "stop_step"):
            value = getattr(self, name)
            if value is not None and value not in STEP_NAMES:
                raise ConfigError(f"{name} {value!r} is not a step; steps: {', '.join(STEP_NAMES)}")
        if self.target_fps is not None and self.target_fps <= 0:
            raise ConfigError(f"target FPS must be positive, got {self.target_fps}")
        try:
            self.fifo_sizing = FifoSizing(self.fifo_sizing)
        except ValueError:
            raise ConfigError(f"fifo_sizing {self.fifo_sizing!r}: choose one of "
                              f"{', '.join(m.value for m in FifoSizing)}") from None
        if self.target_fps is not None and self.folding is not None:
            raise ConfigError("give either a target FPS or a folding file, not both")


@dataclass
class Build:
    """What the steps share: the config, the board, the output folder and the summary being written."""

    cfg: BuildConfig
    board: Board
    summary: BuildSummary = field(default_factory=BuildSummary)
    notes: list[str] = field(default_factory=list)  #: messages for the user, printed after the step

    @property
    def out(self) -> Path:
        return self.cfg.out

    @property
    def folder(self) -> BuildFolder:
        return BuildFolder(self.cfg.out, must_exist=False)

    @property
    def clock_ns(self) -> float:
        return self.cfg.clock_ns or self.board.clock_ns

    @staticmethod
    def error(message: str) -> FlowError:
        return FlowError(message)

    def band_model(self, rows: int) -> ModelWrapper:
        """The same checkpoint, folding and board, built through code generation for a `rows` x tile band
        (<out>/band/): a band has the same layers, FIFOs and cycles per row as the full tile, in fewer rows
        (the fifo_sizing step's `rate` mode simulates it)."""
        import dataclasses

        cfg = dataclasses.replace(self.cfg, out=self.out / "band", rows=rows, target_fps=None,
                                  folding=self.out / "folding_config.json", start_step=None, stop_step="codegen",
                                  overwrite=True)
        run_flow(cfg, log=lambda *a, **k: None)
        return ModelWrapper(str(BuildFolder(cfg.out).model("codegen")))


def run_flow(cfg: BuildConfig, log=print) -> BuildSummary:
    """Run the steps from cfg.start_step to cfg.stop_step (or as far as the installed tools allow)."""
    build = Build(cfg, get_board(cfg.board))
    first, last = _step_range(cfg)
    model = _start(build, first)
    with finn_session(build.folder.finn_tmp):
        for index in range(first, last + 1):
            name = STEP_NAMES[index]
            tool = TOOL_STEPS.get(name)
            if tool and shutil.which(tool) is None and _needs_tool(name, model) and cfg.stop_step is None:
                build.summary.stopped_before = name
                build.summary.stop_reason = f"{tool} not on PATH"
                log(f"[{index + 1}/{len(STEPS)}] {name}: needs {tool}, which is not on PATH: stopping here "
                    f"(everything up to code generation is in {cfg.out})")
                break
            log(f"[{index + 1}/{len(STEPS)}] {name} ...", end="", flush=True)
            model = _run_step(build, index, model, log)
    build.summary.completed = [n for n in STEP_NAMES if n in build.summary.steps]
    build.folder.write_summary(build.summary)
    return build.summary


def _step_range(cfg: BuildConfig) -> tuple[int, int]:
    first = STEP_NAMES.index(cfg.start_step) if cfg.start_step else 0
    last = STEP_NAMES.index(cfg.stop_step) if cfg.stop_step else len(STEPS) - 1
    if first > last:
        raise ConfigError(f"start step {cfg.start_step} comes after stop step {cfg.stop_step}")
    return first, last


def _start(build: Build, first: int) -> ModelWrapper | None:
    """A fresh build checks its inputs and output folder; a resumed one loads the model of the step before `first`,
    drops the later steps' models and keeps what the earlier steps recorded. Returns the model to start from."""
    cfg, folder = build.cfg, build.folder
    if first == 0 and cfg.out.exists() and any(cfg.out.iterdir()) and not cfg.overwrite:
        raise ConfigError(f"{cfg.out}: output folder is not empty (use --overwrite, or --start-step to resume)")
    if first == 0 and cfg.out.exists() and cfg.overwrite:
        shutil.rmtree(cfg.out)
    if first == 0 and not cfg.checkpoint.is_file():
        raise ConfigError(f"{cfg.checkpoint}: checkpoint not found")
    folder.intermediate.mkdir(parents=True, exist_ok=True)
    model = None
    if first > 0:
        previous = folder.step_model_path(first - 1, STEP_NAMES[first - 1])
        if not previous.is_file():
            raise ConfigError(f"{previous}: cannot resume at {cfg.start_step}, the previous step's model is missing")
        model = ModelWrapper(str(previous))
        folder.drop_models_from(first)  # the models of the steps about to run again
        if folder.summary_path.is_file():
            build.summary = folder.summary
            build.summary.stopped_before = build.summary.stop_reason = None
    build.summary.board, build.summary.clock_ns = asdict(build.board), build.clock_ns
    build.summary.config = _jsonable(asdict(cfg))
    return model


def _run_step(build: Build, index: int, model: ModelWrapper | None, log) -> ModelWrapper:
    """Step number `index`, FINN's output into finn.log; saves its model, timing and notes."""
    name, step = STEPS[index]
    t0 = time.time()
    try:
        with _finn_output_to(build.folder.path / LOG):
            print(f"==== {name}", flush=True)
            model = step(model, build)
    except FrdError:
        log(" failed")
        raise
    times = build.summary.steps
    times[name] = round(time.time() - t0, 2)
    model.save(str(build.folder.step_model_path(index, name)))
    log(f" {times[name]:.1f} s")
    for note in build.notes:
        log(f"  note: {note}")
    build.summary.notes.extend(build.notes)
    build.notes.clear()
    write_json(build.folder.path / TIMES, times)
    return model


@contextlib.contextmanager
def _finn_output_to(path: Path):
    """Send what FINN (and qonnx, Brevitas, torch) print, warn and log to `path` instead of the terminal."""
    finn_logger = logging.getLogger("finn_logger")
    with open(path, "a") as stream, contextlib.redirect_stdout(stream), contextlib.redirect_stderr(stream):
        handler = logging.StreamHandler(stream)
        finn_logger.addHandler(handler)
        propagate, finn_logger.propagate = finn_logger.propagate, False
        try:
            yield
        finally:
            finn_logger.removeHandler(handler)
            finn_logger.propagate = propagate


def _needs_tool(step: str, model) -> bool:
    """hls_ipgen only needs Vitis HLS when HLS layers are left."""
    if step != "hls_ipgen" or model is None:
        return True
    return has_hls_layers(model)


def _jsonable(d: dict) -> dict:
    return {k: str(v) if isinstance(v, Path) else v.value if isinstance(v, Enum) else v for k, v in d.items()}
