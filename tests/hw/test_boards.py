import pytest

from frd_q.errors import ConfigError
from hw.boards import BOARDS, catalogue_table, get_board, load_catalogue

REQUIRED = ["Pynq-Z1", "Pynq-Z2", "Ultra96-V2", "ZCU102", "ZCU104", "KV260", "XQRKU060", "XQZU9EG"]


def test_catalogue_has_the_boards_and_sane_capacities():
    assert set(REQUIRED) <= set(BOARDS)
    for b in BOARDS.values():
        assert b.lut > 0 and b.ff > b.lut and b.bram18 > 0 and b.dsp > 0 and 1 <= b.clock_ns <= 20
    assert get_board("zcu104").part == "xczu7ev-ffvc1156-2-e"
    assert get_board("ZCU104").capacity["URAM"] == 96
    assert "XQRKU060" in catalogue_table()


def test_unknown_board_names_the_known_ones():
    with pytest.raises(ConfigError, match="ZCU104"):
        get_board("ZCU999")


def test_unknown_catalogue_key_is_an_error(tmp_path):
    bad = tmp_path / "boards.yaml"
    bad.write_text("X: {part: p, family: f, clock_ns: 5, lut: 1, ff: 2, bram18: 1, uram: 0, dsp: 1, luts: 3}\n")
    with pytest.raises(ConfigError, match="luts"):
        load_catalogue(bad)
