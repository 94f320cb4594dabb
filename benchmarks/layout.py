"""One epoch (training plus the epoch's validation) per memory layout, at the default's sizes.

    .venv/bin/python benchmarks/layout.py bf16
    ONEDNN_MAX_CPU_ISA=AVX2 .venv/bin/python benchmarks/layout.py fp32     # no native bf16

Random inputs of each dataset's default shape, training and validation set sizes; one torch
thread, as a workflow job has; best of 7 epochs. Prints seconds per epoch, contiguous and
channels_last, per batch size: the figures behind ``vocabulary.CHANNELS_LAST_FAMILIES``.
"""

import sys
import time

import torch

from rvae.device import configure_runtime
from rvae.inference import evaluate
from rvae.models import ArchitectureSpec, build_vae
from rvae.trainer import TrainConfig, Trainer

# dataset: (architecture, training points, validation points, batch sizes), as the default run's joint templates
CASES = {
    "mnist": (ArchitectureSpec("conv", (1, 28, 28), 16), 660, 440, (32, 64)),
    "chairs": (ArchitectureSpec("conv", (1, 32, 32), 16), 298, 198, (8, 16, 32)),
    "birdsong": (ArchitectureSpec("ava", (1, 64, 64), 32), 256, 160, (32, 64)),
}


def best(fn, n: int = 7) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(precision: str) -> None:
    configure_runtime(threads=1, deterministic=True)
    for name, (spec, n_train, n_val, batches) in CASES.items():
        cells = []
        for batch in batches:
            for layout in ("contiguous", "channels_last"):
                x_train, x_val = torch.rand(n_train, *spec.input_shape), torch.rand(n_val, *spec.input_shape)
                config = TrainConfig(until=1, batch_size=batch, precision=precision, threads=1, memory_format=layout)
                trainer = Trainer(build_vae(spec, seed=0), config)
                trainer._set_memory_format(layout)
                passes = -(-len(x_train) // batch)
                trainer._train_steps(x_train, None, passes)  # warm-up

                def epoch():
                    trainer._train_steps(x_train, None, passes)
                    evaluate(trainer.model, x_val)

                cells.append(f"B{batch} {layout} {best(epoch):.3f} s")
        print(precision, name, " | ".join(cells), flush=True)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "bf16")
