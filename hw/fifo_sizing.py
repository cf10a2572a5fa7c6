"""FIFO depths for a branching accelerator, found by simulating it in Verilator (FINN's own sizing runs Vivado XSI).

    result = size_fifos(model, build_dir, part, clock_ns)   # sets every StreamingFIFO's depth, regenerates its HDL

A Siamese U-Net forks at every DuplicateStreams and joins at every |A - B| and concat. With FINN's shallow FIFOs
(depth 2) a join waits for the slow branch while the fast branch's FIFO is full and stalls the fork: deadlock.
The method, on one compiled simulator whose FIFO occupancies are capped at run time (hw.rtlsim.stitch probe/limit):

1. room for everything: every FIFO is generated `frames` frames of its stream deep (+2), so no FIFO can refuse
   a beat and the run cannot deadlock; `frames` frames of random pixels (the schedules of these layers do not
   depend on the data) stream through without stalls, and each FIFO's highest occupancy occ comes back from
   fifo.sv's `maxcount`. That bounds what the schedule ever needs, but generously: with room everywhere the
   encoder races ahead of the decoder and the skip FIFOs fill up with almost all of both frames;
2. shrink: depths d(s) = max(FINN's depth, ceil(s * occ) + margin) for a common factor s, searched by halving
   and then bisection: the smallest s whose run neither deadlocks (no handshake on any port for twice the
   slowest layer's cycles per frame) nor puts its frames further apart than `slack` times step 1 does (smaller
   skip FIFOs hold the encoder back and the next frame starts later). Below it, a second search finds the largest s
   that deadlocks (runs may then take as long as they need). Last, the FIFOs on straight chains (not downstream
   of a fork and upstream of a join: `branch_fifos`), which cannot deadlock the graph, are tried at FINN's depth
   and kept there if that costs no speed;
3. FINN's own depths (all 2) are run too, and recorded (they deadlock a U-Net);
4. the chosen depths are generated with FINN's StreamingFIFO_rtl.generate_hdl and the real design (no caps) is
   compiled and streamed `frames` frames under random valid/ready stalls on every port (two mixes); a stall is
   an error.

RATE (the flow's default) replaces steps 1-3 on a band of the tile's rows (`band_rows`, built by the flow):
1. paced: room everywhere, the sources offering one frame per `pace_slack` x the slowest layer's cycles (re-paced
   at the measured interval when FINN's cycle model is optimistic), so each FIFO's highest occupancy is what the
   schedule needs, not how far the encoder can race ahead;
1b. window backlog: when the FIFOs behind the window generators (K*K repeated pixels) hold `window_share` of those
   bits, one more paced run caps them at `window_cap` windows, and the backlog forms in front of the generator;
2. depth = occupancy + margin, proved capped under stalls; the depths then go to the full tile's FIFOs by name.

Total FIFO memory (bits = depth x padded width) is reported beside FINN's estimate for the same FIFOs
(StreamingFIFO's BRAM / URAM / LUT cost at the chosen depths); FINN's estimates step runs before InsertFIFO and
counts no FIFO.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import numpy as np

from frd_q.errors import FrdError
from hw.buildfolder import BuildFolder
from hw.graph import streamed_inputs
from hw.rtlsim.accelerator import Accelerator

#: fifo.sv's URAM read pipeline has 3 + (2**ABITS - 1) // 8192 stages but its output queue holds 16 reads: above
#: 65536 entries (ABITS 17) the pipeline outgrows the queue and the FIFO passes fewer than one beat per cycle (a
#: 2**20-deep one measured 0.13 beats/cycle here). Sized FIFOs deeper than this are built in BRAM instead.
URAM_FULL_RATE_DEPTH = 65536
PROOF_MIXES = ((0.3, 0.3), (0.6, 0.2))  #: (source, sink) stall probabilities of the proof runs


class FifoSizing(str, Enum):
    """How the flow's fifo_sizing step sizes the FIFOs of a branching graph."""

    RATE = "rate"  #: occupancy with the inputs paced at the design's frame rate, on a band of rows (the default)
    SEARCH = "search"  #: the smallest full-speed depths (and the depths that deadlock)
    ROOM = "room"  #: one run: the occupancy with room everywhere, no search
    OFF = "off"  #: FINN's depth-2 FIFOs (a branching graph can deadlock)


class SizingError(FrdError):
    """The sized design stalled, or the graph cannot be simulated."""


def branches(model) -> bool:
    """Whether the graph forks or joins (a node with two streamed inputs or two outputs)."""
    return any(len(streamed_inputs(model, n)) > 1 or len(n.output) > 1 for n in model.graph.node)


def why_not_end_to_end(acc) -> str | None:
    """Why the accelerator `acc` (hw.rtlsim.accelerator.Accelerator) cannot run end to end, or None when it can: it
    needs RTL for every layer, and a branching graph needs FIFOs sized by this module (FINN's depth-2 FIFOs
    deadlock it)."""
    hls = acc.hls_layers()
    if hls:
        return f"{len(hls)} layers without an RTL backend (e.g. {', '.join(hls[:3])})"
    sized = acc.folder.summary_path.is_file() and acc.folder.summary.fifos_sized
    if branches(acc.model) and not sized:
        return "a branching graph with FINN's unsized FIFOs (built with --fifo-sizing off)"
    return None


def branch_fifos(model) -> set[str]:
    """The FIFOs that can deadlock the graph when too shallow: downstream of a fork (a node with two outputs) and
    upstream of a join (a node with two streamed inputs). The others sit on straight chains, where a full FIFO
    only holds its producer back."""
    def reach(starts, step) -> set[str]:
        seen, todo = set(), list(starts)
        while todo:
            node = todo.pop()
            if node is not None and node.name not in seen:
                seen.add(node.name)
                todo += step(node)
        return seen

    nodes = list(model.graph.node)
    after = reach([c for n in nodes if len(n.output) > 1 for o in n.output for c in model.find_consumers(o) or []],
                  lambda n: [c for o in n.output for c in model.find_consumers(o) or []])
    before = reach([model.find_producer(i) for n in nodes if len(streamed_inputs(model, n)) > 1 for i in streamed_inputs(model, n)],
                   lambda n: [model.find_producer(i) for i in streamed_inputs(model, n)])
    return {n.name for n in fifo_nodes(model) if n.name in after and n.name in before}


def window_fifos(model) -> dict[str, int]:
    """The FIFOs between a sliding-window generator that repeats pixels (kernel larger than its stride) and the
    layer it feeds, through width converters and FIFOs only, each with the beats of one window there. They carry
    every pixel up to K*K times, so a backlog that waits there costs up to K*K times the memory it would cost in
    front of the generator."""
    from qonnx.custom_op.registry import getCustomOp

    out = {}
    for node in model.graph.node:
        if not node.op_type.startswith("ConvolutionInputGenerator"):
            continue
        swg = getCustomOp(node)
        if np.prod(swg.get_nodeattr("ConvKernelDim")) <= np.prod(swg.get_nodeattr("Stride")):
            continue
        consumer = model.find_consumer(node.output[0])
        while consumer is not None and consumer.op_type.startswith(("StreamingFIFO", "StreamingDataWidthConverter")):
            if consumer.op_type.startswith("StreamingFIFO"):
                inst = getCustomOp(consumer)
                folded, normal = inst.get_folded_output_shape(), inst.get_normal_output_shape()
                out[consumer.name] = int(np.prod(folded[:-1]) // np.prod(normal[:-1]))
            consumer = model.find_consumer(consumer.output[0])
    return out


def fifo_nodes(model) -> list:
    return [n for n in model.graph.node if n.op_type.startswith("StreamingFIFO")]


def set_depths(model, hdl_dir: Path, depths: dict[str, int], part: str, clock_ns: float,
               ram_style: dict[str, str] | None = None) -> None:
    """Set the FIFOs' depths (and RAM styles) in `model` and regenerate their wrappers (FINN's generate_hdl) into
    hdl_dir/<node>/."""
    from qonnx.custom_op.registry import getCustomOp

    for node in fifo_nodes(model):
        if node.name not in depths:
            continue
        inst = getCustomOp(node)
        inst.set_nodeattr("depth", int(depths[node.name]))
        if ram_style is not None:
            inst.set_nodeattr("ram_style", ram_style[node.name])
        inst.generate_hdl(model, part, clock_ns)
        wrapper = Path(inst.get_nodeattr("code_gen_dir_ipgen")) / f"{inst.get_nodeattr('gen_top_module')}.v"
        shutil.copy(wrapper, Path(hdl_dir) / node.name / wrapper.name)


def random_frames(acc, frames: int, seed: int) -> list[list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    shapes = []
    for inp in acc.model.graph.input:
        consumer = acc.model.find_consumer(inp.name)
        shapes.append((acc.insts[consumer.name].get_normal_input_shape(0), acc.model.get_tensor_datatype(inp.name)))
    return [[rng.integers(dt.min(), dt.max() + 1, size=s).astype(np.float32) for s, dt in shapes]
            for _ in range(frames)]


def _depths(occupancy: dict[str, int], floor: dict[str, int], s: float, margin: int,
            shallow: set[str] = frozenset()) -> dict[str, int]:
    """s times each FIFO's occupancy with room everywhere, plus the margin; FINN's depth for those in `shallow`."""
    return {n: floor[n] if n in shallow else max(floor[n], int(np.ceil(s * occ)) + margin)
            for n, occ in occupancy.items()}


@dataclass(frozen=True)
class SizingSettings:
    """How hard the sizing looks (the defaults are the flow's)."""

    mode: FifoSizing = FifoSizing.RATE  #: RATE: paced run + capped proofs; SEARCH: steps 1-4; ROOM: step 1 + one proof
    frames: int = 2  #: frames streamed per run (at least two: the interval between frames is the speed criterion)
    pace_slack: float = 1.03  #: RATE: the sources offer one frame per this many times the slowest layer's cycles
    band_rows: int = 64  #: RATE: rows of the band built and simulated in place of a taller tile (0: the whole tile)
    window_share: float = 0.25  #: RATE: when window FIFOs hold at least this share of the paced occupancy (bits),
    #: one more paced run caps them at two windows each, which moves that backlog in front of the window generator
    window_cap: int = 2  #: RATE: windows a window FIFO keeps when its backlog is moved
    margin: int = 2  #: entries added to every scaled occupancy
    slack: float = 1.05  #: a run is full speed when its frame interval is within this factor of the room run's
    steps: int = 6  #: halving/bisection steps per factor search
    seed: int = 0  #: random pixels and stalls

    def __post_init__(self):
        try:
            object.__setattr__(self, "mode", FifoSizing(self.mode))
        except ValueError:
            raise SizingError(f"FIFO sizing mode {self.mode!r}: choose one of "
                              f"{', '.join(m.value for m in FifoSizing)}") from None
        if self.frames < 2:
            raise SizingError("FIFO sizing needs at least two frames (it compares the interval between frames)")

    @property
    def search(self) -> bool:
        return self.mode is FifoSizing.SEARCH

    @property
    def rate(self) -> bool:
        return self.mode is FifoSizing.RATE


def chosen_styles(styles: dict[str, str], chosen: dict[str, int], uram: bool) -> dict[str, str]:
    """RAM style per FIFO at its chosen depth: FINN's "auto" (fifo.sv picks SRL, LUTRAM, BRAM or, above 2028
    entries, URAM), except block RAM above URAM_FULL_RATE_DEPTH entries (fifo.sv's URAM read pipeline is slower
    than one beat per cycle there) and on parts without URAM (where the cost model would count URAM the part lacks)."""
    from finn.util.resource_models import _resolve

    out = {}
    for n, style in styles.items():
        if style == "auto" and (chosen[n] > URAM_FULL_RATE_DEPTH or not uram):
            # what fifo.sv would choose for this depth (width does not matter above 33 entries but for < 5 bits)
            style = "block" if _resolve(chosen[n], 64, "auto") == "ultra" else "auto"
        out[n] = style
    return out


def size_fifos(model, build_dir: str | Path, part: str, clock_ns: float, settings: SizingSettings = SizingSettings(),
               cache=None, log=None, apply_to=None, uram: bool = True) -> dict:
    """Size every FIFO of the code-generated `model` (changed in place, HDL regenerated); returns the record.
    In ROOM mode every FIFO gets its occupancy with room everywhere (+ margin), under which the schedule is the one
    just simulated, and one proof run follows. In RATE mode the occupancy comes from a run whose sources are paced
    at the design's frame rate, and the proofs run on the same simulator with the FIFOs capped at the chosen depths.
    `apply_to` = (model, hdl folder): also give those depths to that model's FIFOs of the same names (the full
    tile, when `model` is a band of its rows) and regenerate their HDL there; the record then describes it.
    `uram`: whether the part has UltraRAM (without it, FIFOs too deep for LUTRAM go to block RAM)."""
    sizer = FifoSizer(model, build_dir, part, clock_ns, settings, cache, log)
    if settings.rate:
        sizer.paced_run()
        sizer.move_window_backlog()
        chosen = sizer.depths(1.0)
        sizer.capped_proofs(chosen)
        styles = chosen_styles(sizer.styles, chosen, uram)
        set_depths(model, sizer.folder.hdl, chosen, part, clock_ns, styles)
        if apply_to is None:
            return sizer.record(chosen, styles, 1.0, None, None, "not run")
        full, hdl = apply_to
        full_insts = same_fifos(sizer.insts, full)  # before any depth is given to them
        set_depths(full, hdl, chosen, part, clock_ns, styles)
        return sizer.record(chosen, styles, 1.0, None, None, "not run", on=(full, full_insts))
    sizer.room_run()
    factor, slower = sizer.full_speed_factor()
    chosen = sizer.depths(factor)
    if settings.search:
        chosen = sizer.straight_chains_at_finn_depth(factor, chosen)
    deadlock = sizer.deadlock_factor(slower)
    finn = sizer.finn_depths_run() if settings.search else "not run"
    styles = chosen_styles(sizer.styles, chosen, uram)
    sizer.prove(chosen, styles)
    return sizer.record(chosen, styles, factor, slower, deadlock, finn)


class FifoSizer:
    """The state of one sizing: the graph, one simulator with capped FIFO occupancies, and the runs so far."""

    def __init__(self, model, build_dir: str | Path, part: str, clock_ns: float, settings: SizingSettings,
                 cache=None, log=None):
        from qonnx.custom_op.registry import getCustomOp

        self.model, self.part, self.clock_ns, self.settings = model, part, clock_ns, settings
        self.folder = BuildFolder(build_dir, must_exist=False)
        self.cache, self.log = cache, log
        self.say = log or (lambda *a: None)
        self.t0 = time.time()
        self.insts = {n.name: getCustomOp(n) for n in fifo_nodes(model)}
        self.finn = {n: int(i.get_nodeattr("depth")) for n, i in self.insts.items()}
        self.branch = branch_fifos(model)
        self.styles = {n: i.get_nodeattr("ram_style") for n, i in self.insts.items()}
        frames = settings.frames
        room = {n: frames * int(np.prod(i.get_folded_output_shape()[:-1])) + 2 for n, i in self.insts.items()}
        # BRAM style for the search: fifo.sv's URAM read pipeline grows by one stage per 8192 entries, which makes
        # a frame-deep FIFO slow to simulate (and to stream: its output queue holds 16 reads); the chosen depths
        # are then generated in their own style and proved
        set_depths(model, self.folder.hdl, room, part, clock_ns, dict.fromkeys(self.insts, "block"))
        self.acc = Accelerator(self.folder.path, model=model, cache=cache, log=log)
        hls = self.acc.hls_layers()
        if hls:
            raise SizingError(f"{len(hls)} layers have no RTL ({', '.join(hls[:3])}...): the accelerator cannot be "
                              "simulated to size its FIFOs")
        self.stimulus = random_frames(self.acc, frames, settings.seed)
        # deadlocked: no handshake on any port for two frames' worth of the slowest layer's cycles (a capped design
        # may legitimately hold its inputs back until its first output, almost a frame of latency later)
        self.idle = 2 * self.acc.expected_cycles() + 10_000
        self.runs: list[dict] = []
        self.first: dict | None = None
        self.occupancy: dict[str, int] = {}
        self.budget: int | None = None
        self.pace = 0.0
        self.backlog: list[dict] = []  #: RATE: the FIFOs a too-fast paced run overfilled, and their consumers
        self.window: dict = {}  #: RATE: window FIFOs, their share of the paced occupancy, whether it was moved

    def attempt(self, depths: dict[str, int] | None, what: str, budget: int | None = None, pace: float = 0.0,
                stall: tuple[float, float] = (0.0, 0.0)) -> dict:
        """One run of the stimulus with the FIFOs capped at `depths` (None: uncapped), recorded."""
        _, stats = self.acc.simulate_graph(self.stimulus, *stall, seed=self.settings.seed, probe=True,
                                           allow_stall=True, limits=depths, idle=self.idle, max_cycles=budget,
                                           pace=pace)
        outcome = {"deadlock": "deadlock", "timeout": "slower"}.get(stats.get("error"), "ok")
        ends = stats["frame_end"][0]
        run = {"what": what, "outcome": outcome, "cycles": stats["cycles"], "wall_s": stats["wall_s"],
               "interval": ends[-1] - ends[-2] if len(ends) > 1 else None,
               "bits": self.bits(depths, depths) if depths else None}
        self.say(f"fifo sizing, {what}: {outcome} after {run['cycles']} cycles ({run['wall_s']:.0f} s)")
        return run | {"probe": stats["probe"]}

    def room_run(self) -> None:
        """Step 1: every FIFO deep enough for all frames; each FIFO's highest occupancy."""
        first = self.attempt(None, "room for everything")
        if first["outcome"] != "ok":
            raise SizingError(f"{self.folder.path}: the design stalls even with every FIFO {self.settings.frames} "
                              "frames deep")
        self.first = first
        self.occupancy = {n: int(first["probe"][n]) for n in self.insts}
        self.runs.append(first)
        self.budget = 3 * first["cycles"]  # far slower than the run with room: stop there, it fails the search anyway

    def input_beats(self) -> int:
        """Beats per frame on each graph input (the dates stream in step)."""
        beats = []
        for inp in self.acc.model.graph.input:
            consumer = self.acc.model.find_consumer(inp.name)
            beats.append(int(np.prod(self.acc.insts[consumer.name].get_folded_input_shape(0)[:-1])))
        return max(beats)

    def paced_run(self) -> None:
        """RATE step 1: room everywhere, the sources paced a little slower than the slowest layer, so no layer
        builds a backlog in front of a slower one: each FIFO's highest occupancy is what the schedule needs (the
        lag of a skip behind the deeper path, the burst of a folded layer), not how far the encoder can race ahead.
        The pace starts at `pace_slack` x FINN's cycles per frame; when the frames come out further apart than
        that (FINN's cycle model misses a slower layer), the run is repeated at `pace_slack` x the measured
        interval, or a backlog would form in front of that layer (at most twice)."""
        beats = self.input_beats()
        cycles_per_frame = self.acc.expected_cycles()
        previous = None
        for attempt in range(3):
            self.pace = self.settings.pace_slack * cycles_per_frame / beats
            run = self.attempt(None, f"room everywhere, sources paced at {self.pace:.3f} cycles per beat",
                               pace=self.pace)
            if run["outcome"] != "ok":
                raise SizingError(f"{self.folder.path}: the design stalls even with every FIFO "
                                  f"{self.settings.frames} frames deep")
            self.runs.append(run)
            if previous is not None:  # where the too-fast run piled up beats: in front of the layers FINN misjudged
                excess = {n: previous["probe"][n] - run["probe"][n] for n in self.insts}
                self.backlog = [{"fifo": n, "consumer": _neighbour(self.model, n, "consumer"), "excess_beats": int(e)}
                                for n, e in sorted(excess.items(), key=lambda kv: -kv[1])[:3] if e > 0]
            if run["interval"] is None or run["interval"] <= 1.01 * self.pace * beats or attempt == 2:
                break
            previous = run
            cycles_per_frame = run["interval"]  # the design is slower than the pace: pace it at its own rate
        self.first = run
        self.occupancy = {n: int(run["probe"][n]) for n in self.insts}

    def bits(self, occupancy: dict[str, int], names) -> int:
        return sum(occupancy[n] * self.insts[n].get_instream_width_padded() for n in names)

    def move_window_backlog(self) -> None:
        """RATE step 1b: a window generator runs ahead of the slower layer it feeds whenever its input comes in a
        burst (a row after a pooling or an upsampling), and the paced run keeps that backlog where it formed: in the
        window FIFOs, K*K times the bits the same pixels take in front of the generator. When those FIFOs hold at
        least `window_share` of the bits, the paced run is repeated with each capped at `window_cap` windows
        (never below FINN's depth); the generator then waits, and the backlog forms in front of it. Kept when that
        run is as fast as the uncapped one (its interval within 1 %); otherwise the first occupancies stay."""
        windows = window_fifos(self.model)
        share = self.bits(self.occupancy, windows) / max(1, self.bits(self.occupancy, self.insts))
        self.window = {"fifos": len(windows), "share": round(share, 4), "moved": False}
        if not windows or share < self.settings.window_share:
            return
        caps = {n: max(self.finn[n], self.settings.window_cap * beats) for n, beats in windows.items()}
        run = self.attempt(caps, f"window FIFOs capped at {self.settings.window_cap} windows, sources paced at "
                                 f"{self.pace:.3f} cycles per beat", pace=self.pace)
        self.runs.append(run)
        if run["outcome"] != "ok" or run["interval"] is None or run["interval"] > 1.01 * self.first["interval"]:
            self.window["rejected"] = f"{run['outcome']}, interval {run['interval']} vs {self.first['interval']}"
            return
        moved = {n: int(run["probe"][n]) for n in self.insts}
        self.window |= {"moved": True, "bits_before": self.bits(self.occupancy, self.insts),
                        "bits_after": self.bits(moved, self.insts)}
        self.first, self.occupancy = run, moved

    def capped_proofs(self, chosen: dict[str, int]) -> None:
        """RATE step 2: the FIFOs capped at the chosen depths, the sources free-running, valid and ready withheld
        at random (PROOF_MIXES[0]) on every port: a deadlock is an error, and the interval between the two frames
        is recorded against the paced run's and FINN's cycles per frame. (The stalls take beats away only where a
        port runs near one beat per cycle; the accelerator's ports run far slower, so this run's interval is the
        free-running one.)"""
        stall = PROOF_MIXES[0]
        run = self.attempt(chosen, f"chosen depths, stalls {stall[0]}/{stall[1]}", stall=stall)
        run = {k: v for k, v in run.items() if k != "probe"} | {"stall": list(stall), "proof": True}
        if run["interval"] is not None:
            run["interval_vs_estimate"] = round(run["interval"] / self.acc.expected_cycles(), 4)
            run["interval_vs_paced"] = round(run["interval"] / self.first["interval"], 4)
        self.runs.append(run)
        if run["outcome"] != "ok":
            raise SizingError(f"{self.folder.path}: with the FIFOs at their paced occupancy + {self.settings.margin} "
                              f"the design {run['outcome']}s under stalls {stall[0]}/{stall[1]} after "
                              f"{run['cycles']} cycles")

    def depths(self, s: float, shallow: set[str] = frozenset()) -> dict[str, int]:
        return _depths(self.occupancy, self.finn, s, self.settings.margin, shallow)

    def full_speed(self, run: dict) -> bool:
        """No deadlock, and frames no further apart than `slack` times with room everywhere."""
        return run["outcome"] == "ok" and run["interval"] <= self.settings.slack * self.first["interval"]

    def shrink(self, accept, good: float, limit: int | None) -> tuple[float, float | None]:
        """(smallest factor found acceptable, largest found not acceptable), starting below the acceptable `good`
        by halving, then bisecting."""
        bad, f = None, good / 2
        for _ in range(self.settings.steps):
            run = self.attempt(self.depths(f), f"depths x{f:.4g}", limit)
            self.runs.append(run | {"factor": f})
            if accept(run):
                good = f
            else:
                bad = f
            if bad is None:
                f = good / 2
            elif good / bad < 1.1:
                break
            else:
                f = (good * bad) ** 0.5
        return good, bad

    def full_speed_factor(self) -> tuple[float, float | None]:
        """Step 2: the smallest common factor of the occupancies at full speed, and the largest found slower."""
        return self.shrink(self.full_speed, 1.0, self.budget) if self.settings.search else (1.0, None)

    def straight_chains_at_finn_depth(self, factor: float, chosen: dict[str, int]) -> dict[str, int]:
        """Straight-chain FIFOs cannot deadlock the graph: FINN's depth for them if that costs no speed."""
        straight = set(self.insts) - self.branch
        trial = self.attempt(self.depths(factor, straight), "straight chains at FINN's depth", self.budget)
        self.runs.append(trial)
        return self.depths(factor, straight) if self.full_speed(trial) else chosen

    def deadlock_factor(self, slower: float | None) -> float | None:
        """Below the slower factor, the largest that deadlocks (runs may take as long as they need)."""
        if slower is None or any(r.get("factor") == slower and r["outcome"] == "deadlock" for r in self.runs):
            return slower
        return self.shrink(lambda r: r["outcome"] != "deadlock", slower, None)[1]

    def finn_depths_run(self) -> str:
        """Step 3: FINN's own depths (they deadlock a U-Net)."""
        run = self.attempt(self.finn, "FINN's depths")
        self.runs.append(run)
        return run["outcome"]

    def prove(self, chosen: dict[str, int], styles: dict[str, str]) -> None:
        """Step 4: generate the chosen depths in their RAM styles and stream the uncapped design under stalls."""
        set_depths(self.model, self.folder.hdl, chosen, self.part, self.clock_ns, styles)
        acc = Accelerator(self.folder.path, model=self.model, cache=self.cache, log=self.log)
        seed = self.settings.seed
        for k, (s_in, s_out) in enumerate(PROOF_MIXES if self.settings.search else PROOF_MIXES[:1]):
            _, stats = acc.simulate_graph(self.stimulus, s_in, s_out, seed + 100 + k, allow_stall=True)
            self.runs.append({"what": f"proof, stalls {s_in}/{s_out}", "outcome": stats.get("error") or "ok",
                              "cycles": stats["cycles"], "wall_s": stats["wall_s"], "stall": [s_in, s_out],
                              "proof": True})
            self.say(f"fifo sizing, proof run with stalls {s_in}/{s_out}: {stats['cycles']} cycles")
            if stats.get("error"):
                raise SizingError(f"{self.folder.path}: the sized design stalled under stalls {s_in}/{s_out} after "
                                  f"{stats['cycles']} cycles (outputs taken {stats['taken']})")

    def record(self, chosen, styles, factor, slower, deadlock, finn_outcome: str, on: tuple | None = None) -> dict:
        """fifo_sizing.json: per FIFO its place, occupancy, depth and FINN's cost; totals; every run. `on`: (graph,
        its FIFO instances by name from same_fifos) to describe instead (the full tile whose FIFOs got the depths of
        this band's sizing)."""
        model, insts = on or (self.model, self.insts)
        branch = branch_fifos(model)
        rows = []
        for n, inst in insts.items():
            width = inst.get_instream_width_padded()
            rows.append({"fifo": n, "branch": n in branch, "from": _neighbour(model, n, "producer"),
                         "to": _neighbour(model, n, "consumer"), "width": width, "finn_depth": self.finn[n],
                         "occupancy": self.occupancy[n], "depth": chosen[n], "ram_style": styles[n],
                         "bits": chosen[n] * width, "finn_bram_18k": float(inst.bram_estimation(self.part)),
                         "finn_uram": float(inst.uram_estimation(self.part)),
                         "finn_lut": float(inst.lut_estimation(self.part))})
        total = {k: sum(r[k] for r in rows) for k in ("bits", "finn_bram_18k", "finn_uram", "finn_lut")}
        runs = [{k: v for k, v in run.items() if k != "probe"} for run in self.runs]
        st = self.settings
        method = ("Verilator: occupancy with room everywhere and the sources paced at the frame rate, proved with the "
                  "FIFOs capped there" if st.rate else "Verilator: occupancy with room everywhere, then the smallest "
                  "common fraction of it that neither deadlocks nor slows the stream")
        return {"method": method, "mode": st.mode.value, "pace_cycles_per_beat": self.pace or None,
                "backlog_at_finn_pace": self.backlog, "window_backlog": self.window or None,
                "expected_cycles": self.acc.expected_cycles(), "frames": st.frames, "margin": st.margin,
                "slack": st.slack, "factor": factor, "slower_factor": slower, "deadlock_factor": deadlock,
                "bits_at": {f"x{f:.4g}": r["bits"] for r in runs
                            if (f := r.get("factor")) is not None and f in (factor, slower, deadlock)},
                "finn_depths": finn_outcome, "fifos": rows, "total": total, "runs": runs,
                "branch": len(branch), "deep": sum(1 for r in rows if r["depth"] > r["finn_depth"]),
                "wall_s": round(time.time() - self.t0, 1)}


def same_fifos(band: dict, model) -> dict:
    """`model`'s FIFO instances by name, after checking that they are the band's (`band`: name -> instance):
    the same names and stream widths, so that the band's depths can be given to them."""
    from qonnx.custom_op.registry import getCustomOp

    other = {n.name: getCustomOp(n) for n in fifo_nodes(model)}
    mismatch = sorted(set(other) ^ set(band)) or [
        n for n in other if other[n].get_instream_width_padded() != band[n].get_instream_width_padded()]
    if mismatch:
        raise SizingError(f"the band and the full tile differ in their FIFOs ({', '.join(mismatch[:4])}): "
                          "size the whole tile (--fifo-sizing room or search)")
    return other


def _neighbour(model, fifo: str, which: str) -> str:
    node = next(n for n in model.graph.node if n.name == fifo)
    other = model.find_producer(node.input[0]) if which == "producer" else model.find_consumer(node.output[0])
    return other.name if other is not None else "(top)"
