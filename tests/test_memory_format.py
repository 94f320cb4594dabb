"""The convolutions' memory layout: what auto picks, that a channels_last step is the
same computation up to float32 rounding, and that a trained model comes back as a reloaded one is."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from rvae.device import resolve_memory_format
from rvae.inference import encode_means
from rvae.models import ArchitectureSpec, build_vae, load_model, save_model
from rvae.trainer import TrainConfig, Trainer

AVA = ArchitectureSpec(family="ava", input_shape=(1, 32, 32), latent_dim=4)
CPU = torch.device("cpu")


def test_auto_takes_channels_last_only_for_the_ava_net_on_a_cpu():
    assert resolve_memory_format("auto", CPU, "ava") == "channels_last"
    assert resolve_memory_format("auto", CPU, "conv") == resolve_memory_format("auto", CPU, "mlp") == "contiguous"
    assert resolve_memory_format("auto", torch.device("cuda"), "ava") == "contiguous"  # GPUs: untested, default layout
    assert resolve_memory_format("channels_last", CPU, "conv") == "channels_last"  # asked for explicitly
    with pytest.raises(ValueError, match="memory_format must be one of"):
        resolve_memory_format("nhwc", CPU, "ava")
    with pytest.raises(ValueError, match="memory_format must be one of"):
        TrainConfig(epochs=1, memory_format="nhwc")


@pytest.mark.determinism
def test_a_channels_last_step_is_the_contiguous_step_up_to_rounding(step_agrees_to_rounding):
    """The channels_last step sums in another order: within the float64-derived bound of conftest's
    ``step_agrees_to_rounding`` (4x the contiguous float32 step's error plus 8 ulps)."""
    g = torch.Generator().manual_seed(5)
    x = torch.rand(16, *AVA.input_shape, generator=g)
    eps = torch.randn(16, AVA.latent_dim, generator=g)
    step_agrees_to_rounding(lambda: build_vae(AVA, seed=0), x, eps, model=lambda m: m.to(memory_format=torch.channels_last))


@pytest.mark.determinism
def test_a_channels_last_run_is_repeatable_recorded_and_handed_back_contiguous(tmp_path):
    x = torch.rand(48, *AVA.input_shape, generator=torch.Generator().manual_seed(6))
    config = TrainConfig(epochs=2, batch_size=16, seed=3, precision="fp32", memory_format="auto")
    runs = []
    for _ in range(2):
        trainer = Trainer(build_vae(AVA, seed=3), config)
        runs.append((trainer.model, trainer.fit(x, x_val=x[:16])))
    (model, history), (again, history_again) = runs
    assert trainer.config.memory_format == "channels_last"  # resolved: a checkpoint never says "auto"
    assert trainer.config.identity() != TrainConfig(**{**config.__dict__, "memory_format": "contiguous"}).identity()
    assert [r["memory_format"] for r in history] == ["channels_last"] * 2
    untimed = [[{k: v for k, v in r.items() if k not in ("seconds", "samples_per_s")} for r in h] for h in (history, history_again)]
    assert untimed[0] == untimed[1]
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))
    # handed back in the default layout, so a saved and reloaded model embeds the same bits
    assert all(p.is_contiguous() for p in model.parameters())
    save_model(model, tmp_path / "model.pt")
    np.testing.assert_array_equal(encode_means(model, x), encode_means(load_model(tmp_path / "model.pt"), x))


@pytest.mark.determinism
def test_training_runs_in_the_layout_it_records_and_resumes_bit_identical(tmp_path):
    """The weights and Adam's moments are channels_last while training (a conv with more than one
    input channel, where the layouts differ), the result differs from a contiguous run in rounding,
    and a run stopped after one epoch and resumed ends where an uninterrupted one does."""
    x = torch.rand(48, *AVA.input_shape, generator=torch.Generator().manual_seed(7))
    base = dict(epochs=2, batch_size=16, seed=5, precision="fp32", checkpoint_every=1)
    seen = []

    def watch(trainer):
        def stop(history):
            conv = trainer.model.encoder[4]  # down(8, 16): 8 input channels
            moments = trainer.optimizer.state[conv.weight]
            seen.append((conv.weight.is_contiguous(memory_format=torch.channels_last),
                         all(m.stride() == conv.weight.stride() for m in (moments["exp_avg"], moments["exp_avg_sq"]))))
            return False
        return stop

    trained = {}
    for layout in ("channels_last", "contiguous"):
        trainer = Trainer(build_vae(AVA, seed=5), TrainConfig(**base, memory_format=layout))
        trainer.fit(x, stop=watch(trainer))
        trained[layout] = trainer.model
    assert seen == [(True, True)] * 2 + [(False, True)] * 2
    weights = [torch.cat([p.flatten() for p in trained[k].parameters()]) for k in ("channels_last", "contiguous")]
    assert not torch.equal(*weights)  # another summation order: not the contiguous bits
    config = TrainConfig(**base, memory_format="channels_last")
    Trainer(build_vae(AVA, seed=5), replace(config, epochs=1), tmp_path / "ck.pt").fit(x)
    resumed = Trainer(build_vae(AVA, seed=5), config, tmp_path / "ck.pt")
    resumed.fit(x)
    assert all(torch.equal(a, b) for a, b in zip(resumed.model.state_dict().values(), trained["channels_last"].state_dict().values()))
