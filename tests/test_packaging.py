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
