"""The campaign's report: per-memory summary, seu.md's tables (`markdown`) and the two plots (`plot`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from frd_q.fsutil import atomic_path


def layer_summary(table: dict) -> list[dict]:
    """Per memory: the most sensitive bit, the mean over bits and the sign/MSB bit's effect (graph order)."""
    by_layer: dict[str, list] = {}
    for row in table["rows"]:
        by_layer.setdefault(row["layer"], []).append(row)
    out = []
    for mem in table["memories"]:
        rows = by_layer.get(mem["layer"])
        if not rows:
            continue
        worst = max(rows, key=lambda r: r["flipped_fraction"])
        msb = [r for r in rows if r["msb"]]
        out.append({"layer": mem["layer"], "rtl_layer": mem["rtl_layer"], "kind": mem["kind"], "bits": mem["bits"],
                    "words": mem["words"], "worst_bit": worst["bit"], "worst_flipped": worst["flipped_fraction"],
                    "worst_delta_f1": min(r["worst_delta_f1"] for r in rows),
                    "mean_flipped": float(np.mean([r["flipped_fraction"] for r in rows])),
                    "msb_flipped": msb[0]["flipped_fraction"] if msb else None})
    return out


def markdown(report: dict) -> str:
    s = report["sensitivity"]
    lines = [f"# SEU fault injection: {report['build']}", "",
             f"{len(s['tiles'])} real tiles from {report['data']}; fault-free F1 {s['f1_clean']:.4f}. Per memory and "
             f"bit position, {report['settings']['flips']} random word(s) get that bit flipped, "
             f"{report['settings']['trials']} trial(s) each (seed {report['settings']['seed']}). 'changed' = share of "
             "pixels whose change decision differs from the fault-free accelerator.", "",
             "| layer | kind | word bits | words | worst bit | changed (worst bit) | changed (sign/MSB) | "
             "changed (mean over bits) | worst dF1 |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in layer_summary(s):
        msb = "" if r["msb_flipped"] is None else f"{100 * r['msb_flipped']:.3f}%"
        lines.append(f"| {r['rtl_layer'] or r['layer']} | {r['kind']} | {r['bits']} | {r['words']} | {r['worst_bit']} | "
                     f"{100 * r['worst_flipped']:.3f}% | {msb} | {100 * r['mean_flipped']:.3f}% | {r['worst_delta_f1']:+.4f} |")
    b = report.get("ber")
    if b:
        lines += ["", f"## Random upsets at a bit error rate, TMR on {', '.join(b['protected']) or 'nothing'}", "",
                  f"Stored bits: {b['memory_bits']}; TMR adds {b['tmr_extra_bits']} "
                  f"({100 * b['tmr_extra_bits'] / b['memory_bits']:.2f}%). Mean over "
                  f"{report['settings']['rate_trials']} trial(s); fault-free F1 {b['f1_clean']:.4f}.", "",
                  "| bit error rate | protection | flipped bits | F1 | decisions changed |", "|---:|---|---:|---:|---:|"]
        for (rate, prot), rows in _group_ber(b).items():
            lines.append(f"| {rate:g} | {prot} | {np.mean([r['flipped_bits'] for r in rows]):.1f} | "
                         f"{np.mean([r['f1'] for r in rows]):.4f} | {100 * np.mean([r['flipped_fraction'] for r in rows]):.3f}% |")
    lines += ["", f"Plots: {', '.join(report.get('plots', []))}", f"{report['seconds']} s", ""]
    return "\n".join(lines)


def _group_ber(b: dict) -> dict:
    groups: dict = {}
    for r in b["rows"]:
        groups.setdefault((r["rate"], r["protection"]), []).append(r)
    return groups


def plot(report: dict, folder: Path) -> list[str]:
    """seu_layers.png (decisions changed per layer and bit) and seu_ber.png (F1 and changes vs bit error rate)."""
    from matplotlib.figure import Figure

    written = []
    s = report["sensitivity"]
    layers = [m for m in s["memories"] if any(r["layer"] == m["layer"] for r in s["rows"])]
    if layers:
        width = max(m["bits"] for m in layers)
        grid = np.full((len(layers), width), np.nan)
        index = {m["layer"]: i for i, m in enumerate(layers)}
        for r in s["rows"]:
            grid[index[r["layer"]], r["bit"]] = 100 * r["flipped_fraction"]
        fig = Figure(figsize=(8, 0.28 * len(layers) + 1.6))
        ax = fig.subplots()
        im = ax.imshow(np.log10(np.maximum(grid, 1e-4)), aspect="auto", cmap="magma_r", vmin=-4, vmax=2)
        ax.set_yticks(range(len(layers)), [m["rtl_layer"] or m["layer"] for m in layers], fontsize=7)
        ax.set_xticks(range(width))
        ax.set_xlabel("bit position in the stored word (highest = sign/MSB)")
        ax.set_title(f"one SEU per memory and bit: share of decisions changed ({len(s['tiles'])} tiles)", fontsize=9)
        bar = fig.colorbar(im, ax=ax)
        bar.set_ticks([-4, -3, -2, -1, 0, 1, 2], labels=["<1e-4 %", "0.001 %", "0.01 %", "0.1 %", "1 %", "10 %", "100 %"])
        fig.tight_layout()
        with atomic_path(folder / "seu_layers.png") as tmp:
            fig.savefig(tmp, dpi=110)
        written.append("seu_layers.png")
    b = report.get("ber")
    if b and b["rows"]:
        fig = Figure(figsize=(8, 3.4))
        ax1, ax2 = fig.subplots(1, 2)
        groups = _group_ber(b)
        for prot, style in (("none", "o-"), ("tmr", "s--")):
            rates = sorted({r for r, p in groups if p == prot})
            label = "unprotected" if prot == "none" else f"TMR on {len(b['protected'])} memories"
            ax1.plot(rates, [np.mean([r["f1"] for r in groups[(x, prot)]]) for x in rates], style, label=label)
            ax2.plot(rates, [100 * np.mean([r["flipped_fraction"] for r in groups[(x, prot)]]) for x in rates], style,
                     label=label)
        ax1.axhline(b["f1_clean"], color="gray", lw=0.8, label="fault-free")
        for ax, what in ((ax1, "F1"), (ax2, "decisions changed (%)")):
            ax.set_xscale("log")
            ax.set_xlabel("bit error rate of every stored bit")
            ax.set_ylabel(what)
            ax.legend(fontsize=7)
        from matplotlib.ticker import FuncFormatter, LogLocator

        changed = [r["flipped_fraction"] for r in b["rows"]]
        if min(changed) > 0:
            ax2.set_yscale("log")
            ax2.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax2.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax2.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
        fig.tight_layout()
        with atomic_path(folder / "seu_ber.png") as tmp:
            fig.savefig(tmp, dpi=110)
        written.append("seu_ber.png")
    return written
