"""The report's text: tables of all points, of the Pareto-optimal ones and of Yosys / FINN per layer type, and the
sentence that names the design to fly on a board and why. Tables are lists of rows of strings, header first."""

from __future__ import annotations

from frd_q.apps.report.choice import choose, pareto, power_proxy, reaches


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
                    "yes" if reaches(r["boards"][board]) else "no"])
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
            if not reaches(r["boards"][board])]
    if slow:
        text += f" Fitting but below the target rate (tiles/s): {', '.join(sorted(slow))}."
    return text
