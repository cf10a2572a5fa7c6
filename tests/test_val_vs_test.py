"""scripts/val_vs_test.py: ranks with ties, the sign of Spearman, and the evaluate report it reads."""

import pytest

from conftest import load_script


def test_ranks_average_ties_and_spearman_sign():
    vt = load_script("val_vs_test")
    assert vt.ranks([0.3, 0.1, 0.3, 0.2]) == [2.5, 0.0, 2.5, 1.0]
    assert vt.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert vt.spearman([1, 2, 3, 4], [9, 7, 5, 1]) == pytest.approx(-1.0)


def test_reads_runs_and_refuses_other_files(tmp_path, capsys, monkeypatch):
    vt = load_script("val_vs_test")
    report = ("x/best.pt: change = logit > 0.25\n"
              "set  precision recall f1 iou oa kappa\n"
              "LEVIR-CD (4)          62.58      87.62      73.01      57.50      89.89      67.01\n"
              "dataset mean (7)      54.15      61.39      {m:.2f}      39.65      84.38      41.85\n"
              "all (11 pairs)        63.77      46.73      {a:.2f}      36.93      88.24      47.38\n")
    for i, (val, mean, all_) in enumerate([(0.50, 40.0, 45.0), (0.55, 45.0, 44.0), (0.60, 50.0, 43.0)]):
        run = tmp_path / f"r{i}"
        run.mkdir()
        (run / "val_log.csv").write_text(f"step,f1_mean\n250,{val - 0.1}\n500,{val}\n")
        (tmp_path / f"r{i}.test.txt").write_text(report.format(m=mean, a=all_))
    (tmp_path / "lonely").mkdir()
    monkeypatch.setattr("sys.argv", ["val_vs_test.py"] + [str(tmp_path / n) for n in ("r0", "r1", "r2", "lonely")])
    vt.main()
    out = capsys.readouterr()
    assert "| r2 | 0.600 | 50.0 | 43.0 |" in out.out
    assert "Spearman(val, test dataset mean) over 3 runs: +1.00" in out.out
    assert "Spearman(val, test all) over 3 runs: -1.00" in out.out
    assert "skipped" in out.err and "lonely" in out.err
    (tmp_path / "r1.test.txt").write_text("not a report\n")
    with pytest.raises(SystemExit, match="r1.test.txt"):
        vt.main()
