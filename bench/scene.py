"""Peak memory and speed of `frd-q predict` on a large scene (default 10240 x 10240 pixels).

    .venv/bin/python bench/scene.py --checkpoint runs/student_w4a4/best.pt [--size 10240] [--overlap 32]

The scene is a mosaic: the LEVIR-CD 1024x1024 pairs of ../shared/data/real_cd_train laid side by side (cycled
until the size is reached), written as a georeferenced GeoTIFF pair (EPSG:32650, 0.5 m pixels, a made-up
origin) in a temporary folder, strip by strip. Real imagery, an artificial scene: it measures memory and time,
not accuracy. `frd-q predict` then runs in a child process; the figures are its peak resident memory (from
getrusage of the child), wall time, tiles per second, and the size of the same scene held as one uint8 RGB array
per date, for comparison.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def write_mosaic(pairs: list[tuple[Path, Path]], size: int, folder: Path) -> tuple[Path, Path]:
    import rasterio
    from PIL import Image
    from rasterio.crs import CRS
    from rasterio.transform import from_origin
    from rasterio.windows import Window

    block = 1024
    paths = []
    for date in (0, 1):
        path = folder / f"{'AB'[date]}.tif"
        profile = dict(driver="GTiff", height=size, width=size, count=3, dtype="uint8", tiled=True, blockxsize=256,
                       blockysize=256, compress="deflate", crs=CRS.from_epsg(32650),
                       transform=from_origin(400000.0, 4400000.0, 0.5, 0.5))
        with rasterio.open(path, "w", **profile) as ds:
            k = 0
            for y in range(0, size, block):
                row = []
                for x in range(0, size, block):
                    img = np.asarray(Image.open(pairs[k % len(pairs)][date]).convert("RGB"))[:block, :block]
                    row.append(img[: size - y, : size - x])
                    k += 1
                strip = np.concatenate(row, axis=1)
                ds.write(np.moveaxis(strip, -1, 0), window=Window(0, y, strip.shape[1], strip.shape[0]))
        paths.append(path)
    return paths[0], paths[1]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--size", type=int, default=10240)
    p.add_argument("--overlap", type=int, default=32)
    p.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "real_cd_train" / "LEVIR-CD"))
    args = p.parse_args()
    data = Path(args.data)
    pairs = [(a, data / "B" / a.name) for a in sorted((data / "A").glob("*.png"))]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        results = {}
        for size in (256, args.size):  # the small scene gives the footprint of the process itself
            folder = tmp / str(size)
            folder.mkdir()
            t = time.time()
            a, b = write_mosaic(pairs, size, folder)
            print(f"mosaic {size}x{size} from {len(pairs)} LEVIR-CD pairs written in {time.time() - t:.0f} s")
            out = folder / "out" / "mask.tif"
            cmd = [str(REPO / ".venv" / "bin" / "frd-q"), "predict", "--checkpoint", args.checkpoint, "--a", str(a),
                   "--b", str(b), "--out", str(out), "--overlap", str(args.overlap), "--device", "cpu",
                   "--no-progress"]
            t = time.time()
            subprocess.run(cmd, check=True)
            wall = time.time() - t
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest child so far
            results[size] = (wall, peak, json.loads(out.with_suffix(".json").read_text()))
    (_, base, _), (wall, peak, stats) = results[256], results[args.size]
    one_date = args.size * args.size * 3 / 2**20
    print(f"scene {args.size}x{args.size}, tile 256, overlap {args.overlap}: {stats['tiles']} tiles in {wall:.0f} s "
          f"({stats['tiles'] / stats['seconds']:.1f} tiles/s), peak RSS {peak:.0f} MiB; a 256x256 scene peaks at "
          f"{base:.0f} MiB (Python, torch, rasterio); one date of this scene as a uint8 array would be "
          f"{one_date:.0f} MiB; {stats['regions']} regions, {100 * stats['changed_fraction']:.2f}% changed")


if __name__ == "__main__":
    sys.exit(main())
