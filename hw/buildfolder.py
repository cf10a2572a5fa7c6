"""A flows/build.py output folder: where each of its files lives, and its summary.json as typed data.

    folder = BuildFolder("build/zcu104")           # raises naming summary.json when it is not a build folder
    folder.summary.tile, folder.summary.hw_checkpoint, folder.summary.fifos_sized
    folder.model("streamline")                     # intermediate/NN_streamline.onnx (the latest such file)
    folder.partition_model()                       # the accelerator's python-executable hardware-layer graph
    folder.generated_model()                       # the graph whose HDL is in hdl/ (after FIFO sizing if it ran)

Every reader of a build (checks, simulation, synthesis, the deployed-model runner, the sweep) goes through this
class; the flow (hw.flow) writes through it. Layout:

    summary.json            BuildSummary: board, clock, config, per-step seconds, what each step recorded
    time_per_step.json      the step timings so far (written after every step)
    finn.log                what FINN, qonnx, Brevitas and torch printed
    model.pt, model.onnx    the tie-free checkpoint the hardware is built from, and its QONNX export
    intermediate/NN_<step>.onnx   the model after step number NN
    dataflow_parent.onnx, partitions/   the host graph and the accelerator partition
    folding_config.json, estimates.json/.md, fifo_sizing.json, resources.json/.md
    hdl/<layer>/, hdl/filelist.txt      generated sources
    sim/                    Verilator sources, tops, run folders and the binary/result cache
    synth/                  Yosys results (hw.synth)
    finn_tmp/               FINN's build directory (FINN_BUILD_DIR inside hw.finn_env.finn_session)
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import ClassVar

from frd_q.errors import ConfigError
from frd_q.fsutil import write_json

SUMMARY = "summary.json"
TIMES = "time_per_step.json"
LOG = "finn.log"


@dataclass
class BuildSummary:
    """summary.json. The flow fills it step by step; `None` means the step that records it has not run."""

    board: dict = field(default_factory=dict)  #: the catalogue entry (hw.boards.Board as a dict)
    clock_ns: float = 0.0
    config: dict = field(default_factory=dict)  #: hw.flow.BuildConfig as a dict
    steps: dict[str, float] = field(default_factory=dict)  #: seconds per completed step
    completed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  #: messages the steps printed for the user
    stopped_before: str | None = None  #: the first step a missing Xilinx tool kept from running
    stop_reason: str | None = None
    hw_checkpoint: str | None = None  #: export: the tie-free checkpoint (model.pt)
    tie_removal: dict | None = None  #: export: frd_q.export.ties report
    threshold_ties: dict | None = None  #: convert_to_hw: thresholds close to an integer, per layer
    folding: dict | None = None  #: folding: how PE/SIMD were chosen, fits, limited_by, ...
    estimates: dict | None = None  #: estimates: totals, utilization, fps, per-layer figures
    hdl: dict | None = None  #: codegen: files, rtl_layers, hls_layers
    fifo_sizing: dict | None = None  #: fifo_sizing: sized or why not, mode, totals
    resources: dict | None = None  #: fifo_sizing: frd_q's resource model of the whole accelerator, FIFOs included

    source: ClassVar[str] = SUMMARY  #: the file it was read from, for error messages

    def _need(self, section: dict, key: str, what: str):
        if key not in section:
            raise ConfigError(f"{self.source}: no {what} (not the summary of a finished flows/build.py build)")
        return section[key]

    @property
    def tile(self) -> int:
        return int(self._need(self.config, "tile", "config.tile"))

    @property
    def board_name(self) -> str:
        return self._need(self.board, "name", "board.name")

    @property
    def fifos_sized(self) -> bool:
        return bool(self.fifo_sizing and self.fifo_sizing.get("sized"))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict, where: str = SUMMARY) -> BuildSummary:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{where}: unknown keys {unknown} (written by another frd_q version?)")
        summary = cls(**data)
        summary.source = where
        return summary


class BuildFolder:
    def __init__(self, path: str | Path, must_exist: bool = True):
        self.path = Path(path)
        if must_exist and not self.summary_path.is_file():
            raise ConfigError(f"{self.summary_path}: not found (is {self.path} a flows/build.py output folder?)")

    def __repr__(self) -> str:
        return f"BuildFolder({str(self.path)!r})"

    # -- files -----------------------------------------------------------------------------------------------
    @property
    def summary_path(self) -> Path:
        return self.path / SUMMARY

    @property
    def intermediate(self) -> Path:
        return self.path / "intermediate"

    @property
    def hdl(self) -> Path:
        return self.path / "hdl"

    @property
    def sim(self) -> Path:
        return self.path / "sim"

    @property
    def sim_cache(self) -> Path:
        return self.sim / "cache"

    @property
    def finn_tmp(self) -> Path:
        return self.path / "finn_tmp"

    @property
    def estimates_path(self) -> Path:
        return self.path / "estimates.json"

    @property
    def fifo_sizing_path(self) -> Path:
        return self.path / "fifo_sizing.json"

    @property
    def resources_path(self) -> Path:
        return self.path / "resources.json"

    def step_model_path(self, index: int, step: str) -> Path:
        """Where the flow saves the model after step number `index` (0-based) named `step`."""
        return self.intermediate / f"{index:02d}_{step}.onnx"

    @staticmethod
    def step_index(path: Path) -> int:
        return int(path.name[:2])

    # -- models ----------------------------------------------------------------------------------------------
    def model(self, step: str) -> Path:
        """The model saved after `step` (the latest, should a resumed build hold two)."""
        found = sorted(self.intermediate.glob(f"*_{step}.onnx"))
        if not found:
            raise ConfigError(f"{self.path}: no {step} model (run flows/build.py through the {step} step)")
        return found[-1]

    def has_model(self, step: str) -> bool:
        return any(self.intermediate.glob(f"*_{step}.onnx"))

    def partition_model(self) -> Path:
        """The accelerator graph as hardware layers before backends were chosen (python-executable)."""
        return self.model("dataflow_partition")

    def generated_model(self) -> Path:
        """The graph whose HDL is in hdl/: after FIFO sizing if the build sized its FIFOs, else after codegen."""
        return self.model("fifo_sizing") if self.has_model("fifo_sizing") else self.model("codegen")

    def latest_model(self, steps: list[str]) -> Path | None:
        """The model of the first of `steps` that the build has saved, or None."""
        for step in steps:
            if self.has_model(step):
                return self.model(step)
        return None

    # -- summary ---------------------------------------------------------------------------------------------
    @property
    def summary(self) -> BuildSummary:
        try:
            data = json.loads(self.summary_path.read_text())
        except FileNotFoundError:
            raise ConfigError(f"{self.summary_path}: not found (is {self.path} a flows/build.py output "
                              "folder?)") from None
        except json.JSONDecodeError as e:
            raise ConfigError(f"{self.summary_path}: not valid JSON ({e.msg}, line {e.lineno})") from None
        return BuildSummary.from_dict(data, str(self.summary_path))

    def write_summary(self, summary: BuildSummary) -> None:
        write_json(self.summary_path, summary.to_dict())

    def drop_models_from(self, index: int) -> None:
        """Delete the saved models of step `index` and later (they are about to be made again)."""
        for stale in self.intermediate.glob("*.onnx"):
            if self.step_index(stale) >= index:
                stale.unlink()

    def seed_from(self, other: BuildFolder, keep_steps: list[str]) -> None:
        """Start this (empty) folder from `other`'s results of the steps `keep_steps` (the first steps of the flow):
        its top-level files and the models of those steps, with a summary holding what those steps recorded and
        paths pointing here; the flow then resumes at the step after them."""
        self.intermediate.mkdir(parents=True)
        for f in other.path.iterdir():
            if f.is_file() and f.name not in (SUMMARY, TIMES, LOG):
                shutil.copy(f, self.path / f.name)
        for f in sorted(other.intermediate.glob("*.onnx")):
            if self.step_index(f) < len(keep_steps):
                shutil.copy(f, self.intermediate / f.name)
        old = other.summary
        summary = BuildSummary(board=old.board, clock_ns=old.clock_ns, config=old.config,
                               steps={k: v for k, v in old.steps.items() if k in keep_steps},
                               hw_checkpoint=old.hw_checkpoint and old.hw_checkpoint.replace(str(other.path), str(self.path)),
                               tie_removal=old.tie_removal, threshold_ties=old.threshold_ties)
        self.write_summary(summary)
