"""hw.runner: what BuildRunner and QonnxRunner say about inputs that are not what they read (one ConfigError naming
the file), and QonnxRunner on tiny exported graphs of both students (tile, channels, and the PyTorch model's
logits, the early-fusion ones upsampled on the host)."""

import numpy as np
import pytest
import torch

from frd_q.errors import ConfigError
from hw.runner import BuildRunner, QonnxRunner

TILE = 32  #: a multiple of the tiny students' size multiple (2), small enough to execute in a fraction of a second


def one_error(excinfo) -> str:
    """The message of a ConfigError raised on its own (not chained to the error that caused it), one line."""
    e = excinfo.value
    assert type(e) is ConfigError and e.__cause__ is None and (e.__context__ is None or e.__suppress_context__)
    assert "\n" not in str(e)
    return str(e)


@pytest.mark.parametrize("make", ["missing", "empty dir", "file"])
def test_a_folder_that_is_not_a_build_is_one_error_naming_summary_json(tmp_path, make):
    path = tmp_path / "nothing"
    if make == "empty dir":
        path.mkdir()
    elif make == "file":
        path.write_text("not a folder")
    with pytest.raises(ConfigError) as excinfo:
        BuildRunner(path)
    message = one_error(excinfo)
    assert f"{path / 'summary.json'}: not found" in message and "flows/build.py output folder" in message


def test_a_broken_or_foreign_summary_is_one_error_naming_it(tmp_path):
    summary = tmp_path / "summary.json"
    summary.write_text('{"board": ')
    with pytest.raises(ConfigError) as excinfo:
        BuildRunner(tmp_path)
    assert one_error(excinfo).startswith(f"{summary}: not valid JSON")
    summary.write_text('{"accuracy": 0.9, "board": {}}')  # some other tool's summary.json
    with pytest.raises(ConfigError) as excinfo:
        BuildRunner(tmp_path)
    assert one_error(excinfo) == f"{summary}: unknown keys ['accuracy'] (written by another frd_q version?)"
    for partial, missing in (("{}", "no hw_checkpoint"), ('{"hw_checkpoint": "m.pt"}', "no config.tile")):
        summary.write_text(partial)  # a summary without what a finished build records
        with pytest.raises(ConfigError) as excinfo:
            BuildRunner(tmp_path)
        assert one_error(excinfo).startswith(f"{summary}: {missing}")


def test_qonnx_runner_names_a_missing_graph(tmp_path):
    for path in (tmp_path / "none.onnx", tmp_path):  # a folder is no graph either
        with pytest.raises(ConfigError) as excinfo:
            QonnxRunner(path)
        assert one_error(excinfo) == f"{path}: QONNX graph not found"


@pytest.mark.parametrize("content", [b"name,value\nx,1\n" * 8, bytes(range(256)) * 4])
def test_qonnx_runner_names_a_file_that_is_not_onnx(tmp_path, content):
    path = tmp_path / "model.onnx"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as excinfo:
        QonnxRunner(path)
    assert one_error(excinfo) == f"{path}: cannot read ONNX model (DecodeError)"


def test_qonnx_runner_names_an_empty_file(tmp_path):
    path = tmp_path / "empty.onnx"
    path.write_bytes(b"")  # onnx reads no bytes as a model without inputs
    with pytest.raises(ConfigError) as excinfo:
        QonnxRunner(path)
    assert one_error(excinfo) == f"{path}: not an exported frd_q graph (no inputs or outputs)"


@pytest.fixture(scope="module")
def exported(tmp_path_factory, tiny_checkpoint, tiny_early_checkpoint):
    """{arch: (graph path, tie-free PyTorch model)} of the two tiny trained students exported at TILE."""
    from frd_q.export.qonnx import export_checkpoint
    from frd_q.train.checkpoint import load_model

    out = tmp_path_factory.mktemp("exported")
    graphs = {}
    for arch, ckpt in (("student", tiny_checkpoint), ("early", tiny_early_checkpoint)):
        result = export_checkpoint(ckpt, TILE, out / f"{arch}.onnx")
        graphs[arch] = result["onnx"], load_model(result["checkpoint"])[0]
    return graphs


def torch_logits(model, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    to = lambda x: torch.from_numpy(x).permute(0, 3, 1, 2).float() / 255.0  # noqa: E731
    with torch.no_grad():
        return model(to(a), to(b))[:, 0].numpy()  # (N, 1, H, W) logits at full resolution


@pytest.mark.parametrize("arch,inputs", [("student", 2), ("early", 1)])
def test_qonnx_runner_reads_tile_and_channels_and_returns_the_models_logits(exported, arch, inputs):
    """Synthetic pixels (two random window pairs) through the exported graph of a tiny trained student."""
    from frd_q.export.qonnx import run_qonnx

    path, model = exported[arch]
    runner = QonnxRunner(path)
    assert len(runner.graph.graph.input) == inputs  # early fusion stacks both dates along channels
    assert (runner.tile, runner.channels, runner.size_multiple) == (TILE, 3, 1)
    rng = np.random.default_rng(0)
    a, b = (rng.integers(0, 256, (2, TILE, TILE, 3)).astype(np.uint8) for _ in range(2))
    got = runner(a, b)
    assert got.shape == (2, TILE, TILE) and got.dtype == np.float32
    want = torch_logits(model, a, b) - np.float32(runner.threshold)  # the runner returns logit - threshold
    assert np.abs(want).max() > 0.01 and want.std() > 1e-3  # logits that vary (a tiny student's are about 0.1)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)  # the same up to float32 rounding (measured: 2e-8)
    raw = run_qonnx(runner.graph, a[0], b[0])
    if arch == "early":  # the graph's logits are at the core's lower resolution; the runner upsamples them
        assert raw.shape[-1] < TILE
    else:
        assert raw.shape == (1, 1, TILE, TILE) and np.array_equal(raw[0, 0], got[0])


def test_exported_graph_carries_the_decision_threshold(tiny_checkpoint, tmp_path):
    import torch

    from frd_q.export import export_checkpoint

    ckpt = torch.load(tiny_checkpoint, weights_only=False)
    ckpt["metrics"]["threshold"] = 1.25
    moved = tmp_path / "t.pt"
    torch.save(ckpt, moved)
    export_checkpoint(moved, 64, tmp_path / "m.onnx")
    runner = QonnxRunner(tmp_path / "m.onnx")
    assert runner.threshold == 1.25
    a = np.random.default_rng(0).integers(0, 256, (1, 64, 64, 3), dtype=np.uint8)
    shifted = runner(a, a[:, ::-1])
    runner.threshold = 0.0
    assert np.allclose(runner(a, a[:, ::-1]) - 1.25, shifted)
