"""Docs a reader can check: every spec citation in the project names a heading of docs/method.md."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# (spec, "Heading"), spec "Heading", (spec: "Heading"), spec ("Heading ...") and the spec's "Heading"
CITATION = re.compile(r"""\bspec(?:'s)?(?:\s*[,:]\s*|\s+)\(?["“]([^"”]+)["”]""")
CITED_FROM = ["src", "workflow", "config", "benchmarks", "README.md", "docs"]
SUFFIXES = {".py", ".smk", ".yaml", ".md", ".txt"}


def headings() -> list[str]:
    text = (ROOT / "docs" / "method.md").read_text()
    return [line.lstrip("#").strip() for line in text.splitlines() if line.startswith("#")]


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


def test_every_spec_citation_names_a_heading_of_the_method_page():
    known = headings()
    cited = citations()
    assert len(cited) >= 20  # the pattern still finds the project's citations
    missing = [f"{file}:{line}: {title!r}" for file, line, title in cited if not any(h.startswith(title) for h in known)]
    assert not missing, "citations without a heading in docs/method.md:\n" + "\n".join(missing)


def test_the_citation_pattern_reads_each_form_the_project_writes():
    forms = ['(spec, "Losses")', 'spec "Architectures"', 'The spec ("Training budget: steps")', "the spec's \"Findings\""]
    assert [CITATION.search(form).group(1) for form in forms] == ["Losses", "Architectures", "Training budget: steps", "Findings"]
    assert CITATION.search("ArchitectureSpec(\"mlp\")") is None and CITATION.search('{"spec": spec.to_dict()}') is None
