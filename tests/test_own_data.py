"""docs/own-data.md's worked example, run as written: a folder of the user's arrays through the workflow."""

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
GUIDE = (ROOT / "docs" / "own-data.md").read_text()
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")


def block(marker: str) -> str:
    body = GUIDE.split(f"<!-- {marker} -->")[1].split(f"<!-- /{marker} -->")[0]
    fenced = re.search(r"```\w*\n(.*?)```", body, re.S)
    return fenced.group(1) if fenced else "\n".join(line.strip() for line in body.splitlines() if line.strip())


@pytest.mark.slow
def test_the_guides_example_runs_as_written(tmp_path):
    subprocess.run([sys.executable, "-c", block("own-data-make")], cwd=tmp_path, check=True)
    (tmp_path / "my_data.yaml").write_text(block("own-data-config"))
    command = block("own-data-run").split()
    assert command[:2] == [".venv/bin/snakemake", "--configfile"]
    done = subprocess.run([SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), *command[1:]], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "my_data" in done.stderr  # the config summary names the dataset
    table = pd.read_parquet(tmp_path / "results/tables/table1.parquet")
    for part in ("R1", "rest_D1"):
        cells = table[(table["partition"] == part) & (table["metric"] == "rv")].set_index("model")["median"]
        assert cells["rvae"] < cells["vae"], (part, cells)
    assert (tmp_path / "results/tables/table2.md").exists() and (tmp_path / "results/results.md").exists()
    data = pd.read_parquet(tmp_path / "results/data/my_data/points.parquet")
    assert set(data.loc[data["partition"] == "D1", "label"]) == {0, 1}  # d1_labels from dataset.yaml


def test_the_config_may_add_to_dataset_yaml_but_not_contradict_it(tmp_path):
    from rvae.workflow.config_checks import ConfigError
    from rvae.workflow.config_checks import describe_folders

    subprocess.run([sys.executable, "-c", block("own-data-make")], cwd=tmp_path, check=True)
    folder = str(tmp_path / "my_data")
    config = {"datasets": {"mine": {"kind": "folder", "load": {"path": folder}, "training": {"steps": 2}}}}
    describe_folders(config)
    assert config["datasets"]["mine"]["architecture"] == {"family": "mlp", "latent_dim": 2}
    config["datasets"]["mine"]["architecture"] = {"hidden": 32}
    describe_folders(config)
    assert config["datasets"]["mine"]["architecture"] == {"hidden": 32, "family": "mlp", "latent_dim": 2}
    config["datasets"]["mine"]["architecture"] = {"family": "conv"}
    with pytest.raises(ConfigError, match=r"datasets\.mine\.architecture\.family is 'conv' but .*my_data/dataset\.yaml says 'mlp': give it in one place"):
        describe_folders(config)
    config["datasets"]["mine"] = {"kind": "folder", "load": {}, "training": {"steps": 2}}
    with pytest.raises(ConfigError, match=r"datasets\.mine\.load\.path"):
        describe_folders(config)
