"""The Siamese student as one all-RTL accelerator: FIFOs sized by simulation, then real pairs streamed through the
stitched RTL (both dates, random backpressure on every port) and compared with the PyTorch student's integers.
The 256x256 build is in test_siamese_tile256.py."""

import json
import math

import pytest

from frd_q.config import DataSource
from frd_q.data.dataset import iter_tiles, load_pairs, scan_root
from sim.hil import stream_tile

pytestmark = pytest.mark.hil


def _sized_build(tmp_path_factory, checkpoint, tile, sizing):
    from hw.flow import BuildConfig, run_flow

    out = tmp_path_factory.mktemp("sized") / f"zcu104_{tile}"
    return out, run_flow(BuildConfig(checkpoint=checkpoint, board="ZCU104", out=out, tile=tile, fifo_sizing=sizing),
                         log=lambda *a, **k: None)


@pytest.fixture(scope="module")
def siamese_64(tmp_path_factory, tiny_checkpoint):
    """The tiny Siamese W4A4 student built for 64x64 crops, FIFOs sized by the flow's search."""
    return _sized_build(tmp_path_factory, tiny_checkpoint, 64, "search")


def _tiles(real_cd, size, n):
    pairs = load_pairs(scan_root(DataSource(root=str(real_cd))))
    tiles = []
    for key, a, b in iter_tiles(pairs, size):
        if len(tiles) == n:
            break
        tiles.append((key, a, b))
    return tiles


def test_build_is_all_rtl_with_sized_fifos(siamese_64):
    out, summary = siamese_64
    assert summary.hdl["hls_layers"] == []
    record = json.loads((out / "fifo_sizing.json").read_text())
    assert summary.fifo_sizing["sized"] and record["deep"] > 0
    for row in record["fifos"]:
        scaled = max(row["finn_depth"], math.ceil(record["factor"] * row["occupancy"]) + record["margin"])
        assert row["depth"] == scaled or (row["depth"] == row["finn_depth"] and not row["branch"])
        assert row["bits"] == row["depth"] * row["width"]
    assert record["total"]["bits"] == sum(r["bits"] for r in record["fifos"])
    # the skips wait for the deeper path: some FIFO holds far more than FINN's 2
    assert max(r["depth"] for r in record["fifos"]) > 100 and record["branch"] > 0
    assert [r["stall"] for r in record["runs"] if r.get("proof")] == [[0.3, 0.3], [0.6, 0.2]]
    assert all(r["outcome"] == "ok" for r in record["runs"] if r.get("proof"))
    # FINN's depth-2 FIFOs deadlock the U-Net, and so do the chosen depths scaled down far enough
    assert record["finn_depths"] == "deadlock"
    assert record["deadlock_factor"] is not None and record["deadlock_factor"] < record["factor"] <= 1
    assert record["bits_at"][f"x{record['deadlock_factor']:.4g}"] < record["total"]["bits"]


@pytest.mark.parametrize("in_stall,out_stall,seed", [(0.0, 0.0, 1), (0.3, 0.5, 7)])
def test_real_crops_are_bit_exact_under_backpressure(siamese_64, real_cd, in_stall, out_stall, seed):
    out, _ = siamese_64
    for key, a, b in _tiles(real_cd, 64, 2):
        r = stream_tile(out, a, b, in_stall, out_stall, seed)  # the simulator the flow compiled
        assert r["elements"] >= 64 * 64 and r["mismatches"] == 0, (key, r)


def test_verify_runs_the_sized_siamese_build_end_to_end(siamese_64, real_cd):
    from sim.verify import verify

    out, _ = siamese_64
    report = verify(out, real_cd, limit=2, levels=("torch", "rtl"), in_stall=0.3, out_stall=0.3)
    assert report["rtl"]["end_to_end"] and report["rtl"]["python_only"] == []
    for r in report["levels"]:
        assert r["tiles"] == 2 and r["mismatches"] == 0 and r["first_layer"] is None, r
