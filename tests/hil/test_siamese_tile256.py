"""The tiny Siamese student as one all-RTL accelerator at the real tile size, built with the flow's defaults: the
FIFOs sized on a 64-row band of the 256x256 tile (hw.fifo_sizing, "rate"), the full-size design generated with
those depths, then two real tiles of real_cd streamed back to back through the stitched RTL under backpressure and
compared with the PyTorch student's integers. A file of its own so that it runs beside the 64x64 tests of
test_siamese_rtl.py on another pytest worker."""

import json

import pytest

from frd_q.config import DataSource
from frd_q.data.dataset import iter_tiles, load_pairs, scan_root
from hw.fifo_sizing import SizingSettings
from hw.flow import BuildConfig, run_flow
from sim.hil import stream_tiles

pytestmark = [pytest.mark.hil, pytest.mark.slow]


def test_band_sized_full_tile_is_bit_exact_under_backpressure(tmp_path, tiny_checkpoint, real_cd):
    out = tmp_path / "zcu104_256"
    summary = run_flow(BuildConfig(checkpoint=tiny_checkpoint, board="ZCU104", out=out, tile=256),
                       log=lambda *a, **k: None)
    assert summary.hdl["hls_layers"] == [] and summary.fifos_sized
    assert summary.fifo_sizing["mode"] == "rate" and summary.fifo_sizing["sized_on"].startswith("a 64x256 band")
    record = json.loads((out / "fifo_sizing.json").read_text())
    assert record["runs"][-1]["proof"] and record["runs"][-1]["outcome"] == "ok"
    # the tiny student's window FIFOs hold over half the paced occupancy: it moves in front of the generators,
    # as fast (the capped run is the one the depths come from) and in fewer bits
    window = record["window_backlog"]
    assert window["moved"] and window["bits_after"] < 0.8 * window["bits_before"], window
    assert window["share"] >= SizingSettings().window_share
    assert summary.resources["fits"] and summary.resources["total"]["LUT"] > summary.resources["finn_total"]["LUT"]
    tiles = iter_tiles(load_pairs(scan_root(DataSource(root=str(real_cd)))), 256)
    pairs = [(a, b) for _, a, b in (next(tiles), next(tiles))]
    r = stream_tiles(out, pairs, in_stall=0.3, out_stall=0.3, seed=5)
    assert r["mismatches"] == [0, 0] and r["elements"] == 2 * 256 * 256, r
    # back to back, the second tile follows the first at about the band's measured interval x 4 (rows 256 / 64)
    band_interval = record["runs"][-1]["interval"]
    assert 0.8 * 4 * band_interval < r["cycles_per_tile"] < 1.25 * 4 * band_interval, (r, band_interval)
    print(f"\n256x256, two tiles under 0.3/0.3 stalls: {r['cycles_per_tile']:.0f} cycles per tile "
          f"(FINN {r['estimate']}), {r['wall_s']} s simulated")
