"""The Verilator binary cache under concurrent use: two pytest workers (or two builds) that compile the same design
into one cache must both end with a working simulator. Verilator and make are replaced by stand-ins that write the
files they would, so the race is exercised without a compile."""

from pathlib import Path

import pytest

from hw.rtlsim import verilator
from hw.rtlsim.stitch import TopPorts

pytestmark = pytest.mark.hil  # it calls compile_top, which only hil tests may (tests/conftest.py)


def fake_tools(monkeypatch, cache: Path, other_finishes_first: bool):
    def fake_run(cmd, cwd, what):
        obj = Path(cwd) / "obj"
        obj.mkdir(exist_ok=True)
        if cmd[0] != "make":
            return
        for name in ("sim", *verilator.RUNTIME_OBJECTS):
            (obj / name).write_text("ours")
        if other_finishes_first:  # the other process renames its finished folder into place meanwhile
            final = cache / "bin" / Path(cwd).name.split("-")[0].lstrip(".")
            final.mkdir(parents=True)
            (final / "sim").write_text("theirs")

    monkeypatch.setattr(verilator, "_run", fake_run)


@pytest.mark.parametrize("other_finishes_first", [False, True])
def test_a_key_built_twice_at_once_keeps_one_binary_and_no_temp_folder(tmp_path, monkeypatch, other_finishes_first):
    cache = tmp_path / "cache"
    fake_tools(monkeypatch, cache, other_finishes_first)
    src, top = tmp_path / "a.sv", tmp_path / "top.sv"
    src.write_text("module a; endmodule\n")
    top.write_text("module frd_top; endmodule\n")
    exe = verilator.compile_top([src], top, TopPorts([("in0", 8)], [("out0", 8)]), cache)
    assert exe.is_file() and exe.read_text() == ("theirs" if other_finishes_first else "ours")
    assert [p.name for p in (cache / "bin").iterdir()] == [exe.parent.name]  # no temp folder left behind
    assert verilator.compile_top([src], top, TopPorts([("in0", 8)], [("out0", 8)]), cache) == exe  # a cache hit
