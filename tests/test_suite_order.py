"""The suite's own scheduling aid: tests/conftest.py puts the files that take minutes first (see HEAVY_FILES)."""

from types import SimpleNamespace

from conftest import HEAVY_FILES, REPO, pytest_collection_modifyitems


def test_heavy_files_exist_and_are_moved_to_the_front_in_order():
    for f in HEAVY_FILES:
        assert (REPO / f).is_file(), f"{f} is named in tests/conftest.py HEAVY_FILES but does not exist"
    ids = ["tests/a.py::t1", f"{HEAVY_FILES[1]}::t", "tests/b.py::t", f"{HEAVY_FILES[0]}::t2",
           "tests/a.py::t2", f"{HEAVY_FILES[0]}::t1"]
    items = [SimpleNamespace(nodeid=i) for i in ids]
    pytest_collection_modifyitems(None, items)
    assert [i.nodeid for i in items] == [f"{HEAVY_FILES[0]}::t2", f"{HEAVY_FILES[0]}::t1", f"{HEAVY_FILES[1]}::t",
                                         "tests/a.py::t1", "tests/b.py::t", "tests/a.py::t2"]
