"""Benchmark harness: training throughput of the naive reference vs the workflow's trainer.

    .venv/bin/python benchmarks/run.py              # ~3 minutes on 2 cores
    .venv/bin/python benchmarks/run.py --speed      # adds the speed stages (~15 min): precision and
                                                    # compile per step, job fixed cost, time to plateau
                                                    # before/after, also with oneDNN capped at AVX2
    .venv/bin/python benchmarks/run.py --workflow   # adds the default-config workflow (~30 min)

Prints a table and writes benchmarks/results.md (with the machine's description). All figures
come from this one run: the fp32 matmul peak, for each dataset's architecture at its configured
batch size the naive loop, the trainer on one seed, the trainer on a seed block (per seed),
their ratio, losses compared for the same seeds, achieved FLOP/s over the peak; the metric
stage on paper-sized inputs; optionally the whole workflow and a no-op rerun.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import yaml
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).parent))
from naive import naive_train  # noqa: E402
import plateau  # noqa: E402

from rvae import defaults  # noqa: E402
from rvae.workflow.config_checks import declared_input_shape  # noqa: E402
from rvae.device import configure_runtime, native_bf16  # noqa: E402
from rvae.ensemble import choose_mode, fit_block  # noqa: E402
from rvae.losses import batch_loss  # noqa: E402
from rvae.metrics import lsd, retraining_variability  # noqa: E402
from rvae.models import ArchitectureSpec, build_vae  # noqa: E402
from rvae.convergence import PlateauRule
from rvae.trainer import TrainConfig, Trainer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# Points per measurement: enough batches for a steady rate, a few seconds each on 2 cores.
POINTS = {"gaussians": 4096, "mnist": 2048, "birdsong": 192, "chairs": 384}
EPOCHS = {"gaussians": 4, "mnist": 1, "birdsong": 1, "chairs": 1}


def machine() -> str:
    cpu = "unknown CPU"
    if Path("/proc/cpuinfo").exists():
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return (
        f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} with {torch.get_num_threads()} threads, "
        f"GPU: {gpu}, Python {platform.python_version()}, {platform.platform()}"
    )


def matmul_peak(device: torch.device, size: int = 2048, seconds: float = 2.0, dtype=torch.float32) -> float:
    """Measured GFLOP/s of a large square matmul in ``dtype`` (best of three)."""
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    best = 0.0
    for _ in range(3):
        for _ in range(2):
            a @ b
        _sync(device)
        start, n = time.perf_counter(), 0
        while time.perf_counter() - start < seconds / 3:
            a @ b
            n += 1
        _sync(device)
        best = max(best, 2 * size**3 * n / (time.perf_counter() - start) / 1e9)
    return best


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def cases(config: dict):
    for name, settings in config["datasets"].items():
        shape = declared_input_shape(settings)
        if name not in POINTS or shape is None:
            continue
        arch = settings["architecture"]
        spec = ArchitectureSpec(
            family=arch["family"], input_shape=shape, latent_dim=arch["latent_dim"],
            **{k: v for k, v in arch.items() if k in ("hidden", "residual_hidden")},
        )  # fmt: skip
        yield name, spec, int(settings["training"].get("batch_size", defaults.BATCH_SIZE))


def flops_per_sample(spec, batch_size, device) -> float:
    model = build_vae(spec, seed=0).to(device)
    x = torch.rand(batch_size, *spec.input_shape, device=device)
    eps = torch.randn(batch_size, spec.latent_dim, device=device)
    with FlopCounterMode(display=False) as counter:
        batch_loss(model, x, eps, 1.0, 10.0).total.backward()
    return counter.get_total_flops() / batch_size


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def benchmark_case(name, spec, batch_size, device, block_size, mode):
    n, epochs = POINTS[name], EPOCHS[name]
    x = torch.rand(n, *spec.input_shape, generator=torch.Generator().manual_seed(0))
    # one row a pass, so the trainer's history and the naive loop's losses line up pass by pass
    steps_per_pass = -(-n // batch_size)
    rule = PlateauRule(eval_every=steps_per_pass, min_steps=steps_per_pass, min_window=steps_per_pass)
    config = TrainConfig(until=epochs * steps_per_pass, batch_size=batch_size, beta=2.5, seed=0, device=str(device), threads=None, rule=rule)
    # warm-up (allocator, oneDNN primitive caches) for both, outside the timings
    naive_train(spec, x[: batch_size * 2], TrainConfig(until=2, batch_size=batch_size, device=str(device)))
    naive_s, naive_losses = timed(lambda: naive_train(spec, x, config))
    trainer_s, history = timed(lambda: Trainer(build_vae(spec, seed=0), config).fit(x))
    seeds = list(range(block_size))
    chosen = choose_mode(mode, spec.family, str(device))
    block_s, _ = timed(
        lambda: fit_block(spec, [TrainConfig(**{**config.__dict__, "seed": s}) for s in seeds], x, None, None,
                          [None] * len(seeds), chosen)
    )  # fmt: skip
    trainer_losses = [r["loss"] for r in history]
    gaps = [abs(a - b) / max(abs(a), 1e-12) for a, b in zip(naive_losses, trainer_losses)]
    samples = n * epochs
    return {
        "dataset": name,
        "architecture": f"{spec.family} {'x'.join(map(str, spec.input_shape))} k={spec.latent_dim}",
        "batch": batch_size,
        "naive": samples / naive_s,
        "trainer": samples / trainer_s,
        "block": samples * len(seeds) / block_s,
        "block_mode": f"{chosen} x{len(seeds)}",
        "loss_gap_first": gaps[0],
        "loss_gap_max": max(gaps),
        "flops_per_sample": flops_per_sample(spec, batch_size, device),
    }


def metric_stage() -> dict:
    rng = np.random.default_rng(0)
    runs = rng.normal(size=(10, 70_000, 32)).astype(np.float32)
    rv_s, _ = timed(lambda: retraining_variability(runs, "ledoit_wolf"))
    pseudo_s, _ = timed(lambda: retraining_variability(runs, "pseudo"))
    z, z_ref = runs[0], runs[1] @ rng.normal(size=(32, 32)).astype(np.float32)
    lsd_s, _ = timed(lambda: lsd(z, z_ref))
    return {"rv_ledoit_wolf": rv_s, "rv_pseudo": pseudo_s, "lsd": lsd_s}


def workflow_stage(cores: str = "all") -> dict:
    """The default config from scratch, then a no-op dry run, in a temporary folder."""
    snakemake = str(Path(sys.executable).parent / "snakemake")
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [snakemake, "--snakefile", str(ROOT / "Snakefile"), "--directory", tmp,
               "--configfile", str(ROOT / "config/config.yaml")]  # fmt: skip
        full_s, done = timed(lambda: subprocess.run(cmd + ["--cores", cores], capture_output=True, text=True))
        if done.returncode != 0:
            raise RuntimeError(done.stderr[-3000:])
        noop_s, dry = timed(lambda: subprocess.run(cmd + ["-n", "--cores", cores], capture_output=True, text=True))
        jobs = done.stderr.count("Finished jobid") or done.stderr.count("steps (100%) done")
        assert "Nothing to be done" in dry.stdout + dry.stderr
    return {"workflow_s": full_s, "noop_s": noop_s, "jobs": jobs}


def render(rows, peak, metrics, flow, description, device, speed=None) -> str:
    out = ["# Benchmark results", "", "Written by `.venv/bin/python benchmarks/run.py` (see benchmarks/README.md).", "",
           f"Machine: {description}", f"Device: {device}", "",
           f"Measured fp32 matmul peak: **{peak:.1f} GFLOP/s** (2048x2048, best of three).", "",
           "Training throughput in samples/s per seed (higher is better); `ratio` = trainer / naive; "
           "`block` = the workflow's seed block, per seed; `loss gap` = relative difference of the "
           "epoch-mean losses of the naive loop and the trainer for the same seed, first epoch / largest over the epochs "
           "(rounding differences, e.g. fused vs per-tensor Adam, grow over training); "
           "`% peak` = trainer's achieved FLOP/s (FlopCounterMode count x samples/s) over the matmul peak.", "",
           "| dataset | architecture | batch | naive | trainer | ratio | block (mode) | block ratio | loss gap | GFLOP/s | % peak |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        achieved = r["flops_per_sample"] * r["trainer"] / 1e9
        out.append(
            f"| {r['dataset']} | {r['architecture']} | {r['batch']} | {r['naive']:.0f} | {r['trainer']:.0f} | "
            f"{r['trainer'] / r['naive']:.2f}x | {r['block']:.0f} ({r['block_mode']}) | {r['block'] / r['naive']:.2f}x | "
            f"{r['loss_gap_first']:.0e} / {r['loss_gap_max']:.0e} | {achieved:.1f} | {100 * achieved / peak:.0f}% |"
        )
    out += ["", "Metric stage on paper-sized inputs (70,000 points, 10 runs, 32 dims):", "",
            f"- RV (Ledoit-Wolf): {metrics['rv_ledoit_wolf']:.2f} s", f"- RV (pseudo-determinant): {metrics['rv_pseudo']:.2f} s",
            f"- LSD (70,000 x 32): {metrics['lsd']:.2f} s"]  # fmt: skip
    if speed:
        out += render_speed(speed, peak)
    if flow:
        out += ["", "Workflow on config/config.yaml from scratch (`snakemake --cores all`):", "",
                f"- wall time: {flow['workflow_s'] / 60:.1f} min", f"- no-op rerun (`snakemake -n`): {flow['noop_s']:.1f} s"]  # fmt: skip
    return "\n".join(out) + "\n"


# "before": the trainer in fp32, eager, at these batch sizes. "after": the settings of the default
# config (precision auto, compile auto, its batch sizes), passed in by --after-batch.
BEFORE_BATCH = {"mnist": 16, "chairs": 8, "birdsong": 16}


def speed_stage(config_path: Path, after_batch: dict, datasets) -> dict:
    """The speed figures, every contender in this one run."""
    config = plateau.default_config(config_path)
    bf16_peak = matmul_peak(torch.device("cpu"), dtype=torch.bfloat16) if native_bf16(torch.device("cpu")) else 0.0
    print(f"bf16 matmul peak {bf16_peak:.1f} GFLOP/s", flush=True)
    steps, fixed = [], []
    for name in datasets:
        data = plateau.prepared(config, name)
        spec = plateau.spec_of(config, name, data)
        batch = after_batch[name]
        torch.set_num_threads(1)
        for row in plateau.step_rates(spec, batch):
            steps.append({"dataset": name, "architecture": f"{spec.family} {'x'.join(map(str, spec.input_shape))}",
                          "batch": batch, "flops_per_sample": flops_per_sample(spec, batch, torch.device("cpu")), **row})  # fmt: skip
            print(steps[-1], flush=True)
        fixed.append(plateau.job_fixed_cost(config_path, name))
        print(fixed[-1], flush=True)
    contenders = {
        "before": {n: (BEFORE_BATCH[n], "fp32", "off", "contiguous") for n in datasets},
        "after": {n: (after_batch[n], "auto", "auto", "auto") for n in datasets},
    }
    args = [str(config_path), ",".join(datasets), json.dumps(contenders)]
    native = plateau.plateau_in_subprocess(args, {})
    # without bf16 only the birdsong (AVA) network is asked about; the others would double the stage
    avx2_args = [str(config_path), "birdsong", json.dumps({k: {"birdsong": v["birdsong"]} for k, v in contenders.items()})]
    avx2 = plateau.plateau_in_subprocess(avx2_args, {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"})
    sweeps = plateau.sweep_stage(ROOT / "config/paper.yaml")
    return {"bf16_peak": bf16_peak, "steps": steps, "fixed": fixed, "plateau": {"native": native, "avx2": avx2},
            "sweeps": sweeps}  # fmt: skip


def render_speed(speed: dict, peak: float) -> list[str]:
    bf16_peak = speed["bf16_peak"]
    out = ["", "## Speed", "",
           f"Measured bf16 matmul peak: **{bf16_peak:.1f} GFLOP/s** (0: no native bf16). One torch thread, as a workflow job; "
           "`% fp32 / bf16 peak` = achieved FLOP/s over each peak; compile time = the first compiled step, with an empty inductor cache of its own.", "",
           "| dataset | architecture | batch | precision | compiled | samples/s | % fp32 peak | % bf16 peak | compile s |",
           "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in speed["steps"]:
        achieved = r["flops_per_sample"] * r["samples_per_s"] / 1e9
        bf = f"{100 * achieved / bf16_peak:.0f}%" if bf16_peak else "-"
        comp = f"{r['compile_s']:.1f}" if r["compile_s"] is not None else "-"
        out.append(f"| {r['dataset']} | {r['architecture']} | {r['batch']} | {r['precision']} | {'yes' if r['compile'] else 'no'} | "
                   f"{r['samples_per_s']:.0f} | {100 * achieved / peak:.0f}% | {bf} | {comp} |")  # fmt: skip
    out += ["", "Fixed cost of a training job before its first epoch (fresh interpreter: the retrain script's imports, "
            "reading the prepared data, building the model, then the trainer: runtime settings and Adam, whose first "
            "construction imports torch's dynamo; `process` includes interpreter start and exit):", "",
            "| dataset | imports s | data s | model s | trainer s | process s |", "|---|---|---|---|---|---|"]  # fmt: skip
    for r in speed["fixed"]:
        out.append(f"| {r['dataset']} | {r['imports_s']:.2f} | {r['data_s']:.3f} | {r['model_s']:.3f} | "
                   f"{r['trainer_s']:.2f} | {r['process_s']:.2f} |")  # fmt: skip
    out += ["", "Sweeps at the paper's grid sizes (config/paper.yaml's 8 Gaussians, 20 epochs per candidate): one process per "
            "candidate (median of three, times the grid) against one process training the whole grid as a vmapped block "
            "(the workflow's `sweep` job); both include interpreter start and data preparation.", "",
            "| dataset | parameter | candidates | one candidate's job s | one job per candidate s | one job per grid s | speed-up |",
            "|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in speed["sweeps"]:
        out.append(f"| {r['dataset']} | {r['param']} | {r['candidates']} | {r['one_job_s']:.1f} | {r['per_candidate_total_s']:.1f} | "
                   f"{r['grid_job_s']:.1f} | {r['speedup']:.1f}x |")  # fmt: skip
    for path, rows in speed["plateau"].items():
        title = "this CPU's own kernels" if path == "native" else "oneDNN capped at AVX2 (`ONEDNN_MAX_CPU_ISA=AVX2`: no bf16)"
        out += ["", f"Time to plateau, {title}: the default config's joint template trained until the plateau rule "
                "fires (one thread; CPU-seconds of the training process).", "",
                "`to before's quality` = CPU s until the smoothed validation curve reaches the before-run's plateau value "
                "(where the plateau epoch itself moves with the curve's noise, this is the like-for-like time).", "",
                "| dataset | contender | batch | precision | epochs | steps | CPU s to plateau | speed-up | val -ELBO at plateau (EMA) | best val | CPU s to before's quality | speed-up |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
        before = {r["dataset"]: r for r in rows if r["contender"] == "before"}
        for r in rows:
            base = before[r["dataset"]]
            ratio = base["cpu_s"] / r["cpu_s"]
            capped = " (cap)" if r["capped"] else ""
            reach = plateau.cpu_to_reach(r, base["val_at_plateau"])
            reach_text = f"{reach:.1f} | {base['cpu_s'] / reach:.2f}x" if reach else "never | -"
            out.append(f"| {r['dataset']} | {r['contender']} | {r['batch']} | {r['precision']} | {r['epochs']}{capped} | {r['steps']} | "
                       f"{r['cpu_s']:.1f} | {ratio:.2f}x | {r['val_at_plateau']:.2f} | {r['val_best']:.2f} | {reach_text} |")  # fmt: skip
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(ROOT / "config/paper.yaml"), help="architectures, batch sizes, seed blocks")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--workflow", action="store_true", help="also time the default workflow (~30 min)")
    parser.add_argument("--speed", action="store_true", help="also the speed stages on the default config (~15 min)")
    parser.add_argument("--speed-config", default=str(ROOT / "config/config.yaml"))
    parser.add_argument("--speed-datasets", default=",".join(plateau.PLATEAU_DATASETS))
    parser.add_argument("--skip-throughput", action="store_true", help="only the stages asked for")
    parser.add_argument("--output", default=str(ROOT / "benchmarks/results.md"))
    args = parser.parse_args(argv)
    config = plateau.default_config(Path(args.config))
    device = torch.device(args.device)
    configure_runtime(threads=None, deterministic=True)  # the trainer's settings, for every contender
    description = machine()
    print(description, flush=True)
    peak = matmul_peak(device)
    print(f"matmul peak {peak:.1f} GFLOP/s", flush=True)
    block_size = min(config["seed_block"]["size"], config["n_seeds"])  # the workflow's blocks for this config
    rows = []
    for name, spec, batch_size in [] if args.skip_throughput else cases(config):
        row = benchmark_case(name, spec, batch_size, device, block_size, block.get("mode", "auto"))
        rows.append(row)
        print({k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
    metrics = metric_stage()
    print(metrics, flush=True)
    speed = None
    if args.speed:
        default = plateau.default_config(Path(args.speed_config))
        after_batch = {n: int(default["datasets"][n]["training"]["batch_size"]) for n in args.speed_datasets.split(",")}
        speed = speed_stage(Path(args.speed_config), after_batch, args.speed_datasets.split(","))
    flow = workflow_stage() if args.workflow else None
    text = render(rows, peak, metrics, flow, description, device, speed)
    print(text)
    Path(args.output).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
