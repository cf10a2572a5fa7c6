"""The estimate report: per-layer resources and cycles, totals against the board, throughput and latency.

FPS = clock / cycles of the slowest layer (FINN's dataflow model: layers run concurrently, one tile in flight per
layer). Latency is given as the sum of per-layer cycles, an upper bound (layers overlap in a real pipeline).
Throughput is per tile of the built size (tile x tile pixels of each date) and as megapixels per second.
"""

from __future__ import annotations

from pathlib import Path

from hw.folding import ESTIMATED

from frd_q.fsutil import atomic_path, write_json


def estimate(model, board, clock_ns: float, tile: int) -> dict:
    from finn.analysis.fpgadataflow.exp_cycles_per_layer import exp_cycles_per_layer
    from finn.analysis.fpgadataflow.res_estimation import res_estimation

    res = model.analysis(lambda m: res_estimation(m, board.part))
    cycles = model.analysis(exp_cycles_per_layer)
    layers = []
    for node in model.graph.node:
        if node.name not in res:
            continue
        layers.append({"name": node.name, "op": node.op_type, "cycles": int(cycles.get(node.name, 0)),
                       **{r: float(res[node.name].get(r, 0)) for r in ESTIMATED}})
    total = {r: sum(layer[r] for layer in layers) for r in ESTIMATED}
    slowest = max(layers, key=lambda layer: layer["cycles"])
    clock_hz = 1e9 / clock_ns
    fps = clock_hz / slowest["cycles"]
    return {
        "board": board.name,
        "part": board.part,
        "clock_mhz": round(clock_hz / 1e6, 3),
        "tile": tile,
        "layers": layers,
        "total": total,
        "capacity": {r: board.capacity[r] for r in ESTIMATED},
        "utilization": {r: (total[r] / board.capacity[r] if board.capacity[r] else None) for r in ESTIMATED},
        "bottleneck": slowest["name"],
        "bottleneck_cycles": slowest["cycles"],
        "fps": fps,
        "latency_ms_upper_bound": 1e3 * sum(layer["cycles"] for layer in layers) / clock_hz,
        "tiles_per_s": fps,
        "megapixels_per_s": fps * tile * tile / 1e6,
        "hls_layers": sorted({layer["op"] for layer in layers if layer["op"].endswith("_hls")}),
    }


def markdown(est: dict) -> str:
    lines = [
        f"# FINN estimates: {est['board']} ({est['part']}) at {est['clock_mhz']:g} MHz, {est['tile']}x{est['tile']} tiles",
        "",
        "| layer | op | cycles | LUT | BRAM_18K | URAM | DSP |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for layer in est["layers"]:
        lines.append(f"| {layer['name']} | {layer['op']} | {layer['cycles']} | " +
                     " | ".join(f"{layer[r]:.0f}" if r != "BRAM_18K" else f"{layer[r]:.1f}" for r in ESTIMATED) + " |")
    lines.append("| **total** | | | " + " | ".join(f"**{est['total'][r]:.0f}**" for r in ESTIMATED) + " |")
    lines.append("| board | | | " + " | ".join(str(est["capacity"][r]) for r in ESTIMATED) + " |")
    util = est["utilization"]
    lines.append("| use | | | " + " | ".join("-" if util[r] is None else f"{100 * util[r]:.1f} %" for r in ESTIMATED) + " |")
    lines += [
        "",
        f"- bottleneck: {est['bottleneck']} ({est['bottleneck_cycles']} cycles per tile)",
        f"- throughput: {est['fps']:.2f} tiles/s ({est['tile']}x{est['tile']} pixel pairs), "
        f"{est['megapixels_per_s']:.2f} Mpixel/s",
        f"- latency: at most {est['latency_ms_upper_bound']:.2f} ms per tile (sum of layer cycles)",
        f"- HLS layers: {', '.join(est['hls_layers']) or 'none (all RTL)'}",
        "",
    ]
    return "\n".join(lines)


def write_estimates(model, build) -> dict:
    est = estimate(model, build.board, build.clock_ns, build.cfg.tile)
    write_json(build.folder.estimates_path, est)
    with atomic_path(build.out / "estimates.md") as tmp:
        Path(tmp).write_text(markdown(est))
    return {k: v for k, v in est.items() if k != "layers"}


__all__ = ["estimate", "markdown", "write_estimates"]
