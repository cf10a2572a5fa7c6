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

Modules:
  choice     power proxy, Pareto front, the design to fly per board (`choose`)
  plots      Pareto plots, LUTs per layer, change maps on real pairs (matplotlib, PNG)
  tables     tables of points, Pareto-optimal designs and Yosys / FINN ratios; the recommendation text
  document   the report as blocks, rendered to Markdown and to self-contained HTML
  write      `write_report`: records in, report.md, report.html and PNGs out
"""

from frd_q.apps.report.choice import choose, pareto, power_proxy
from frd_q.apps.report.write import write_report

__all__ = ["choose", "pareto", "power_proxy", "write_report"]
