"""Single-event upsets (SEU) in the accelerator's memories: which layer, which bit, how bad, and what TMR buys.

    model = SeuModel("build/ZCU104")                    # the deployed integer graph and its stored memories
    tiles = load_tiles(model, "../shared/data/real_cd", limit=4)
    table = sensitivity(model, tiles, trials=2)         # one flipped bit per memory, bit position, trial
    curve = ber_sweep(model, tiles, [1e-5, 1e-4], trials=3, protect=top_memories(table, 3))

Modules:
  model     what is stored and how a flip is modelled: Memory, to_words/from_words, flip, the RTL's threshold
            search (search_threshold), SeuModel (the partition graph re-run with faulty words)
  measure   Tile, load_tiles, sensitivity (one upset per memory and bit), top_memories, ber_sweep (random upsets
            at a bit error rate, with and without TMR)
  report    layer_summary, markdown (seu.md), plot (seu_layers.png, seu_ber.png)
  run       campaign: the whole `frd-q seu` run, its journal and its outputs
"""

from sim.seu.measure import Tile, ber_sweep, load_tiles, sensitivity, top_memories
from sim.seu.model import Memory, SeuModel, flip, from_words, search_threshold, to_words
from sim.seu.report import layer_summary, markdown, plot
from sim.seu.run import campaign

__all__ = [
    "Memory", "SeuModel", "Tile", "ber_sweep", "campaign", "flip", "from_words", "layer_summary", "load_tiles",
    "markdown", "plot", "search_threshold", "sensitivity", "to_words", "top_memories",
]
