"""SEU fault injection: the stored-word model, the RTL's threshold search, campaigns and the CLI."""

import json
import shutil

import numpy as np
import pytest
from qonnx.custom_op.general.multithreshold import multithreshold

from frd_q.apps.cli import main
from sim.seu import (SeuModel, ber_sweep, flip, from_words, load_tiles, search_threshold, sensitivity, to_words,
                     top_memories)


def test_words_are_twos_complement_of_the_stored_width():
    w = to_words(np.array([3, -1, -8, 7]), 4, True)
    assert w.tolist() == [3, 15, 8, 7]
    assert from_words(flip(w, np.array([0]), 3), 4, True).tolist() == [-5, -1, -8, 7]  # sign bit of 3
    assert from_words(to_words(np.array([0, 31]), 5, False), 5, False).tolist() == [0, 31]
    with pytest.raises(Exception, match="do not fit 4-bit"):
        to_words(np.array([8]), 4, True)


def test_search_tree_equals_counting_for_sorted_and_differs_for_a_flipped_threshold():
    rng = np.random.default_rng(0)
    t = np.sort(rng.integers(-200, 200, size=(5, 15)), axis=1).astype(np.float32)
    x = rng.integers(-260, 260, size=(2, 7, 9, 5)).astype(np.float32)
    assert np.array_equal(search_threshold(x, t, 0), multithreshold(x, t, channels_last=True))
    assert np.array_equal(search_threshold(x, t[:1], -3), multithreshold(x, t[:1], out_bias=-3, channels_last=True))
    ramp = np.arange(15, dtype=np.float32)[None]  # thresholds 0..14 of one channel
    x12 = np.full((1, 1, 1, 1), 12, np.float32)
    assert search_threshold(x12, ramp)[0, 0, 0, 0] == 13 == multithreshold(x12, ramp, channels_last=True)[0, 0, 0, 0]
    bad = ramp.copy()
    bad[0, 7] = 100  # an upset in the middle threshold, the first one the search compares with
    assert search_threshold(x12, bad)[0, 0, 0, 0] == 7  # the search stays in the lower half
    assert multithreshold(x12, bad, channels_last=True)[0, 0, 0, 0] == 12  # counting just loses one threshold


@pytest.fixture(scope="module")
def seu(early_build, real_cd):
    out, _ = early_build
    model = SeuModel(out)
    return model, load_tiles(model, real_cd, limit=1)


def test_memories_carry_the_generated_word_widths(seu):
    model, _ = seu
    kinds = {m.kind for m in model.memories}
    assert kinds == {"weights", "thresholds"}
    for m in model.memories:
        assert m.rtl_layer.endswith("_rtl_" + m.layer.rsplit("_", 1)[1])
        # W4 weights; thresholds at the generated layer's minimized width, not the partition's INT33 annotation
        assert m.bits == 4 if m.kind == "weights" else 4 <= m.bits < 33


def test_unchanged_words_reproduce_the_fault_free_run_and_a_sign_flip_does_not(seu):
    model, tiles = seu
    clean = tiles[0].clean
    for mem in model.memories:  # thresholds take the search-tree path: same integers as the python node
        assert np.array_equal(model.run(clean, {mem: model.words(mem)}), clean[model.runner.output]), mem.layer
    first = model.memories[0]
    words = model.words(first)
    hit = model.run(clean, {first: flip(words, np.arange(words.size), first.bits - 1)})
    assert not np.array_equal(hit, clean[model.runner.output])


@pytest.mark.hil
def test_rtl_thresholding_with_a_flipped_bit_matches_the_search_tree_model(tmp_path, early_build, real_cd, sim_cache):
    """The fault model checked against the chip: one threshold's high bit flipped in the RTL memory files."""
    from hw.finn_env import finn_session
    from sim.faults import shift_threshold
    from hw.rtlsim.accelerator import Accelerator

    src, _ = early_build
    build = tmp_path / "b"
    shutil.copytree(src, build, ignore=shutil.ignore_patterns("sim"))
    model = SeuModel(build)
    mem = model.memory("Thresholding_rtl_1")
    tile = load_tiles(model, real_cd, limit=1)[0]
    node = model.graph.graph.node[mem.node]
    x = tile.clean[node.input[0]]
    t = model.graph.get_initializer(mem.tensor).astype(np.int64)
    channel, index = 0, t.shape[1] // 2
    words = model.words(mem)
    assert mem.signed
    bit = mem.bits - 1  # the sign bit: the middle threshold becomes very negative, so every search goes right
    faulty = from_words(flip(words, np.array([channel * t.shape[1] + index]), bit), mem.bits, mem.signed).reshape(t.shape)
    shift_threshold(build, mem.rtl_layer, channel=channel, index=index, delta=int(faulty[channel, index] - t[channel, index]))
    want = search_threshold(x, faulty.astype(np.float32), model.act_val[mem.layer])
    assert not np.array_equal(want, multithreshold(x, faulty.astype(np.float32), out_bias=model.act_val[mem.layer],
                                                   channels_last=True)), "the flip must matter for this check"
    with finn_session(build / "finn_tmp"):
        acc = Accelerator(build, cache=sim_cache)
        (got,), _ = acc.simulate([mem.rtl_layer], [x], out_stall=0.3, seed=4)
    assert got.shape == want.shape and int((got != want).sum()) == 0


def test_sensitivity_rows_journal_and_resume(seu, tmp_path, monkeypatch):
    model, tiles = seu
    mems = [model.memories[0], model.memories[1]]
    journal = tmp_path / "j.jsonl"
    table = sensitivity(model, tiles, mems, bits=[0, 3], trials=2, journal=journal)
    assert [(r["layer"], r["bit"]) for r in table["rows"]] == [(m.layer, b) for m in mems for b in (0, 3)]
    assert all(0 <= r["flipped_fraction"] <= 1 and r["trials"] == 2 for r in table["rows"])
    assert len(journal.read_text().splitlines()) == 4
    import sim.seu.measure as seu_mod

    calls = []
    real = seu_mod._evaluate
    monkeypatch.setattr(seu_mod, "_evaluate", lambda *a: calls.append(1) or real(*a))
    again = sensitivity(model, tiles, mems, bits=[0, 3], trials=2, journal=journal)
    assert again["rows"] == table["rows"] and len(calls) == 1  # only the fault-free baseline is recomputed
    assert len(top_memories(table, 1, None)) == 1


def test_ber_zero_is_fault_free_and_tmr_masks_single_copies(seu):
    model, tiles = seu
    zero = ber_sweep(model, tiles, [0.0], trials=1)
    assert all(r["flipped_bits"] == 0 and r["flipped_fraction"] == 0 and r["f1"] == zero["f1_clean"] for r in zero["rows"])
    every = [m.layer for m in model.memories]
    hit = ber_sweep(model, tiles, [2e-3], trials=1, protect=every)
    plain = next(r for r in hit["rows"] if r["protection"] == "none")
    tmr = next(r for r in hit["rows"] if r["protection"] == "tmr")
    assert plain["flipped_bits"] > 0 and tmr["flipped_bits"] < plain["flipped_bits"] / 20
    assert hit["tmr_extra_bits"] == 2 * hit["memory_bits"]


def test_seu_cli_writes_report_and_plots(tmp_path, early_build, real_cd, capsys):
    out, _ = early_build
    dest = tmp_path / "seu"
    assert main(["seu", "--build", str(out), "--data", str(real_cd), "--limit", "1", "--layers", "MVAU_rtl_0",
                 "--bits", "3", "--rates", "1e-3", "--rate-trials", "1", "--protect", "1", "--protect-kind", "all",
                 "--out", str(dest), "--quiet"]) == 0
    report = json.loads((dest / "seu.json").read_text())
    assert [r["layer"] for r in report["sensitivity"]["rows"]] == ["MVAU_0"]
    assert report["ber"]["protected"] == ["MVAU_0"]
    for png in ("seu_layers.png", "seu_ber.png"):
        assert (dest / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| MVAU_rtl_0 | weights | 4 |" in capsys.readouterr().out


def test_seu_cli_bad_input(tmp_path, early_build, capsys):
    assert main(["seu", "--build", str(tmp_path / "none")]) == 2
    assert "summary.json: not found" in capsys.readouterr().err
    out, _ = early_build
    assert main(["seu", "--build", str(out), "--layers", "MVAU_99", "--out", str(tmp_path / "o")]) == 2
    assert "no weight or threshold memory named MVAU_99" in capsys.readouterr().err


def test_protection_ranks_by_expected_harm_under_a_bit_error_rate():
    """A small memory that one upset hurts badly can matter less than a large one that each upset hurts a little."""
    table = {"memories": [{"layer": "small", "words": 15}, {"layer": "large", "words": 10000},
                          {"layer": "thr", "words": 100}],
             "rows": [{"layer": "small", "kind": "thresholds", "flipped_fraction": 0.2, "flips": 1, "bits": 4},
                      {"layer": "large", "kind": "weights", "flipped_fraction": 0.001, "flips": 1, "bits": 4},
                      {"layer": "thr", "kind": "thresholds", "flipped_fraction": 0.01, "flips": 1, "bits": 4}]}
    assert top_memories(table, 3) == ["large", "small", "thr"]  # 10, 3, 1 decisions' worth per unit rate
    assert top_memories(table, 1, "thresholds") == ["small"]
