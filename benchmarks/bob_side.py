"""Bob's side of the README's example, measured: which map lands nearest Alice, and do the scores tell?

    .venv/bin/python benchmarks/bob_side.py example     # after the README's lab-to-lab commands

Trains two more R-VAEs of Bob's (seeds 1 and 2, as the README's, `--rho 5 --steps 80`), then prints,
for Bob's folder (all his points: none is a Rosetta input) and Alice's (all but the Rosetta inputs):
the normalised distance to Alice's coordinates (her model's means) for `rvae embed --align` none,
procrustes, affine and auto, and which arm auto chose; Spearman's rank correlation of each
per-point score with the point's true squared distance; and `rvae verify`'s verdict for Alice's
model on this machine's kernel path and on the baseline path (tests/test_cpu_paths.py's caps),
and for Bob's R-VAE.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BASELINE = {"ATEN_CPU_CAPABILITY": "default", "MKL_ENABLE_INSTRUCTIONS": "SSE4_2", "ONEDNN_MAX_CPU_ISA": "SSE41"}


def main(example: Path) -> None:
    from rvae.alignment import normalised_distance
    from rvae import defaults
    from rvae.cli import main as rvae
    from rvae.data.folder import load_folder
    from rvae.data.store import prepare
    from rvae.confidence import rank_correlation
    from rvae.inference import encode_means
    from rvae.models import load_model
    from rvae.rosetta_file import load_rosetta_points
    from rvae.sharing import embed_folder, rosetta_rows_in
    from rvae.vocabulary import ALIGN_CHOICES

    rosetta = example / "rosetta.parquet"
    bob_models = [example / "bob_model/model.pt"]
    for seed in (1, 2):
        out = example / f"bob_model_seed{seed}"
        if not (out / "model.pt").exists():
            assert rvae(["train", "--data", str(example / "bob"), "--rosetta", str(rosetta), "--rho", "5", "--out", str(out), "--steps", "80",
                         "--seed", str(seed), "--quiet"]) == 0  # fmt: skip
        bob_models.append(out / "model.pt")
    alice = load_model(example / "alice_model/model.pt")
    points = load_rosetta_points(rosetta)
    models = [load_model(p) for p in bob_models]
    for folder in ("bob", "alice"):
        data = prepare(load_folder(example / folder), defaults.TRAIN_FRACTION, defaults.SPLIT_SEED)  # as the rvae command reads a folder
        rows, _ = rosetta_rows_in(data, points)
        held = np.setdiff1d(np.arange(len(data.x)), rows[rows < len(data.x)])
        truth = encode_means(alice, data.x).astype(np.float64)[held]
        total = float(((truth - truth.mean(0)) ** 2).sum(1).mean())
        print(f"\n{folder}'s folder: {len(held)} held-out points; distance to Alice's coordinates (0 best), Bob's seed-0 R-VAE:")
        for align in ALIGN_CHOICES:
            landed = embed_folder(models[:1], data, points, align)
            z = landed.frame[[f"z{i}" for i in range(alice.latent_dim)]].to_numpy(np.float64)[held]
            print(f"  {align:<10} {normalised_distance(z, truth):.4f}   {landed.choices[0].reason}")
        for which, used in (("seed 0", models[:1]), ("seeds 0-2, their mean", models)):
            landed = embed_folder(used, data, points, "auto")
            z = landed.frame[[f"z{i}" for i in range(alice.latent_dim)]].to_numpy(np.float64)[held]
            error = ((z - truth) ** 2).sum(1) / total
            for score in ("anchor_distance", "model_spread"):
                if score in landed.frame:
                    rho = rank_correlation(landed.frame[score].to_numpy()[held], error)
                    print(f"  Spearman({score}, true distance), {which}, auto: {rho:.3f}")
    for label, env in (("this machine's kernels", {}), ("baseline kernels", BASELINE)):
        done = subprocess.run([sys.executable, "-m", "rvae.cli", "verify", "--model", str(example / "alice_model/model.pt"), "--rosetta", str(rosetta)],
                              capture_output=True, text=True, env={**os.environ, **env})  # fmt: skip
        print(f"\nverify, Alice's model, {label} (exit {done.returncode}): {done.stdout.strip().splitlines()[-1]}")
    done = subprocess.run([sys.executable, "-m", "rvae.cli", "verify", "--model", str(bob_models[0]), "--rosetta", str(rosetta)], capture_output=True, text=True)
    print(f"verify, Bob's R-VAE (exit {done.returncode}): {done.stdout.strip().splitlines()[-1]}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "example"))
