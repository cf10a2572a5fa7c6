"""Hardware in the loop, simulated: real pairs streamed through the whole RTL accelerator of the all-RTL student.

Run alone with `pytest -m hil`. The simulated source and sink stall at random; the output must still be the
PyTorch student's integers, bit for bit, and the measured cycles per tile are compared with FINN's estimate.
"""

import pytest

from frd_q.config import DataSource
from frd_q.data.dataset import load_pairs, scan_root
from frd_q.data.dataset import iter_tiles
from sim.hil import stream_tile, throughput

pytestmark = [pytest.mark.hil, pytest.mark.slow]


@pytest.fixture(scope="module")
def real_tiles(real_cd):
    pairs = load_pairs(scan_root(DataSource(root=str(real_cd))))
    tiles = {key: (a, b) for key, a, b in iter_tiles(pairs, 256)}
    # a LEVIR-CD tile (aerial, 0.5 m) and an OSCD tile (Sentinel-2, 10 m)
    keys = sorted(tiles)
    return [tiles[next(k for k in keys if k.startswith(prefix))] for prefix in ("LEVIR-CD/", "OSCD_RGB/")]


@pytest.mark.parametrize("in_stall,out_stall,seed", [(0.3, 0.0, 5), (0.2, 0.5, 11)])
def test_real_pair_is_bit_exact_under_backpressure(early_build, real_tiles, sim_cache, in_stall, out_stall, seed):
    out, _ = early_build
    a, b = real_tiles[0]
    r = stream_tile(out, a, b, in_stall=in_stall, out_stall=out_stall, seed=seed, cache=sim_cache)
    print(f"\nstalls in {in_stall} out {out_stall}: {r['cycles']} cycles (FINN estimate {r['estimate']} per tile), "
          f"{r['wall_s']} s simulated")
    assert r["elements"] == 128 * 128 and r["mismatches"] == 0
    assert r["cycles"] > r["estimate"]  # a stalled stream cannot beat the bottleneck layer


def test_cycles_per_tile_against_finn_estimate(early_build, real_tiles, sim_cache):
    out, _ = early_build
    t = throughput(out, real_tiles, cache=sim_cache)
    print(f"\n{t['tiles']} tiles back to back: latency {t['latency_cycles']} cycles, {t['cycles_per_tile']:.0f} cycles "
          f"per tile vs FINN estimate {t['estimate']} ({t['bottleneck']}): ratio {t['ratio']:.3f}, {t['wall_s']} s")
    assert t["latency_cycles"] > t["cycles_per_tile"] > 0
    assert 0.9 < t["ratio"] < 1.5, t
