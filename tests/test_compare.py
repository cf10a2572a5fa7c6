"""`frd-q compare`: counts per block add up to the whole-image counts, the bootstrap is stratified, paired and
seeded, and end to end its figures are the ones the labels dictate for models that say "all change" or "none"."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from frd_q.apps.cli import main
from frd_q.compare import block_counts, bootstrap, f1_of, stratified_weights
from frd_q.errors import ConfigError
from frd_q.metrics import Confusion, dataset_mean

from test_cli import one_error_line, sources_file


def random_maps(seed, shape):
    rng = np.random.default_rng(seed)
    return rng.random(shape) < 0.3, rng.random(shape) < 0.2


def test_block_counts_cover_every_pixel_once_with_ragged_edges():
    pred, label = random_maps(0, (70, 130))
    counts = block_counts(pred, label, 32)
    assert counts.shape == (3 * 5, 4)  # rows 32+32+6, columns 32*4+2
    whole = Confusion().update(pred, label)
    assert counts.sum(axis=0).tolist() == [whole.tp, whole.fp, whole.fn, whole.tn]
    first = Confusion().update(pred[:32, :32], label[:32, :32])
    assert counts[0].tolist() == [first.tp, first.fp, first.fn, first.tn]
    last = Confusion().update(pred[64:, 128:], label[64:, 128:])
    assert counts[-1].tolist() == [last.tp, last.fp, last.fn, last.tn] and counts[-1].sum() == 6 * 2
    assert f1_of(counts.sum(axis=0)) == pytest.approx(whole.metrics()["f1"])
    assert f1_of(np.zeros(4)) == 0.0
    with pytest.raises(ValueError, match="one"):
        block_counts(pred, label[:, :-1], 32)


def test_resampling_draws_as_many_blocks_as_each_dataset_has_and_keeps_some_change():
    positives = {"a": np.array([3, 0, 1, 0, 5]), "b": np.array([0] * 11 + [7])}  # b: change in one block of 12
    w, redrawn = stratified_weights(positives, 300, np.random.default_rng(1))
    assert w["a"].shape == (300, 5) and w["b"].shape == (300, 12)
    assert (w["a"].sum(axis=1) == 5).all() and (w["b"].sum(axis=1) == 12).all()
    assert len({tuple(r) for r in w["b"]}) > 250  # resamples differ from each other
    assert (w["b"][:, -1] >= 1).all()  # every resample holds b's one changed block ...
    assert redrawn > 50  # ... because about (11/12)^12 = 35 % of the first draws did not
    with pytest.raises(ConfigError, match="dataset c: no changed pixel"):
        stratified_weights({"c": np.zeros(4, dtype=int)}, 10, np.random.default_rng(0))


def three_datasets(seed):
    """Per-dataset (n, 4) block counts of two models: `good` is right on every pixel `bad` gets wrong."""
    good, bad = {}, {}
    for k, (name, n) in enumerate({"x": 4, "y": 9, "z": 16}.items()):
        pred, label = random_maps(seed + k, (16 * n, 16))
        good[name] = block_counts(label, label, 16)  # a perfect map
        bad[name] = block_counts(pred, label, 16)
    return good, bad


def test_point_figures_are_the_unresampled_ones_and_identical_models_differ_by_nothing():
    good, bad = three_datasets(0)
    c = bootstrap([bad, bad], ["a", "b"], [0.0, 0.0], 16, resamples=200, seed=3)
    assert [r.name for r in c.rows] == ["a", "b"] and c.rows[0].member_f1_mean == [c.point["f1_mean"][0]]
    confusions = {k: Confusion(*map(int, v.sum(axis=0))) for k, v in bad.items()}
    assert c.point["f1_mean"][0] == pytest.approx(dataset_mean(confusions)["f1"])
    total = Confusion()
    for one in confusions.values():
        total += one
    assert c.point["f1_all"][0] == pytest.approx(total.metrics()["f1"])
    assert c.interval("f1_mean", 1, 0) == (0.0, 0.0) and c.p_above("f1_mean", 1, 0) == 0.0
    lo, hi = c.interval("f1_mean", 0)
    assert lo < c.point["f1_mean"][0] < hi  # a real spread around the figure


def test_paired_differences_and_seeds():
    good, bad = three_datasets(5)
    c = bootstrap([bad, good], ["bad", "good"], [0.0, 0.0], 16, resamples=500, seed=0)
    assert (c.samples["f1_mean"][:, 1] == 1.0).all()  # perfect in every resample
    lo, hi = c.interval("f1_mean", 1, 0)
    assert 0 < lo <= c.point["f1_mean"][1] - c.point["f1_mean"][0] <= hi and c.p_above("f1_mean", 1, 0) == 1.0
    again = bootstrap([bad, good], ["bad", "good"], [0.0, 0.0], 16, resamples=500, seed=0)
    other = bootstrap([bad, good], ["bad", "good"], [0.0, 0.0], 16, resamples=500, seed=1)
    assert np.array_equal(again.samples["f1_mean"], c.samples["f1_mean"])
    assert not np.array_equal(other.samples["f1_mean"], c.samples["f1_mean"])
    # a group row is the mean of its members, resample by resample; its difference is the mean of theirs
    g = bootstrap([bad, good], ["bad", "good"], [0.0, 0.5], 16, resamples=500, seed=0,
                  groups=[("bad", [0]), ("both", [0, 1])])
    assert g.rows[1].members == ["bad", "good"] and g.rows[1].thresholds == [0.0, 0.5]
    assert np.allclose(g.samples["f1_mean"][:, 1], (c.samples["f1_mean"][:, 0] + 1.0) / 2)
    assert g.point["f1_mean"][1] == pytest.approx((c.point["f1_mean"][0] + 1.0) / 2)
    assert g.p_above("f1_mean", 1, 0) == 1.0
    fewer = {k: v[:-1] for k, v in good.items()}
    with pytest.raises(ValueError, match="good: counted on other blocks"):
        bootstrap([bad, fewer], ["bad", "good"], [0.0, 0.0], 16)
    other_labels = {k: v[:, [1, 0, 3, 2]] for k, v in good.items()}  # TP <-> FP: another label map
    with pytest.raises(ValueError, match="good: counted against other labels"):
        bootstrap([bad, other_labels], ["bad", "good"], [0.0, 0.0], 16)


def with_threshold(src, dst, threshold):
    ckpt = torch.load(src, weights_only=False)
    ckpt["metrics"]["threshold"] = threshold
    torch.save(ckpt, dst)
    return str(dst)


def test_compare_end_to_end_matches_the_labels_and_evaluate(tiny_checkpoint, real_cd, tmp_path, capsys):
    pairs = ["LEVIR-CD/val_27_0000_0256", "DSIFN-CD/1_1", "SZTAKI_AirChange/Szada_2"]
    sources = sources_file(tmp_path, real_cd, *pairs)
    none = with_threshold(tiny_checkpoint, tmp_path / "none.pt", 1e9)  # no logit is above it: no change anywhere
    every = with_threshold(tiny_checkpoint, tmp_path / "all.pt", -1e9)  # every pixel changed
    out = tmp_path / "c.json"
    assert main(["compare", "--checkpoint", none, every, str(tiny_checkpoint), "--sources", str(sources),
                 "--resamples", "300", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "paired difference to" in text and "3 pairs, 3 datasets" in text
    result = json.loads(out.read_text())
    m_none, m_all, m_tiny = result["rows"]
    assert m_none["figures"]["f1_mean"]["value"] == 0.0 and m_none["figures"]["f1_mean"]["interval"] == [0.0, 0.0]
    # "all change" has TP = changed, FP = unchanged, FN = 0 pixels: F1 = 2 pos / (2 pos + neg), per dataset
    expected, blocks, changed = [], {}, {}
    for p in pairs:
        label = np.asarray(Image.open(real_cd / p.split("/")[0] / "label" / f"{p.split('/')[1]}.png")) > 127
        label = label if label.ndim == 2 else label[..., 0]
        expected.append(2 * label.sum() / (2 * label.sum() + (~label).sum()))
        blocks[p.split("/")[0]] = -(-label.shape[0] // 64) * -(-label.shape[1] // 64)  # 64-pixel blocks, edges too
        changed[p.split("/")[0]] = int(label.sum())
    assert m_all["figures"]["f1_mean"]["value"] == pytest.approx(np.mean(expected))
    assert m_all["difference_to_first"]["f1_mean"]["p_above"] == 1.0  # every dataset here has some change
    assert result["blocks_per_dataset"] == blocks
    assert result["changed_pixels_per_dataset"] == changed
    for dataset, n in changed.items():  # the text names each dataset's blocks and changed pixels
        assert f"  {dataset} ({blocks[dataset]}, {n}): " in text
    assert main(["compare", "--checkpoint", none, "--group", "extremes", none, every, "--sources", str(sources),
                 "--resamples", "300", "--json", str(out)]) == 0
    assert "extremes: the mean of 2" in capsys.readouterr().out
    first, group = json.loads(out.read_text())["rows"]
    assert group["checkpoints"] == [none, every] and group["member_f1_mean"] == [0.0, pytest.approx(np.mean(expected))]
    assert group["figures"]["f1_mean"]["value"] == pytest.approx(np.mean(expected) / 2)
    evaluated = tmp_path / "e.json"
    assert main(["evaluate", "--checkpoint", str(tiny_checkpoint), "--sources", str(sources),
                 "--json", str(evaluated)]) == 0
    assert m_tiny["figures"]["f1_all"]["value"] == pytest.approx(json.loads(evaluated.read_text())["f1"])


def test_compare_bad_input_is_one_error_line(tiny_checkpoint, real_cd, tmp_path, capsys):
    sources = sources_file(tmp_path, real_cd, "LEVIR-CD/val_27_0000_0256")
    one_error_line(capsys, ["compare", "--checkpoint", str(tiny_checkpoint), "--sources", str(sources),
                            "--block", "0"], "--block 0")
    one_error_line(capsys, ["compare", "--checkpoint", str(tiny_checkpoint), str(tmp_path / "no.pt"),
                            "--sources", str(sources)], "checkpoint not found")
    one_error_line(capsys, ["compare", "--checkpoint", str(tiny_checkpoint), "--sources", str(sources), "--data",
                            str(real_cd)], "give one")
    one_error_line(capsys, ["compare", "--group", "lonely", "--sources", str(sources)], "a name, then one or more")
    one_error_line(capsys, ["compare", "--sources", str(sources)], "--checkpoint or --group")
