"""The Python package's shape (docs/architecture.md): stage packages that import only from
stages before them, no import cycles, every exception class in lockstep.errors, and the
public API that DESIGN.md names. Read from the source with ast, so a violation is caught
whether or not the import ever runs."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import lockstep

PACKAGE = Path(lockstep.__file__).resolve().parent
# The pipeline's stages in order; each may import from itself and from the ones before it.
# errors (with the compiled _core) comes first: every stage raises its exceptions.
STAGES = ("_core", "errors", "formats", "text", "inspection", "routing", "backends", "dispatch",
          "conversion", "zoo", "testing", "cli")
# The package root (the public API) and `python -m lockstep` sit above every stage.
ENTRY_POINTS = ("lockstep", "lockstep.__main__")


def _module_name(path: Path) -> str:
    parts = ("lockstep", *path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1]) if parts[-1] == "__init__" else ".".join(parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(module: str) -> set[str]:
    """The lockstep modules `module` imports at run time, anywhere in its body (function-level
    imports included: a lazy import is still a dependency)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if _is_type_checking_block(node):
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == "lockstep")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            if base.split(".")[0] == "lockstep":
                for alias in node.names:
                    candidate = f"{base}.{alias.name}"
                    found.add(candidate if candidate in MODULES or candidate == "lockstep._core" else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    found.discard(module)
    return found


def _stage(module: str) -> int | None:
    parts = module.split(".")
    return STAGES.index(parts[1]) if len(parts) > 1 and parts[1] in STAGES else None


GRAPH = {module: _imports(module) for module in MODULES}


def test_every_module_belongs_to_a_stage():
    loose = [m for m in MODULES if m not in ENTRY_POINTS and _stage(m) is None]
    assert not loose, f"modules outside the stage packages {STAGES}: {loose}"


def test_stages_import_only_from_earlier_stages():
    violations = []
    for module, imported in GRAPH.items():
        if module in ENTRY_POINTS:
            continue
        for target in imported:
            if target == "lockstep":
                violations.append(f"{module} imports the package root (import from the stage that owns the name)")
            elif (_stage(target) or 0) > (_stage(module) or 0):
                violations.append(f"{module} ({STAGES[_stage(module)]}) imports {target} ({STAGES[_stage(target)]})")
    assert not violations, "imports against the stage order " + " <- ".join(STAGES) + ":\n" + "\n".join(sorted(violations))


def test_no_import_cycles():
    cycles, state = [], {}

    def walk(module: str, path: list[str]) -> None:
        state[module] = "open"
        for target in sorted(GRAPH.get(module, ())):
            if target not in GRAPH:
                continue
            if state.get(target) == "open":
                cycles.append(" -> ".join(path[path.index(target):] + [target]))
            elif target not in state:
                walk(target, path + [target])
        state[module] = "done"

    for module in GRAPH:
        if module not in state:
            walk(module, [module])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_guard_sees_a_violation_and_a_cycle(tmp_path, monkeypatch):
    # The checks above must be able to fail: a formats module importing dispatch is both
    # against the order and, with dispatch importing formats, a cycle.
    monkeypatch.setitem(GRAPH, "lockstep.formats.gguf", GRAPH["lockstep.formats.gguf"] | {"lockstep.dispatch.crossval"})
    with pytest.raises(AssertionError, match="imports lockstep.dispatch.crossval"):
        test_stages_import_only_from_earlier_stages()
    monkeypatch.setitem(GRAPH, "lockstep.dispatch.crossval", GRAPH["lockstep.dispatch.crossval"] | {"lockstep.formats.gguf"})
    with pytest.raises(AssertionError, match="import cycles"):
        test_no_import_cycles()


def test_every_exception_class_is_defined_in_errors():
    elsewhere = []
    for module, path in MODULES.items():
        if module == "lockstep.errors":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                (ast.unparse(base).endswith(("Error", "Exception", "Unavailable"))) for base in node.bases
            ):
                elsewhere.append(f"{module}.{node.name}")
    assert not elsewhere, f"exception classes outside lockstep.errors: {elsewhere}"


def test_public_api_has_the_names_design_md_gives():
    for name in ("inspect", "load", "crossval", "compare_logits", "Tokenizer", "gguf", "dequantize", "quantize",
                 "default_model_path", "CrossvalReport", "ModelInfo", "NativeModel", "FormatError", "route"):
        assert name in lockstep.__all__ and hasattr(lockstep, name), name
    assert callable(lockstep.gguf.open) and callable(lockstep.safetensors.open)


def _stub_names(body: list[ast.stmt]) -> set[str]:
    names: set[str] = set()
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def test_the_compiled_module_has_a_stub_that_names_all_of_it():
    """python/lockstep/_core.pyi declares every public name of the compiled module, and each bound
    class's members, and nothing else (regenerate with scripts/gen_core_stub.py)."""
    from lockstep import _core

    tree = ast.parse((PACKAGE / "_core.pyi").read_text(encoding="utf-8"))
    public = {name for name in vars(_core) if not name.startswith("_")}
    declared = _stub_names(tree.body) - {"__all__"}
    assert public - declared == set(), "missing from _core.pyi: run scripts/gen_core_stub.py"
    assert declared - public == set(), "_core.pyi declares what _core lacks: run scripts/gen_core_stub.py"
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            members = {name for name in vars(getattr(_core, node.name)) if not name.startswith("_")}
            assert members <= _stub_names(node.body), f"_core.pyi: class {node.name} lacks members"
