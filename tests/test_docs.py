"""Docs a reader can check: every spec citation names a heading of docs/method.md; every file,
module, config key, command and heading a doc names exists; every measured number names the run
(commit and machine) it came from."""

import argparse
import importlib
import re
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
# (spec, "Heading"), spec "Heading", (spec: "Heading"), spec ("Heading ...") and the spec's "Heading"
CITATION = re.compile(r"""\bspec(?:'s)?(?:\s*[,:]\s*|\s+)\(?["“]([^"”]+)["”]""")
CITED_FROM = ["src", "workflow", "config", "benchmarks", "README.md", "docs"]
SUFFIXES = {".py", ".smk", ".yaml", ".md", ".txt"}
# what a user reads: the pages, and the comments of the scripts and the Snakefile
DOCS = ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md")), "config/README.md", "benchmarks/README.md"]
# the history may name what no longer exists, but not a commit git does not know
HISTORY = ["CHANGELOG.md"]
SCRIPTS = ["setup.sh", "test.sh", "run.sh", "Snakefile", *sorted(str(p.relative_to(ROOT)) for p in [*ROOT.glob("config/*.yaml"), *ROOT.glob("profiles/*/config.yaml")])]
# folders a run or a user writes; a doc may name what lies there before it exists
WRITTEN = ("results/", "example/", "chain/", "data/", ".venv/", "my_", "exp.yaml", "compare.csv", "rosetta.parquet")
REPO_PATH = re.compile(r"(?<![\w./:-])((?:src|tests|workflow|config|docs|benchmarks|profiles|envs)/[\w./*-]*[\w*])")
LINK = re.compile(r"\]\(([^)\s]+)\)")
MODULE = re.compile(r"(?<![\w./])(rvae(?:\.\w+)+)")
TEST_NAME = re.compile(r"`(test_\w+\.py)(?:::(\w+))?`")
# a commit: 7 to 40 hex digits in backticks; a machine: a CPU or GPU by its maker's model name
COMMIT = re.compile(r"`([0-9a-f]{7,40})`")
MACHINE = re.compile(r"\b(?:AMD EPYC|EPYC|Intel(?:\(R\))? Xeon|Xeon|Core i[3579]|Ryzen|Apple M\d|H100|H200|A100|RTX ?\d{4})\b")
# a measured number: a duration; a bound ("within 30 minutes", "at most 2 s") is a target, not a measurement
DURATION = re.compile(r"(?<![\w.-])(\d[\d,.]*)\s?(?:ms|s|min|minutes?|seconds?|hours?|job-seconds|CPU s|core-hours)\b(?!-)")
BOUND = re.compile(r"(?:within|under|at most|below|limit of|budget of)\s+(?:about\s+)?$")
# pages that report one run: their opening paragraph names its commit and machine, and every number
# on them is that run's
RUN_REPORTS = ["docs/results.md", "docs/beyond.md"]
# pages whose measured numbers must name their run
MEASURED_IN = ["README.md", *(d for d in DOCS if d.startswith("docs/") and d != "docs/sharing.md")]


def read(doc: str) -> str:
    return (ROOT / doc).read_text()


def headings(doc: str) -> list[str]:
    return [line.lstrip("#").strip() for line in read(doc).splitlines() if re.match(r"#{1,6} ", line)]


def citations() -> list[tuple[str, int, str]]:
    found = []
    for place in CITED_FROM:
        path = ROOT / place
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES or p.name == "Snakefile")
        for file in files:
            if "__pycache__" in file.parts or ".egg-info" in str(file):
                continue
            for number, line in enumerate(file.read_text(errors="replace").splitlines(), 1):
                found += [(str(file.relative_to(ROOT)), number, m.group(1)) for m in CITATION.finditer(line)]
    return found


def lines_of(docs) -> list[tuple[str, int, str]]:
    return [(doc, n, line) for doc in docs for n, line in enumerate(read(doc).splitlines(), 1)]


def paragraphs(text: str) -> list[str]:
    """Blocks between blank lines; a list item or table row belongs to the block it sits in."""
    return [block for block in re.split(r"\n\s*\n", text) if block.strip()]


def test_every_spec_citation_names_a_heading_of_the_method_page():
    known = headings("docs/method.md")
    cited = citations()
    assert len(cited) >= 20  # the pattern still finds the project's citations
    missing = [f"{file}:{line}: {title!r}" for file, line, title in cited if not any(h.startswith(title) for h in known)]
    assert not missing, "citations without a heading in docs/method.md:\n" + "\n".join(missing)


def test_the_citation_pattern_reads_each_form_the_project_writes():
    forms = ['(spec, "Losses")', 'spec "Architectures"', 'The spec ("Training budget: steps")', "the spec's \"Findings\""]
    assert [CITATION.search(form).group(1) for form in forms] == ["Losses", "Architectures", "Training budget: steps", "Findings"]
    assert CITATION.search("ArchitectureSpec(\"mlp\")") is None and CITATION.search('{"spec": spec.to_dict()}') is None


def _exists(name: str, doc: str) -> bool:
    name = name.split("#")[0].rstrip(".,:;")
    for base in (ROOT, (ROOT / doc).parent):
        if "*" in name and list(base.glob(name)):
            return True
        if (base / name).exists():
            return True
    return False


def named_files(doc: str) -> list[tuple[int, str]]:
    found = []
    for number, line in enumerate(read(doc).splitlines(), 1):
        names = [m.group(1) for m in REPO_PATH.finditer(line)]
        names += [t for t in LINK.findall(line) if not re.match(r"(https?:|mailto:|#)", t)]
        names += re.findall(r"\bbash ([\w./-]+\.sh)\b", line)
        for name in names:
            path = (ROOT / doc).parent / name.split("#")[0] if not REPO_PATH.fullmatch(name) else ROOT / name
            shown = str(path.resolve().relative_to(ROOT)) if path.resolve().is_relative_to(ROOT) else name
            if any(shown.startswith(w) or name.startswith(w) for w in WRITTEN) or re.search(r"[{<]|\.\.\.", name):
                continue
            found.append((number, name))
    return found


@pytest.mark.parametrize("doc", DOCS + SCRIPTS)
def test_every_file_a_doc_names_exists(doc):
    """Repository paths (`benchmarks/curves.py`, `tests/test_x.py`, globs), relative links and the
    scripts run with `bash`; what a run writes (results/, example/) is not checked."""
    missing = sorted({f"{doc}:{n}: {name}" for n, name in named_files(doc) if not _exists(name, doc)})
    for n, line in enumerate(read(doc).splitlines(), 1):
        for name, function in TEST_NAME.findall(line):
            test = ROOT / "tests" / name
            if not test.exists() or (function and not re.search(rf"def {function}\b", test.read_text())):
                missing.append(f"{doc}:{n}: tests/{name}{'::' + function if function else ''}")
    assert not missing, "named in the docs but not in the repository:\n" + "\n".join(missing)


def test_the_file_check_finds_the_forms_the_docs_write():
    assert REPO_PATH.findall("`benchmarks/curves.py --scan` and workflow/rules/*.smk, (config/README.md)") == [
        "benchmarks/curves.py",
        "workflow/rules/*.smk",
        "config/README.md",
    ]
    assert _exists("workflow/rules/*.smk", "README.md") and not _exists("benchmarks/no_such_script.py", "README.md")
    assert _exists("method.md", "docs/workflow.md") and not _exists("method.md", "README.md")


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[cut:]:
            if not hasattr(target, attribute):
                return False
            target = getattr(target, attribute)
        return True
    return False


@pytest.mark.parametrize("doc", DOCS + SCRIPTS)
def test_every_module_and_name_a_doc_cites_under_rvae_exists(doc):
    """`rvae.defaults.SWEEP_EPOCHS`, `rvae.workflow.params.resolve_until`: importable, the name defined."""
    cited = {(n, m.group(1).rstrip(".")) for _, n, line in lines_of([doc]) for m in MODULE.finditer(line)}
    missing = [f"{doc}:{n}: {name}" for n, name in sorted(cited) if not _resolves(name)]
    assert not missing, "modules or names the docs cite that do not exist:\n" + "\n".join(missing)


def test_the_module_check_resolves_modules_and_their_names():
    assert _resolves("rvae.defaults.SWEEP_EPOCHS") and _resolves("rvae.workflow.paths")
    assert not _resolves("rvae.sharing.SWEEP_EPOCHS") and not _resolves("rvae.no_such_module")


def _schema() -> dict:
    return yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())


def _key_exists(schema: dict, node: dict, parts: list[str]) -> bool:
    """Walk ``parts`` down the schema: `<name>` or any word is a name where the schema allows any."""
    while "$ref" in node:
        node = {**schema["definitions"][node["$ref"].split("/")[-1]], **{k: v for k, v in node.items() if k != "$ref"}}
    if not parts:
        return True
    head, rest = parts[0], parts[1:]
    braces = re.fullmatch(r"\{([\w,|]+)\}", head)
    if braces:
        return all(_key_exists(schema, node, [alternative, *rest]) for alternative in re.split(r"[,|]", braces.group(1)))
    properties = node.get("properties", {})
    if head in properties:
        return _key_exists(schema, properties[head], rest)
    if head == "tableN":
        return all(_key_exists(schema, properties[t], rest) for t in properties if re.fullmatch(r"table\d+", t))
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        return _key_exists(schema, extra, rest)
    # an object the schema leaves open (a dataset's `load`: each loader's own settings)
    return node.get("type") == "object" and not properties and extra is None


def keys_table() -> list[tuple[int, str]]:
    text = read("config/README.md")
    section = text.split("\n## Keys\n", 1)[1].split("\n#", 1)[0]
    offset = text[: text.index("\n## Keys\n")].count("\n") + 2
    rows = []
    for number, line in enumerate(section.splitlines(), offset):
        if line.startswith("| `"):
            rows += [(number, key) for key in re.findall(r"`([^`]+)`", line.split("|")[1])]
    return rows


def test_every_key_the_config_readme_lists_is_in_the_schema_and_every_top_level_key_is_listed():
    schema = _schema()
    rows = keys_table()
    assert len(rows) >= 25
    missing = [f"config/README.md:{n}: {key}" for n, key in rows if not _key_exists(schema, schema, key.split("."))]
    assert not missing, "keys config/README.md lists that the schema lacks:\n" + "\n".join(missing)
    listed = {key.split(".")[0] for _, key in rows}
    assert set(schema["properties"]) <= listed, f"keys without a row in config/README.md: {set(schema['properties']) - listed}"


@pytest.mark.parametrize("doc", DOCS)
def test_every_config_key_a_doc_spells_out_is_in_the_schema(doc):
    """A dotted key whose first word is a top-level key (`seed_block.size`, `datasets.<name>.training.steps`)."""
    schema = _schema()
    tops = "|".join(sorted(schema["properties"], key=len, reverse=True))
    pattern = re.compile(rf"`((?:{tops})(?:\.[\w<>{{}},|]+)+)`")  # `plateau.py` is a file, not a key
    spelled = [(n, m.group(1)) for _, n, line in lines_of([doc]) for m in pattern.finditer(line) if not re.search(r"\.(py|md|yaml|csv|json)$", m.group(1))]
    missing = [f"{doc}:{n}: {key}" for n, key in spelled if not _key_exists(schema, schema, key.split("."))]
    assert not missing, "config keys the docs name that the schema lacks:\n" + "\n".join(missing)


def test_the_key_check_walks_names_braces_and_open_objects():
    schema = _schema()
    for key in ("seed_block.size", "hyperparameters.{beta,rho}", "datasets.<name>.training.steps", "datasets.mnist.load.path", "tableN", "tables.table9.methods"):
        assert _key_exists(schema, schema, key.split(".")), key
    for key in ("datasets.mnist.path", "seed_block.sizes", "plateau.window"):
        assert not _key_exists(schema, schema, key.split(".")), key


def _commands() -> dict[str, set[str]]:
    from rvae.cli import parser

    top = parser()
    sub = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction))
    return {name: {o for action in p._actions for o in action.option_strings} for name, p in sub.choices.items()}


@pytest.mark.parametrize("doc", DOCS + SCRIPTS)
def test_every_rvae_command_and_option_a_doc_names_exists(doc):
    """`rvae NAME` and, on a command line, each of its `--options`, as `rvae --help` has them."""
    commands = _commands()
    wrong = []
    for _, n, line in lines_of([doc]):
        for m in re.finditer(r"(?:bin/|`|^\s*)rvae ([a-z][\w-]*)((?:[^`|]*))", line):
            name, rest = m.group(1), m.group(2)
            if name not in commands:
                wrong.append(f"{doc}:{n}: rvae {name}")
                continue
            wrong += [f"{doc}:{n}: rvae {name} {o}" for o in re.findall(r"(?<![\w-])(--[a-z][\w-]*)", rest) if o not in commands[name]]
    assert not wrong, "commands or options the docs name that `rvae` lacks:\n" + "\n".join(wrong)


def _doc_of(name: str, doc: str) -> str | None:
    if name in ("README", "the README"):
        return "README.md"
    if name == "method":
        return "docs/method.md"
    for base in (ROOT, (ROOT / doc).parent):
        if (base / name).is_file():
            return str((base / name).resolve().relative_to(ROOT))
    return None


DOC_NAME = r"(?P<doc>(?:[\w./-]+/)?[\w.-]+\.md|README|method)"
HEADING_CITATIONS = [
    # docs/workflow.md, "Your own config"; [docs/workflow.md](docs/workflow.md), "..."; config/README.md ("Speed"); the README's "..."
    re.compile(DOC_NAME + r"`?\]?(?:\([^)\s]*\))?`?(?:'s)?(?:\s*,\s*|\s*\(\s*|\s+)[\"“](?P<heading>[^\"”]+)[\"”]"),
    # "The default run" in the README
    re.compile(r"[\"“](?P<heading>[^\"”]+)[\"”] in (?:the )?" + DOC_NAME),
]


@pytest.mark.parametrize("doc", DOCS + SCRIPTS)
def test_every_heading_a_doc_cites_exists(doc):
    """`config/README.md, "The training budget and the plateau rule"` names a heading of that page."""
    wrong = []
    text = re.sub(r"\s*\n\s*(?:#+\s*)?", " ", read(doc))  # citations wrap across lines, and comment lines
    for pattern in HEADING_CITATIONS:
        for m in pattern.finditer(text):
            target = _doc_of(m.group("doc"), doc)
            if target is None or target.startswith("results"):
                continue
            if not any(h.startswith(m.group("heading")) for h in headings(target)):
                wrong.append(f"{doc}: {m.group('doc')}, {m.group('heading')!r}")
    assert not wrong, "headings the docs cite that the cited page lacks:\n" + "\n".join(wrong)


def test_the_heading_check_reads_each_form_the_docs_write():
    forms = {
        '([docs/workflow.md](docs/workflow.md), "Your own config")': ("docs/workflow.md", "Your own config"),
        'config/README.md, "The defaults and why"': ("config/README.md", "The defaults and why"),
        'benchmarks/README.md ("Speed")': ("benchmarks/README.md", "Speed"),
        '(method, "Splits without leakage")': ("method", "Splits without leakage"),
        "docs/workflow.md's \"Your own config\"": ("docs/workflow.md", "Your own config"),
    }
    for form, expected in forms.items():
        m = HEADING_CITATIONS[0].search(form)
        assert (m.group("doc"), m.group("heading")) == expected, form
    m = HEADING_CITATIONS[1].search('(config/config.yaml, "Two commands" in the README)')
    assert (m.group("doc"), m.group("heading")) == ("README", "Two commands")


def measured(text: str) -> list[str]:
    """The durations in ``text`` that are measurements rather than bounds."""
    return [m.group(0) for m in DURATION.finditer(text) if not BOUND.search(text[max(0, m.start() - 20) : m.start()])]


def names_its_run(text: str) -> bool:
    return bool(COMMIT.search(text)) and bool(MACHINE.search(text))


@pytest.mark.parametrize("doc", MEASURED_IN)
def test_every_measured_number_names_the_run_it_came_from(doc):
    """A duration sits in a paragraph that names a commit (`abc1234`) and a machine (the CPU's or
    GPU's model), or on a run report, whose opening paragraph names them for the whole page."""
    text = read(doc)
    if doc in RUN_REPORTS:
        return
    orphans = [f"{doc}: {numbers} in: {block[:120]!r}" for block in paragraphs(text) if (numbers := measured(block)) and not names_its_run(block)]
    assert not orphans, "measured numbers without the commit and machine of their run:\n" + "\n".join(orphans)


@pytest.mark.parametrize("doc", RUN_REPORTS)
def test_a_run_report_opens_with_its_commit_and_machine(doc):
    body = read(doc).split("\n", 1)[1]
    assert names_its_run(paragraphs(body)[0]), f"{doc}: its first paragraph names no commit and machine"


def test_the_provenance_convention_tells_measurements_from_bounds():
    assert measured("took 87 min, then 24 min 45 s; 12 ms a step") == ["87 min", "24 min", "45 s", "12 ms"]
    assert measured("within 30 minutes of two cores, a 20-minute budget, at most 2 s") == []
    assert names_its_run("87 min at `2fa0418` on a 2-core AMD EPYC") and not names_its_run("87 min on this machine")


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)


def test_every_commit_a_doc_names_is_in_the_history():
    if _git("rev-parse", "--is-shallow-repository").stdout.strip() != "false":
        pytest.skip("no full git history here to look commits up in")
    cited = {(doc, c) for doc, _, line in lines_of(DOCS + HISTORY) for c in COMMIT.findall(line) if not c.isdigit()}
    missing = sorted(f"{doc}: {c}" for doc, c in cited if _git("cat-file", "-e", f"{c}^{{commit}}").returncode != 0)
    assert not missing, "commits the docs name that git does not know:\n" + "\n".join(missing)


def test_the_library_page_lists_every_module():
    """docs/library.md's module table names each module of src/rvae/ (`rvae.x`, `.x` beside its
    parent's row, or the package row of `rvae.data`'s loaders)."""
    table = read("docs/library.md").split("## Modules", 1)[1].split("\n## ", 1)[0]
    listed = set()
    for row in (line for line in table.splitlines() if line.startswith("|")):
        names = re.findall(r"`(rvae[\w.]*)`", row)
        parent = names[0].rsplit(".", 1)[0] if names else "rvae"
        listed |= set(names) | {f"{parent}.{short}" for short in re.findall(r"`\.(\w+)`", row)}
    modules = {".".join(p.relative_to(ROOT / "src").with_suffix("").parts) for p in (ROOT / "src" / "rvae").rglob("*.py") if p.name != "__init__.py"}
    missing = sorted(m for m in modules if m not in listed and m.rsplit(".", 1)[0] not in listed - {"rvae"})
    assert not missing, f"modules without a row in docs/library.md: {missing}"


def test_every_file_the_rvae_help_names_exists():
    """`rvae --help` and each command's help point a newcomer at docs; those files exist."""
    from rvae.cli import parser

    top = parser()
    sub = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction))
    text = "\n".join([top.format_help(), *(p.format_help() for p in sub.choices.values())])
    named = set(REPO_PATH.findall(text))
    assert "docs/own-data.md" in named
    assert not [n for n in named if not _exists(n, "README.md")], named
