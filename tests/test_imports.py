"""The package's entry points: what ``import auralisation`` loads, what loading a model needs, its import graph.

The import checks run in a fresh interpreter (a subprocess), where ``sys.modules`` shows what an import really
loads.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(code: str) -> str:
    """Run ``code`` in a fresh interpreter that imports this checkout; return its stdout."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_import_auralisation_loads_no_numerics() -> None:
    out = _run("""
        import sys
        import auralisation
        heavy = [name for name in ("numpy", "tensorflow", "keras", "librosa", "sklearn") if name in sys.modules]
        print(heavy, sorted(name for name in sys.modules if name.startswith("auralisation")))
    """)
    assert out.strip() == "[] ['auralisation']"


def test_saving_and_loading_a_model_needs_no_scikit_learn() -> None:
    """With scikit-learn made unimportable, a model still saves and loads, and no training module is imported."""
    out = _run("""
        import sys, tempfile
        sys.modules["sklearn"] = None  # any `import sklearn` now raises ImportError
        from auralisation.audio import AudioConfig
        from auralisation.io import load_model, save_model
        from auralisation.models import choi2016
        config = AudioConfig(n_fft=62, hop_length=64, duration=0.2)
        folder = save_model(tempfile.mkdtemp() + "/m", choi2016(config, 2, width=2, seed=0), config, ["a", "b"])
        trained = load_model(folder)
        loaded = [name for name in ("auralisation.training", "auralisation.evaluate", "auralisation.baseline",
                                    "auralisation.data") if name in sys.modules]
        print(trained.classes, trained.config == config, loaded)
    """)
    assert out.strip() == "['a', 'b'] True []"


def test_every_public_name_resolves() -> None:
    import auralisation
    from auralisation.deconv import deconvolve

    for name in auralisation.__all__:
        assert getattr(auralisation, name) is not None
    assert auralisation.deconvolve is deconvolve
    with pytest.raises(AttributeError, match="nope"):
        auralisation.nope  # noqa: B018


def _import_graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """The package's imports read from its source: module -> the package's modules it imports when it is imported
    (outside functions and ``if TYPE_CHECKING:``), and module -> those it imports anywhere (a function's import
    included: a cycle through one is still two modules that need each other)."""
    package = ROOT / "auralisation"
    modules = {}
    for path in package.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    def targets(node: ast.AST, module: str) -> list[str]:
        if isinstance(node, ast.Import):
            return [alias.name for alias in node.names]
        assert isinstance(node, ast.ImportFrom)
        if node.level:
            base = module.split(".")
            base = base[: len(base) - node.level + (modules[module].name == "__init__.py")]
            stem = ".".join([*base, *([node.module] if node.module else [])])
        else:
            stem = node.module or ""
        return [f"{stem}.{alias.name}" for alias in node.names]

    eager: dict[str, set[str]] = {name: set() for name in modules}
    anywhere: dict[str, set[str]] = {name: set() for name in modules}

    def visit(node: ast.AST, module: str, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                for target in targets(child, module):
                    found = resolve(target) if target.startswith("auralisation") else None
                    if found and found != module:
                        anywhere[module].add(found)
                        if top:
                            eager[module].add(found)
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                visit(child, module, False)
            elif isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                visit(child, module, False)
            else:
                visit(child, module, top)

    for name, path in modules.items():
        visit(ast.parse(path.read_text(encoding="utf-8")), name, True)
    return eager, anywhere


def test_the_import_graph_has_no_cycle_and_no_arrow_into_the_command_line() -> None:
    eager, anywhere = _import_graph()
    in_cli = {module for module in anywhere if module.split(".")[:2] == ["auralisation", "cli"]}
    into_cli = sorted(f"{module} -> {target}" for module, found in anywhere.items() if module not in in_cli
                      for target in found & in_cli)
    assert not into_cli, into_cli
    state: dict[str, int] = {}  # 1 on the current path, 2 done

    def cycle_from(module: str, path: list[str]) -> list[str] | None:
        state[module] = 1
        for target in sorted(anywhere[module]):
            if state.get(target) == 1:
                return [*path[path.index(target):], target] if target in path else [module, target]
            if target not in state:
                found = cycle_from(target, [*path, target])
                if found:
                    return found
        state[module] = 2
        return None

    for module in sorted(anywhere):
        if module not in state:
            cycle = cycle_from(module, [module])
            assert cycle is None, f"import cycle: {' -> '.join(cycle)}"
    assert eager["auralisation.cli.auralise"] >= {"auralisation.cli.options"}  # the graph is read at all
    assert "auralisation.io" not in eager["auralisation.cli.options"] <= anywhere["auralisation.cli.options"]


def test_no_argparse_outside_the_command_line() -> None:
    users = sorted(str(path.relative_to(ROOT)) for path in (ROOT / "auralisation").rglob("*.py")
                   if path.relative_to(ROOT).parts[1] != "cli" and "argparse" in path.read_text(encoding="utf-8"))
    assert not users, users
