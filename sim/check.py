"""Bit-exactness of the FINN hardware-layer graph against the PyTorch student, on real tiles.

    from sim.check import check_hw_graph
    result = check_hw_graph("build/ZCU104", "../shared/data/real_cd")
    result["mismatches"] == 0

The accelerator graph (the dataflow partition, before backends are chosen, executed in Python) receives each
tile's raw uint8 pixels and returns the head's integer accumulators; frd_q.export.head_accumulators computes the
same integers from the Brevitas model. Every tile of every pair is compared (ragged image edges mirrored, as in
training and inference). `python flows/check_hw.py --build DIR --data ROOT` is the command-line twin.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from frd_q.config import DataSource
from frd_q.data.dataset import iter_tiles, load_pairs, scan_root
from frd_q.errors import ConfigError
from frd_q.export.reference import head_accumulators
from hw.runner import BuildRunner


def check_hw_graph(build_dir: str | Path, data: str | Path, list_file: str | None = None, limit: int | None = None,
                   log=None) -> dict:
    runner = BuildRunner(build_dir)  # the partition graph and the tie-free weights the hardware was built from
    pairs = load_pairs(scan_root(DataSource(root=str(data), list=list_file)))
    result = {"tiles": 0, "elements": 0, "mismatches": 0, "first_mismatch": None, "max_abs_diff": 0}
    for key, a, b in iter_tiles(pairs, runner.tile):
        if limit is not None and result["tiles"] >= limit:
            break
        ref = head_accumulators(runner.model, a, b)
        out = runner.accumulators(a, b)
        if out.shape != ref.shape:
            raise ConfigError(f"{key}: accelerator output {out.shape} vs PyTorch {ref.shape}")
        diff = out.astype(np.int64) != ref
        result["tiles"] += 1
        result["elements"] += int(diff.size)
        result["mismatches"] += int(diff.sum())
        if diff.any():
            result["max_abs_diff"] = max(result["max_abs_diff"], int(np.abs(out - ref).max()))
            result["first_mismatch"] = result["first_mismatch"] or key
        if log:
            log(f"{key}: {int(diff.sum())} of {diff.size} differ")
    return result
