"""The package's floors only look down; each list, default and results path lives in one place."""

import ast
import re
from pathlib import Path

import pytest
import yaml

from conftest import string_literals  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "rvae"
SCHEMA = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())

# A module's floor, and the floors it may import from. The command line is the top floor, the
# application: it may use the library and the paper; of the workflow, only the path registry
# (plain strings; `rvae findings` reads a results folder through it). Nothing may import it.
FLOORS = {"core": {"core"}, "paper": {"core", "paper"}, "workflow": {"core", "paper", "workflow"}, "app": {"core", "paper"}}
APP = "rvae.cli"
APP_MAY_ALSO_IMPORT = {"rvae.workflow", "rvae.workflow.paths"}


def floor_of(module: str) -> str:
    if module == APP or module.startswith(APP + "."):
        return "app"
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ("paper", "workflow") else "core"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str) -> set[str]:
    """Every ``rvae`` module a source imports, at any depth (functions included), relative imports resolved."""
    found = set()
    package = module.split(".") if module.count(".") == 0 else module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            found |= {base} | {f"{base}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module":
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                found.add(node.args[0].value)
    return {name for name in found if name == "rvae" or name.startswith("rvae.")}


def upward_imports(source: str, module: str) -> list[str]:
    floor = floor_of(module)
    extra = APP_MAY_ALSO_IMPORT if floor == "app" else set()
    return sorted(name for name in imported_modules(source, module) if floor_of(name) not in FLOORS[floor] and name not in extra)


def package_modules():
    return sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", package_modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_each_floor_imports_only_from_its_own_or_lower_floors(path):
    module = module_name(path)
    assert not upward_imports(path.read_text(), module), f"{module} imports {upward_imports(path.read_text(), module)}"


def test_the_layer_check_catches_an_upward_import():
    assert "rvae.paper.plan" in upward_imports("from rvae.paper.plan import Cell\n", "rvae.trainer")
    assert upward_imports("def f():\n    import rvae.workflow.paths\n", "rvae.paper.tables") == ["rvae.workflow.paths"]
    assert "rvae.workflow" in upward_imports("from ..workflow import paths\n", "rvae.paper.plan")
    assert upward_imports("import importlib\nimportlib.import_module('rvae.paper.plan')\n", "rvae.data") == ["rvae.paper.plan"]
    assert upward_imports("from rvae.models import VAE\n", "rvae.workflow.params") == []
    # the command line: library, paper and the path registry, nothing else of the workflow; nobody imports it
    assert upward_imports("from rvae.workflow import paths\nfrom rvae.paper.findings import build_findings\n", "rvae.cli") == []
    assert "rvae.workflow.targets" in upward_imports("from rvae.workflow.targets import all_targets\n", "rvae.cli")
    assert "rvae.cli" in upward_imports("from rvae.cli import main\n", "rvae.workflow.script")
    assert upward_imports("def f():\n    from rvae import cli\n", "rvae.sharing") == ["rvae.cli"]


def _schema_enum(*keys):
    node = SCHEMA
    for key in keys:
        node = node[key]
    return tuple(node["enum"] if "enum" in node else node["items"]["enum"])


def test_the_vocabulary_is_the_schemas_enums():
    from rvae import vocabulary as v

    dataset = SCHEMA["definitions"]["dataset"]["properties"]
    assert _schema_enum("definitions", "dataset", "properties", "kind") == v.DATASET_KINDS
    assert tuple(dataset["architecture"]["properties"]["family"]["enum"]) == v.FAMILIES
    assert tuple(dataset["export"]["properties"]["method"]["enum"]) == v.SELECTION_METHODS
    tables = SCHEMA["properties"]["tables"]["properties"]
    assert tuple(tables["table9"]["properties"]["methods"]["items"]["enum"]) == v.SELECTION_METHODS
    assert tuple(tables["table10"]["properties"]["architectures"]["items"]["enum"]) == v.VARIANTS
    assert tuple(SCHEMA["properties"]["rv_estimator"]["enum"]) == v.RV_ESTIMATORS
    assert tuple(SCHEMA["properties"]["seed_block"]["properties"]["mode"]["enum"]) == v.SEED_BLOCK_MODES
    assert set(SCHEMA["properties"]["precision"]["enum"]) == set(v.PRECISION_CHOICES)
    assert set(SCHEMA["properties"]["compile"]["enum"]) == set(v.COMPILE_CHOICES)
    assert set(SCHEMA["properties"]["memory_format"]["enum"]) == set(v.MEMORY_FORMAT_CHOICES)
    assert tuple(SCHEMA["definitions"]["shared_run"]["properties"]["align"]["enum"]) == v.ALIGN_CHOICES
    assert tuple(SCHEMA["properties"]["hyperparameters"]["properties"]) == v.HYPERPARAMETERS
    assert set(v.MODEL_LABELS) == set(v.MODEL_COLOURS) == set(v.MODEL_KINDS)
    assert set(v.MODEL_HYPERPARAMETER.values()) == set(v.HYPERPARAMETERS)


def test_no_results_path_is_spelled_outside_the_registry():
    registry = PACKAGE / "workflow" / "paths.py"
    offenders = []
    python = [*PACKAGE.rglob("*.py"), *(ROOT / "workflow" / "scripts").glob("*.py")]
    for path in python:
        if path != registry:
            offenders += [f"{path}: {s!r}" for s in string_literals(path) if "results/" in s]
    for path in [ROOT / "Snakefile", *(ROOT / "workflow" / "rules").glob("*.smk")]:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if re.search(r"""["'][^"']*results/""", code):
                offenders.append(f"{path}:{number}: {line.strip()}")
    assert not offenders, "results paths belong in rvae/workflow/paths.py:\n" + "\n".join(offenders)


def common_smk_functions(text: str) -> dict[str, list[str]]:
    """common.smk's functions: name -> the code lines of the body (no docstring, blank or comment lines)."""
    functions, name = {}, None
    for line in text.splitlines():
        if line.startswith("def "):
            name = line[4:].split("(", 1)[0]
            functions[name] = []
        elif name and (line.startswith("    ") or not line.strip()):
            code = line.split("#", 1)[0].strip()
            if code and not code.startswith('"""'):
                functions[name].append(code)
        else:
            name = None
    return functions


def test_common_smk_holds_no_domain_logic():
    """Its input functions only hand the wildcards to the library (rvae.workflow): a return of a
    call into targets, params or paths; no branches, loops or computed values of their own."""
    text = (ROOT / "workflow" / "rules" / "common.smk").read_text()
    functions = common_smk_functions(text)
    assert len(functions) > 15
    for name, body in functions.items():
        statements = [line for line in body if not line.startswith((")", "]", "}")) and not line.endswith(",")]
        assert body and body[-1].startswith(("return", ")")) and len(statements) <= 2, (name, body)
        assert not any(line.startswith(("if ", "for ", "while ", "try", "with ")) for line in body), (name, body)
        assert re.search(r"\b(targets|job_params|paths)\.\w+\(", " ".join(body)) or body == ["return GPU"], (name, body)
    assert "Namespace" not in text and "def main_k" not in text and "def sweeps" not in text


def test_the_common_smk_check_sees_logic():
    logic = "def inputs(wildcards):\n    run = config['shared'][wildcards.name]\n    if run:\n        return {}\n    return paths.data_files(run)\n"
    body = common_smk_functions(logic)["inputs"]
    assert body[1].startswith("if ") and len(body) == 4


def test_every_module_and_public_name_of_the_module_table_is_importable_from_where_it_says():
    import importlib

    import rvae

    page = (ROOT / "docs" / "library.md").read_text()
    table = page.split("## Modules", 1)[1].split("\n## ", 1)[0]
    modules = set()
    for row in (line for line in table.splitlines() if line.startswith("|") and "`rvae" in line):
        cell = row.split("|")[2]
        names = re.findall(r"`(rvae[\w.]*)`", cell)
        parent = names[0].rsplit(".", 1)[0] if names else "rvae"
        for name in names + [f"{parent}.{short}" for short in re.findall(r"`\.(\w+)`", cell)]:
            modules.add(name)
    assert len(modules) > 20
    for name in modules:
        importlib.import_module(name)
    public = re.findall(r"`(\w+)`", table.split("| `rvae` |", 1)[1].split("\n", 1)[0])
    assert "encode_means" in public and "Trainer" in public
    for name in public:
        assert getattr(rvae, name) is not None and name in rvae.__all__


def test_no_module_imports_another_modules_private_names():
    """A private name is free to change; importing it from elsewhere makes two homes of one fact."""
    found = []
    for path in sorted((ROOT / "src" / "rvae").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("rvae"):
                found += [f"{path.relative_to(ROOT)}: {node.module}.{a.name}" for a in node.names if a.name.startswith("_") and a.name != "__version__"]
    assert not found, f"private names imported across modules: {found}"


def test_one_name_per_concept_the_retired_names_are_gone():
    """The Rosetta file is rvae.rosetta_file, a model trained on another lab's file is a shared run,
    the metric behind the portability table is heldout_alignment: the former names appear only in
    CHANGELOG.md and in the config alias that reads them with a warning."""
    import re

    from rvae.workflow.user_config import ALIASES

    retired = re.compile(r"rvae\.portable\b|results/portable|train_portable|figure_portable|metrics\.portability|def portability\(|\bportable_run\b")
    assert retired.search("from rvae.portable import x") and retired.search("results/portable/bob")
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for folder in ("src", "workflow", "config", "docs", "tests", "benchmarks")
        for path in sorted((ROOT / folder).rglob("*"))
        if path.is_file() and path.suffix in {".py", ".smk", ".yaml", ".md", ".rst"} and path.name != "test_layers.py" and "egg-info" not in str(path)
        for n, line in enumerate(path.read_text(errors="ignore").splitlines(), 1)
        if retired.search(line)
    ]
    assert not found, f"retired names: {found}"
    assert ALIASES == {"portable": "shared"}
