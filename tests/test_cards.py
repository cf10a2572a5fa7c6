"""Model cards with intervals: `frd-q ship` keeps each model's per-block test counts and F1 intervals, README.md
pairs every model with the teacher from them (the figures `frd-q compare` prints), and `frd-q cards` measures the
shipped models again, refusing weights that are not the ones a card names."""

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from frd_q.apps.cli import main
from frd_q.apps.ship import block_counts_of, cards_markdown
from frd_q.metrics import Confusion, dataset_mean

from test_cli import one_error_line, sources_file

PAIRS = ("DSIFN-CD/1_1", "OSCD_RGB/rennes", "LEVIR-CD/val_27_0000_0256")


@pytest.fixture
def shipped(tiny_checkpoint, tiny_teacher_checkpoint, real_cd, tmp_path):
    """A folder of shipped models, `teacher` and `student`, measured on three real pairs: (folder, sources)."""
    sources = sources_file(tmp_path, real_cd, *PAIRS)
    out = tmp_path / "ckpts"
    for ckpt, name in ((tiny_teacher_checkpoint, "teacher"), (tiny_checkpoint, "student")):
        assert main(["ship", "--checkpoint", str(ckpt), "--name", name, "--out", str(out),
                     "--sources", str(sources)]) == 0
    return out, sources


def card(out, name):
    return json.loads((out / f"{name}.json").read_text())


def test_card_figures_come_from_its_block_counts_and_the_readme_pairs_them_with_the_teacher(shipped, real_cd, tmp_path):
    out, sources = shipped
    student = card(out, "student")
    counts = block_counts_of(student)
    assert sorted(counts) == ["DSIFN-CD", "LEVIR-CD", "OSCD_RGB"] and student["test_blocks"]["block"] == 64
    per_dataset = {k: Confusion(*(int(n) for n in v.sum(axis=0))) for k, v in counts.items()}
    for pair in PAIRS:  # every pixel counted once, and the label's changed pixels are TP + FN
        dataset, name = pair.split("/")
        label = np.asarray(Image.open(real_cd / dataset / "label" / f"{name}.png")) > 127
        c = per_dataset[dataset]
        assert (c.total, c.tp + c.fn) == (label.size, int(label.sum()))
    for k, c in per_dataset.items():
        assert student["test"][k]["f1"] == round(c.metrics()["f1"], 4)
    assert student["test"]["dataset mean"]["f1"] == round(dataset_mean(per_dataset)["f1"], 4)
    for k, (lo, hi) in student["test_intervals"]["f1"].items():
        assert 0 <= lo <= hi <= 1, k
    assert student["test_intervals"]["f1"]["LEVIR-CD"][1] > student["test_intervals"]["f1"]["LEVIR-CD"][0]

    report = tmp_path / "compare.json"
    assert main(["compare", "--checkpoint", str(out / "teacher.pt"), str(out / "student.pt"),
                 "--sources", str(sources), "--json", str(report)]) == 0
    c = json.loads(report.read_text())
    teacher_row, student_row = c["rows"]
    assert [round(x, 4) for x in teacher_row["figures"]["f1_mean"]["interval"]] == \
        card(out, "teacher")["test_intervals"]["f1"]["dataset mean"]  # the same draws as compare
    d, a = student_row["difference_to_first"]["f1_mean"], student_row["difference_to_first"]["f1_all"]
    expected = (f"| student | {100 * d['value']:+.1f} [{100 * d['interval'][0]:+.1f}, {100 * d['interval'][1]:+.1f}] | "
                f"{d['p_above']:.2f} | {100 * a['value']:+.1f} [{100 * a['interval'][0]:+.1f}, "
                f"{100 * a['interval'][1]:+.1f}] |")
    readme = (out / "README.md").read_text()
    assert expected in readme and "Not paired" not in readme
    lo, hi = student["test_intervals"]["f1"]["dataset mean"]
    assert f"| {100 * student['test']['dataset mean']['f1']:.1f} [{100 * lo:.1f}, {100 * hi:.1f}] |" in readme


def test_cards_measures_again_and_refuses_weights_the_card_does_not_name(shipped, capsys):
    out, sources = shipped
    before = card(out, "student")
    old = dict(before)  # a card from before intervals, with figures that no longer hold
    del old["test_blocks"], old["test_intervals"]
    old["test"] = {k: {m: 0.0 for m in v} for k, v in old["test"].items()}
    (out / "student.json").write_text(json.dumps(old))
    (out / "README.md").write_text(cards_markdown(out))
    readme = (out / "README.md").read_text()
    assert "Not paired with the teacher" in readme and "student." in readme and "| F1 |" in readme

    capsys.readouterr()
    assert main(["cards", "--out", str(out), "--sources", str(sources)]) == 0
    assert "student.pt: test dataset-mean F1" in capsys.readouterr().out
    assert card(out, "student") == before
    assert "Not paired" not in (out / "README.md").read_text()

    shutil.copy(out / "teacher.pt", out / "student.pt")  # the wrong weights under the card's name
    cards_before = {p.name: p.read_text() for p in out.iterdir() if p.suffix in (".json", ".md")}
    one_error_line(capsys, ["cards", "--out", str(out), "--sources", str(sources)],
                   "student.pt: sha256")
    assert {p.name: p.read_text() for p in out.iterdir() if p.suffix in (".json", ".md")} == cards_before

    (out / "broken.json").write_text("{")
    one_error_line(capsys, ["cards", "--out", str(out)], "broken.json: not a model card")
    one_error_line(capsys, ["cards", "--out", str(out / "empty")], "no model cards")


def test_the_shipped_cards_readme_is_what_the_cards_say_and_their_counts_give_their_figures():
    from pathlib import Path

    shipped = Path(__file__).resolve().parents[1] / "checkpoints"
    assert (shipped / "README.md").read_text() == cards_markdown(shipped)  # `frd-q cards` after a format change
    for path in sorted(shipped.glob("*.json")):
        c = json.loads(path.read_text())
        per_dataset = {k: Confusion(*(int(n) for n in v.sum(axis=0))) for k, v in block_counts_of(c).items()}
        assert {k: round(x.metrics()["f1"], 4) for k, x in per_dataset.items()} == \
            {k: v["f1"] for k, v in c["test"].items() if k not in ("dataset mean", "all pixels")}, path.name
