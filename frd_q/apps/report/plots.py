"""The report's matplotlib plots, each written as a PNG: Pareto fronts per board, LUTs per layer of one design,
and change maps of the teacher and a student on real evaluation pairs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from frd_q.apps.report.choice import pareto, power_proxy
from frd_q.fsutil import atomic_path
from hw.buildfolder import BuildFolder

BIT_MARKERS = {"w8a8": "s", "w4a4": "o", "w3a3": "^", "w2a2": "D", "w1a2": "v"}


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
        ax.set_ylabel("F1, all pixels of the evaluation pairs")
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
    build = BuildFolder(record["boards"][board]["build"], must_exist=False)
    est = json.loads(build.estimates_path.read_text())["layers"]
    synth_path = build.path / "synth" / "synth.json"
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


def plot_samples(record: dict, teacher: str | None, eval_sources: list[dict], n: int, path: Path) -> Path | None:
    """A, B, ground truth, teacher and student change maps on the n evaluation pairs with the most change."""
    from frd_q.config import DataSource
    from frd_q.data.dataset import load_pairs, scan_sources
    from frd_q.infer import predict_logits
    from frd_q.train.checkpoint import load_model

    student, scfg, _ = load_model(record["checkpoint"])
    pairs = load_pairs(scan_sources([DataSource(**s) for s in eval_sources]), scfg.data.in_channels,
                       scfg.data.label_threshold)
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
