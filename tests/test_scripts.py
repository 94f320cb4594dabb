"""setup.sh and test.sh do what their comments and the README say, run on stand-ins for python and apt."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BASH = shutil.which("bash")
# records its arguments; `-c "import torch"` fails unless TORCH_PRESENT is set
RECORDER = """#!{bash}
echo "python $*" >> "$LOG"
if [ "$1" = -c ] && [ -z "${{TORCH_PRESENT:-}}" ]; then exit 1; fi
exit 0
"""


def _stub(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


def _setup_calls(tmp_path: Path, **env) -> list[str]:
    """The commands setup.sh runs in a copy of the repository whose python and pip are recorders."""
    shutil.copy(ROOT / "setup.sh", tmp_path / "setup.sh")
    log = tmp_path / "log"
    recorder = _stub(tmp_path / "recorder", RECORDER.format(bash=BASH))
    make_venv = _stub(tmp_path / "python3", f'#!{BASH}\nmkdir -p .venv/bin && cp "{recorder}" .venv/bin/python\n')
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RVAE_TORCH")}
    subprocess.run([BASH, str(tmp_path / "setup.sh")], env={**clean, "PYTHON": str(make_venv), "LOG": str(log), **env}, check=True)
    return log.read_text().splitlines()


PIP = "python -m pip install -q --disable-pip-version-check"


def test_setup_takes_torch_from_the_index_rvae_torch_index_names(tmp_path):
    calls = _setup_calls(tmp_path, RVAE_TORCH_INDEX="https://download.pytorch.org/whl/cpu")
    assert calls == [
        "python -c import torch",
        f"{PIP} --index-url https://download.pytorch.org/whl/cpu torch==2.13.0",
        f"{PIP} -e .[workflow,dev]",
    ]


def test_setup_installs_rvae_torch_from_pips_own_index_by_default(tmp_path):
    calls = _setup_calls(tmp_path, RVAE_TORCH="torch==2.13.0+cpu")
    assert calls[1:] == [f"{PIP} torch==2.13.0+cpu", f"{PIP} -e .[workflow,dev]"]


def test_setup_keeps_a_torch_the_venv_already_has(tmp_path):
    calls = _setup_calls(tmp_path, TORCH_PRESENT="1", RVAE_TORCH_INDEX="https://download.pytorch.org/whl/cpu")
    assert calls == ["python -c import torch", f"{PIP} -e .[workflow,dev]"]


@pytest.mark.parametrize("no_install", [None, "1"])
def test_test_sh_installs_chromium_as_root_unless_rvae_no_install_is_set(tmp_path, no_install):
    """test.sh in a folder where setup.sh and .venv are stand-ins and PATH holds only a root `id`,
    a recording `apt-get` and the tools the script needs: no chromium, so it would install one."""
    shutil.copy(ROOT / "test.sh", tmp_path / "test.sh")
    log = tmp_path / "log"
    _stub(tmp_path / "setup.sh", "exit 0\n")
    _stub(tmp_path / ".venv" / "bin" / "python", RECORDER.format(bash=BASH))
    tools = tmp_path / "bin"
    _stub(tools / "id", f"#!{BASH}\necho 0\n")
    _stub(tools / "apt-get", f'#!{BASH}\necho "apt-get $*" >> "$LOG"\n')
    for tool in ("bash", "dirname"):
        (tools / tool).symlink_to(shutil.which(tool))
    env = {"PATH": str(tools), "LOG": str(log), **({"RVAE_NO_INSTALL": no_install} if no_install else {})}
    subprocess.run([BASH, str(tmp_path / "test.sh"), "-m", "fast"], env=env, check=True)
    calls = log.read_text().splitlines()
    apt = ["apt-get update -qq", "apt-get install -y -qq chromium"]
    assert calls == ([] if no_install else apt) + ["python -m pytest -m fast"]


def test_the_slurm_cluster_installs_and_starts_nothing_under_rvae_no_install(monkeypatch):
    import slurm_cluster

    def refuse(*args, **kwargs):
        raise AssertionError(f"ran {args} under RVAE_NO_INSTALL")

    monkeypatch.setenv("RVAE_NO_INSTALL", "1")
    monkeypatch.setattr(slurm_cluster.subprocess, "run", refuse)
    monkeypatch.setattr(slurm_cluster.subprocess, "Popen", refuse)
    cluster = slurm_cluster.SlurmCluster(Path("unused"), accounting=True)
    with pytest.raises(slurm_cluster.ClusterUnavailable, match="RVAE_NO_INSTALL"):
        cluster.start()
    assert cluster.processes == {} and cluster.saved == {}
