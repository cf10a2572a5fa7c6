"""The import direction of the layers: core -> hw -> sim -> apps -> flows, each importing only from itself and the
layers before it, and no import cycle between modules (function-level imports counted: they may not hide one).

    core   frd_q (data, models, distill, train, export, metrics, scene, infer, config)
    hw     hw    (the FINN flow, RTL generation, stitching, finn-rtllib fixes, Verilator runs for FIFO sizing)
    sim    sim   (checks on a finished build: check, verify, bisect, HIL, SEU, faults)
    apps   frd_q.apps (the frd-q command, sweep, report)
    flows  flows (thin scripts)
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LAYERS = ["core", "hw", "sim", "apps", "flows"]
PREFIXES = {"frd_q.apps": "apps", "frd_q": "core", "hw": "hw", "sim": "sim", "flows": "flows"}  # longest first


def layer_of(module: str) -> str | None:
    for prefix, layer in PREFIXES.items():
        if module == prefix or module.startswith(prefix + "."):
            return layer
    return None


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules(root: Path = REPO) -> dict[str, Path]:
    found = {}
    for top in ("frd_q", "hw", "sim", "flows"):
        for path in sorted((root / top).rglob("*.py")):
            found[module_name(path, root)] = path
    return found


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> dict[str, int]:
    """{imported project module: line} for every import statement in the file, at any depth (functions too)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = {}
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            # `from pkg import mod` imports pkg.mod when that is a module, else a name defined in pkg
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:  # `import a.b.c` of a name inside a module: its module
                target = target.rpartition(".")[0]
            if target and layer_of(target) and target != name:
                out.setdefault(target, node.lineno)
    return out


def graph(root: Path = REPO) -> tuple[dict[str, Path], dict[str, dict[str, int]]]:
    modules = project_modules(root)
    return modules, {name: imports_of(name, path, modules) for name, path in modules.items()}


def upward_imports(modules, edges, root: Path = REPO) -> list[str]:
    bad = []
    for name, targets in edges.items():
        here = LAYERS.index(layer_of(name))
        for target, line in targets.items():
            if LAYERS.index(layer_of(target)) > here:
                bad.append(f"{modules[name].relative_to(root)}:{line}: {layer_of(name)} module {name} imports "
                           f"{layer_of(target)} module {target}")
    return bad


def cycles(edges) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_every_module_belongs_to_a_layer():
    modules = project_modules()
    assert "frd_q.apps.cli" in modules and "hw.flow" in modules and "sim.verify" in modules
    assert all(layer_of(m) for m in modules)


def test_imports_only_go_down():
    modules, edges = graph()
    assert upward_imports(modules, edges) == []


def test_no_import_cycles():
    _, edges = graph()
    assert cycles(edges) == []


@pytest.mark.parametrize("files, expect", [
    # an upward import hidden inside a function is still found
    ({"frd_q/__init__.py": "", "frd_q/infer.py": "def f():\n    from sim.verify import verify\n",
      "sim/__init__.py": "", "sim/verify.py": ""}, "up"),
    # a cycle through a function-level import is still found
    ({"hw/__init__.py": "", "hw/check.py": "from hw.runner import R\n",
      "hw/runner.py": "def g():\n    from hw.check import x\n"}, "cycle"),
    # `from pkg import module` and relative imports resolve to the module
    ({"hw/__init__.py": "", "hw/a.py": "from . import b\n", "hw/b.py": "from hw import a\n"}, "cycle"),
    ({"hw/__init__.py": "", "hw/a.py": "import sim.x\n", "sim/__init__.py": "", "sim/x.py": ""}, "up"),
    ({"frd_q/__init__.py": "", "frd_q/apps/__init__.py": "", "frd_q/apps/cli.py": "import sim.verify\nimport hw\n",
      "sim/__init__.py": "", "sim/verify.py": "from frd_q import errors\n", "frd_q/errors.py": ""}, "clean"),
])
def test_the_checker_finds_upward_imports_and_cycles(tmp_path, files, expect):
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    for top in ("frd_q", "hw", "sim", "flows"):
        (tmp_path / top).mkdir(exist_ok=True)
    modules, edges = graph(tmp_path)
    up, loops = upward_imports(modules, edges, tmp_path), cycles(edges)
    assert (bool(up), bool(loops)) == {"up": (True, False), "cycle": (False, True), "clean": (False, False)}[expect]
