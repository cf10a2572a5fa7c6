"""Shared fixtures: the real data under ../shared, tiny configs for fast runs, and a trained tiny checkpoint."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
REAL_CD = SHARED / "real_cd"


# The test files that take minutes, heaviest first (their slowest setups and calls in `pytest --durations=40`,
# 2-core CPU, 2026-12-06, add up to about 500, 490, 440, 430 and 210 s). scripts/test.sh runs pytest-xdist with
# --dist loadfile and --no-loadscope-reorder, which hands the files to the workers in collection order; collected
# first, these start first and the short files fill in behind them. Ordered by xdist's default instead (most tests
# first), a one-test file of 8 minutes was handed out last and ran alone at the end.
HEAVY_FILES = ("tests/sim/test_verify.py", "tests/hil/test_siamese_tile256.py", "tests/hil/test_siamese_rtl.py",
               "tests/test_sweep.py", "tests/hw/test_flow.py")


def pytest_collection_modifyitems(config, items):
    rank = {f: i for i, f in enumerate(HEAVY_FILES)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))  # stable: the rest keep order


@pytest.fixture(scope="session")
def real_cd() -> Path:
    assert (REAL_CD / "LEVIR-CD" / "A").is_dir(), f"the shared real data must be at {REAL_CD}"
    return REAL_CD


def load_script(name: str):
    """scripts/<name>.py imported as a module (the scripts are not a package)."""
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def copy_pairs(src_dataset: Path, names: list[str], dst: Path) -> Path:
    """Copy the named pairs of one real dataset folder into dst/{A,B,label} (for tests that damage files)."""
    for sub in ("A", "B", "label"):
        (dst / sub).mkdir(parents=True, exist_ok=True)
        for n in names:
            shutil.copy(src_dataset / sub / f"{n}.png", dst / sub / f"{n}.png")
    return dst


def tiny_config(tmp_path: Path, real: Path, arch: str = "student", **train) -> dict:
    """A config dict that trains in seconds: two LEVIR pairs for training, one for validation."""
    train_list = tmp_path / "train.txt"
    train_list.write_text("LEVIR-CD/train_36_0512_0512\nLEVIR-CD/test_2_0000_0000\n")
    val_list = tmp_path / "val.txt"
    val_list.write_text("LEVIR-CD/val_27_0000_0256\n")
    model = {"arch": arch, "widths": [8, 16], "weight_bits": 4, "act_bits": 4}
    if arch == "teacher":
        model = {"arch": "teacher", "widths": [8, 16], "blocks": [1, 1]}
    return {
        "name": "tiny",
        "data": {
            "train": [{"root": str(real), "list": str(train_list)}],
            "val": [{"root": str(real), "list": str(val_list)}],
            "tile_size": 256,
            "crop_size": 64,
        },
        "model": model,
        "train": {"steps": 4, "batch_size": 4, "val_every": 2, "log_every": 1, "warmup_steps": 2,
                  "out_dir": str(tmp_path / "runs"), "device": "cpu", **train},
    }


def write_config(path: Path, cfg: dict) -> Path:
    path.write_text(yaml.safe_dump(cfg))
    return path


def _train_tiny(tmp_path_factory, real_cd, arch: str, **train) -> Path:
    from frd_q.config import config_from_dict
    from frd_q.train.loop import train as run_training

    tmp = tmp_path_factory.mktemp(f"tiny_{arch}")
    cfg = config_from_dict(tiny_config(tmp, real_cd, arch, **train))
    run_training(cfg, progress=False)
    return tmp / "runs" / "tiny" / "best.pt"


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory, real_cd) -> Path:
    """A tiny W4A4 Siamese student trained for 4 steps on real pairs (shared by the evaluate/predict tests)."""
    return _train_tiny(tmp_path_factory, real_cd, "student")


@pytest.fixture(scope="session")
def tiny_teacher_checkpoint(tmp_path_factory, real_cd) -> Path:
    """A tiny float teacher trained for 4 steps on real pairs."""
    return _train_tiny(tmp_path_factory, real_cd, "teacher")


@pytest.fixture(scope="session")
def tiny_early_checkpoint(tmp_path_factory, real_cd) -> Path:
    """A tiny W4A4 early-fusion student trained for 4 steps on real pairs."""
    return _train_tiny(tmp_path_factory, real_cd, "early")


@pytest.fixture(scope="session")
def siamese_build(tmp_path_factory, tiny_checkpoint):
    """The FINN flow on the tiny Siamese student for ZCU104, fastest folding, FINN's FIFOs (not sized): (folder,
    summary). Its first convolutions are folded to SIMD = MW (tests/sim/test_verify.py)."""
    from hw.flow import BuildConfig, run_flow

    out = tmp_path_factory.mktemp("build") / "zcu104"
    return out, run_flow(BuildConfig(checkpoint=tiny_checkpoint, board="ZCU104", out=out, fifo_sizing="off"),
                         log=lambda *a, **k: None)


@pytest.fixture(scope="session")
def early_build(tmp_path_factory, tiny_early_checkpoint):
    """The FINN flow on the tiny early-fusion (all-RTL) student for Pynq-Z1: (folder, summary)."""
    from hw.flow import BuildConfig, run_flow

    out = tmp_path_factory.mktemp("build") / "pynq"
    return out, run_flow(BuildConfig(checkpoint=tiny_early_checkpoint, board="Pynq-Z1", out=out),
                         log=lambda *a, **k: None)


@pytest.fixture(scope="session")
def sim_cache(tmp_path_factory, worker_id) -> Path:
    """One Verilator cache (binaries and results, keyed by content, written by atomic renames) shared by the
    simulation tests, and by the pytest-xdist workers: the folder above a worker's base temp is the run's."""
    base = tmp_path_factory.getbasetemp()
    path = (base.parent if worker_id != "master" else base) / "sim_cache"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(autouse=True)
def verilator_only_in_hil_tests(request, monkeypatch):
    """A test that compiles or runs a Verilator simulation must carry the `hil` marker (so `-m "not hil"` is the
    suite without simulations): elsewhere the two entry points of hw.rtlsim.verilator fail the test."""
    if request.node.get_closest_marker("hil") is not None:
        return
    from hw.rtlsim import verilator

    def refuse(*args, **kwargs):
        raise AssertionError(f"{request.node.nodeid} runs Verilator but is not marked `hil`")

    monkeypatch.setattr(verilator, "compile_top", refuse)
    monkeypatch.setattr(verilator, "run", refuse)


@pytest.fixture
def codegen_build():
    """write(model, root, part) -> a synthetic build folder for a code-generated graph made in a test: every RTL
    node's HDL generated by FINN into finn_tmp/ and copied to hdl/<node>/ (as the flow's codegen step does), the
    graph saved as intermediate/08_codegen.onnx; no summary.json."""

    def write(model, root: Path, part: str) -> Path:
        from qonnx.custom_op.registry import getCustomOp

        from hw.buildfolder import BuildFolder
        from hw.finn_env import finn_session
        from hw.graph import backend

        folder = BuildFolder(root / "build", must_exist=False)
        folder.intermediate.mkdir(parents=True)
        with finn_session(folder.finn_tmp):
            for node in model.graph.node:
                if backend(node.op_type) != "rtl":
                    continue
                gen = folder.finn_tmp / f"code_gen_ipgen_{node.name}"
                gen.mkdir(parents=True)
                inst = getCustomOp(node)
                inst.set_nodeattr("code_gen_dir_ipgen", str(gen))
                inst.generate_hdl(model, part, 5.0)
                shutil.copytree(gen, folder.hdl / node.name)
        model.save(str(folder.step_model_path(8, "codegen")))
        return folder.path

    return write
