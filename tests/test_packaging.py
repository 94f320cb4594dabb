"""pyproject.toml and envs/rvae.yaml must list the same packages."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# conda names that differ from PyPI names
CONDA_TO_PYPI = {"pytorch": "torch"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[]", requirement.strip(), maxsplit=1)[0].lower()


def test_conda_env_lists_the_same_packages_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pypi = {_name(r) for r in project["dependencies"]}
    for extra in project["optional-dependencies"].values():
        pypi |= {_name(r) for r in extra}
    env = yaml.safe_load((ROOT / "envs" / "rvae.yaml").read_text())
    conda = set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            conda |= {_name(r) for r in dep["pip"] if not r.startswith("-e")}
        elif _name(dep) not in ("python", "pip"):
            conda.add(CONDA_TO_PYPI.get(_name(dep), _name(dep)))
    assert conda == pypi, f"only in envs/rvae.yaml: {conda - pypi}; only in pyproject: {pypi - conda}"


def test_ci_runs_exactly_the_readme_test_command():
    """README's "Two commands" block: set up and run, set up and test; CI runs the second and nothing else."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    commands = [line.strip() for line in section.splitlines() if line.startswith("    ") and line.strip()]
    assert commands[:2] == ["bash run.sh", "bash test.sh"]  # each line as written, nothing after it
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    steps = [line.strip() for line in ci if line.strip() and not line.startswith("#") and not line.startswith(("set ", "cd "))]
    assert steps == [commands[1]]


def test_the_papers_values_and_claims_are_package_data_read_through_importlib_resources():
    """An installed wheel has no workflow folder: the files rvae.paper.claims reads ship inside the
    package (pyproject's package-data covers each) and are found through importlib.resources."""
    from fnmatch import fnmatch
    from importlib import resources

    from rvae.paper.claims import PAPER_CLAIMS, PAPER_VALUES

    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["rvae"]
    data = sorted(p.relative_to(ROOT / "src" / "rvae").as_posix() for p in (ROOT / "src" / "rvae" / "paper" / "resources").iterdir())
    assert data == ["paper/resources/paper_claims.csv", "paper/resources/paper_values.csv"]
    assert all(any(fnmatch(f, pattern) for pattern in patterns) for f in data)
    package = resources.files("rvae.paper")
    assert [PAPER_VALUES, PAPER_CLAIMS] == [package / "resources" / "paper_values.csv", package / "resources" / "paper_claims.csv"]
    assert PAPER_CLAIMS.read_text().startswith("claim_id,kind,table,")
    assert "parents[" not in (ROOT / "src" / "rvae" / "paper" / "claims.py").read_text()
