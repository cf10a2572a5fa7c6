"""The tiny Siamese student as one all-RTL accelerator at the real tile size: built for 256x256 with the "room" FIFO
sizing (one sizing run; the search takes about ten minutes here), the first real tile of real_cd streamed through the
stitched RTL under backpressure, compared with the PyTorch student's integers. A file of its own so that it runs
beside the 64x64 tests of test_siamese_rtl.py on another pytest worker."""

import pytest

from frd_q.config import DataSource
from frd_q.data.dataset import iter_tiles, load_pairs, scan_root
from hw.flow import BuildConfig, run_flow
from sim.hil import stream_tile

pytestmark = [pytest.mark.hil, pytest.mark.slow]


def test_full_tile_is_bit_exact_under_backpressure(tmp_path, tiny_checkpoint, real_cd):
    out = tmp_path / "zcu104_256"
    summary = run_flow(BuildConfig(checkpoint=tiny_checkpoint, board="ZCU104", out=out, tile=256, fifo_sizing="room"),
                       log=lambda *a, **k: None)
    assert summary.hdl["hls_layers"] == [] and summary.fifos_sized
    key, a, b = next(iter_tiles(load_pairs(scan_root(DataSource(root=str(real_cd)))), 256))
    r = stream_tile(out, a, b, in_stall=0.3, out_stall=0.3, seed=5)
    assert r["elements"] >= 256 * 256 and r["mismatches"] == 0, (key, r)
    print(f"\n256x256 tile, stalls 0.3/0.3: {r['cycles']} cycles, {r['wall_s']} s simulated")
