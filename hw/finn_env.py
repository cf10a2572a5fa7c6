"""FINN's global settings, opened and closed around a flow instead of through environment variables.

finn-plus keeps a process-wide settings object (build folder, rtllib path) that its CLI normally creates from
environment variables. `finn_session(folder)` sets it for the duration of a `with` block, pointing FINN's
temporary code-generation folders into the build output, and restores the previous value afterwards. Nothing
from `finn.builder` is imported: that package needs XILINX_VIVADO at import time.

`require_tool(name, step)` is the one check for Xilinx tools: steps that need Vivado or Vitis HLS call it first
and stop with a ToolMissing error naming the tool.
"""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from pathlib import Path

from frd_q.errors import FrdError

XILINX_TOOLS = {
    "vitis_hls": "Vitis HLS (synthesizes FINN's HLS layers)",
    "vivado": "Vivado (stitched IP, synthesis, bitfile)",
}


class ToolMissing(FrdError):
    """A flow step needs a tool that is not on PATH."""


def require_tool(tool: str, step: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise ToolMissing(f"step {step} needs {tool}: {XILINX_TOOLS.get(tool, tool)}, which is not on PATH")
    return path


@contextmanager
def finn_session(build_dir: str | Path):
    """Point FINN's settings at `build_dir` (created if needed) for the duration of the block."""
    import finn.util.settings as finn_settings
    from finn.interface.settings import FINNSettings

    from hw.rtl_ops import register

    register()  # frd_q's RTL backends for the stream operators finn-plus builds only with HLS
    build_dir = Path(build_dir).resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    previous = finn_settings._SETTINGS
    finn_settings._SETTINGS = FINNSettings.init(
        flow_config=build_dir / "flow.yaml", finn_build_dir=str(build_dir), auto_set_environment_vars=False
    )
    try:
        yield finn_settings._SETTINGS
    finally:
        finn_settings._SETTINGS = previous
