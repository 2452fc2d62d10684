"""The package layout: a task-agnostic core, one package per task, no cycles."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from fedvideo.tasks import TASKS, task_class

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "fedvideo"
#: Task-agnostic packages: they import no task code, not even the registry.
CORE_PACKAGES = ("fl", "data", "strategies", "reports")
#: Task-agnostic top-level modules (the apps may use the task registry).
CORE_MODULES = ("config", "utils", "strategy", "client_app", "server_app")
#: Index modules for users; fedvideo's own code never imports them.
INDEX_MODULES = ("fedvideo.losses", "fedvideo.metrics", "fedvideo.schedules")
BASELINE_MODULES = ("client_app", "server_app", "strategy", "model", "dataset", "utils")


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported_modules(path: Path, top_level: bool = True) -> set[str]:
    """fedvideo modules that ``path`` imports, at module level or inside functions."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level else ast.walk(tree)
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.add(full if full in MODULES else node.module)
    return {name for name in found if name.split(".")[0] == "fedvideo"}


def function_level_imports(path: Path) -> set[str]:
    everywhere = imported_modules(path, top_level=False)
    return everywhere - imported_modules(path, top_level=True)


def test_no_module_level_import_cycle():
    graph = {name: imported_modules(path) for name, path in MODULES.items()}
    state: dict[str, str] = {}

    def visit(name: str, stack: list[str]) -> None:
        state[name] = "open"
        for child in sorted(graph.get(name, ())):
            if state.get(child) == "open":
                cycle = stack[stack.index(child) :] + [child]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if child not in state:
                visit(child, [*stack, child])
        state[name] = "done"

    for name in graph:
        if name not in state:
            visit(name, [name])


def test_no_deferred_imports_of_fedvideo_modules():
    deferred = {
        name: sorted(function_level_imports(path))
        for name, path in MODULES.items()
        if function_level_imports(path)
    }
    assert deferred == {}


def test_core_imports_no_task_code():
    for name, path in MODULES.items():
        parts = name.split(".")
        in_core_package = len(parts) > 1 and parts[1] in CORE_PACKAGES
        is_core_module = len(parts) == 2 and parts[1] in CORE_MODULES
        if not (in_core_package or is_core_module):
            continue
        tasks = {m for m in imported_modules(path) if m.startswith("fedvideo.tasks")}
        if is_core_module and name.endswith("_app"):
            tasks -= {"fedvideo.tasks"}  # the apps build the task by name
        assert not tasks, f"{name} imports task code: {sorted(tasks)}"


def test_tasks_are_packages_that_import_no_other_task():
    for name in TASKS:
        package = PACKAGE / "tasks" / name
        assert (package / "__init__.py").is_file(), f"task {name} is no package"
        assert task_class(name).__module__.startswith(f"fedvideo.tasks.{name}.")
        for module, path in MODULES.items():
            if not module.startswith(f"fedvideo.tasks.{name}."):
                continue
            others = {
                m
                for m in imported_modules(path)
                if m.startswith("fedvideo.tasks.")
                and not m.startswith(f"fedvideo.tasks.{name}.")
                and m != f"fedvideo.tasks.{name}"
            }
            assert not others, f"{module} imports another task: {sorted(others)}"


def test_index_modules_are_for_users_only():
    for name, path in MODULES.items():
        used = imported_modules(path, top_level=False) & set(INDEX_MODULES)
        assert not used, f"{name} imports the index module(s) {sorted(used)}"


def test_at_most_twelve_modules_directly_in_the_package():
    top_level = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert len(top_level) <= 12, top_level


def test_baseline_modules_hold_code():
    for name in BASELINE_MODULES:
        tree = ast.parse((PACKAGE / f"{name}.py").read_text())
        own = [
            node
            for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.ClassDef)
            or (isinstance(node, ast.Assign) and not _is_all(node))
            or isinstance(node, ast.AnnAssign)
        ]
        assert own, f"fedvideo/{name}.py defines nothing of its own"


def _is_all(node: ast.Assign) -> bool:
    return any(getattr(target, "id", None) == "__all__" for target in node.targets)


@pytest.mark.parametrize(
    "module, names",
    [
        ("fedvideo.losses", ["dwt3d", "hifr_loss", "charbonnier", "vsr_loss"]),
        ("fedvideo.metrics", ["psnr", "ssim", "pckh"]),
        ("fedvideo.strategies", ["fedvsr_weights", "fedvssl_weights"]),
        ("fedvideo.schedules", ["multigrid", "cosine_lr"]),
        ("fedvideo.strategy", ["build_strategy", "STRATEGIES"]),
        ("fedvideo.model", ["build_model"]),
        ("fedvideo.dataset", ["load_client_data", "load_test_data"]),
    ],
)
def test_documented_public_names_import(module, names):
    imported = importlib.import_module(module)
    for name in names:
        assert callable(getattr(imported, name)) or isinstance(
            getattr(imported, name), dict
        )


@pytest.mark.parametrize(
    "task, other", [("pose", "vsr"), ("ssl", "pose"), ("vsr", "ssl")]
)
def test_importing_one_task_loads_no_other(task, other):
    code = (
        "import sys; import importlib; "
        f"importlib.import_module('fedvideo.tasks.{task}.task'); "
        f"loaded = [m for m in sys.modules if m.startswith('fedvideo.tasks.{other}')]; "
        "assert not loaded, loaded"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
