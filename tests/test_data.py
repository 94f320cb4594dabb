import gzip
import struct

import numpy as np
import pytest

from rvae.data import DataError, assign_splits, load_dataset
from rvae.data.common import RawDataset
from rvae.data.store import load_prepared, prepare, save_prepared


def _write_idx(path, array, magic, gz=False):
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    (gzip.open if gz else open)(path, "wb").write(data)


@pytest.fixture
def idx_folder(tmp_path, rng):
    images = rng.integers(0, 256, size=(30, 28, 28))
    labels = np.arange(30) % 10
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", images, 0x803, gz=True)
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels, 0x801, gz=True)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", images[:10], 0x803)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels[:10], 0x801)
    return tmp_path, images, labels


def test_mnist_idx_gzipped_and_plain(idx_folder):
    folder, images, labels = idx_folder
    data = load_dataset("mnist", {"source": "idx", "path": str(folder)})
    assert data.x.shape == (40, 1, 28, 28)
    np.testing.assert_allclose(data.x[:30, 0], images / 255.0, rtol=1e-6)
    assert list(data.labels[:30]) == list(labels)
    assert set(data.partition[data.labels < 5]) == {"D1"} and set(data.partition[data.labels >= 5]) == {"D2"}


def test_mnist_truncated_or_wrong_magic_or_missing(idx_folder):
    folder, images, labels = idx_folder
    raw = (folder / "t10k-images-idx3-ubyte").read_bytes()
    (folder / "t10k-images-idx3-ubyte").write_bytes(raw[:-100])
    with pytest.raises(DataError, match="t10k-images.*truncated"):
        load_dataset("mnist", {"source": "idx", "path": str(folder)})
    _write_idx(folder / "t10k-images-idx3-ubyte", images[:10], 0x801)
    with pytest.raises(DataError, match="magic"):
        load_dataset("mnist", {"source": "idx", "path": str(folder)})
    with pytest.raises(DataError, match="does not exist"):
        load_dataset("mnist", {"source": "idx", "path": str(folder / "nope")})
    (folder / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError, match="t10k-labels"):
        load_dataset("mnist", {"source": "idx", "path": str(folder)})


def test_mnist_embedded_is_the_real_5k_sample():
    data = load_dataset("mnist", {"source": "embedded"})
    assert data.x.shape == (5000, 1, 28, 28)
    assert np.bincount(data.labels).tolist() == [500] * 10
    assert 0.0 <= data.x.min() and data.x.max() <= 1.0 and 0.05 < data.x.mean() < 0.25
    assert (data.partition == "D1").sum() == 2500


def test_gaussians_partition_by_half_plane():
    data = load_dataset("gaussians", {"points_per_cluster": 50, "noise_dims": 3, "seed": 1})
    assert data.x.shape == (400, 5)
    d1 = data.x[data.partition == "D1", :2]
    d2 = data.x[data.partition == "D2", :2]
    normal = np.array([np.cos(np.radians(67.5)), np.sin(np.radians(67.5))])  # normal of the -22.5 deg line
    assert (d1 @ normal > 0).mean() > 0.99 and (d2 @ normal < 0).mean() > 0.99
    again = load_dataset("gaussians", {"points_per_cluster": 50, "noise_dims": 3, "seed": 1})
    assert np.array_equal(again.x, data.x)


def _write_wav(path, seconds=0.5, rate=22050, freq=2000.0, seed=0):
    import soundfile

    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(seed)
    envelope = (np.sin(2 * np.pi * 6 * t) > 0).astype(float)
    audio = 0.3 * envelope * np.sin(2 * np.pi * (freq + 800 * t) * t) + 0.001 * rng.standard_normal(len(t))
    soundfile.write(path, audio, rate)


@pytest.fixture
def bird_folders(tmp_path):
    birds = {}
    for b, freq in enumerate([1500.0, 3000.0, 4500.0]):
        folder = tmp_path / f"bird{b}"
        folder.mkdir()
        for song in range(2):
            _write_wav(folder / f"song{song}.wav", freq=freq, seed=song)
        birds[f"bird{b}"] = str(folder)
    return birds


def test_birdsong_from_wav_windows(bird_folders):
    settings = {
        "source": "wav",
        "birds": bird_folders,
        "d1_birds": ["bird0"],
        "segmentation": {"window_s": 0.1, "windows_per_recording": 5},
    }
    data = load_dataset("birdsong", settings)
    assert data.x.shape == (30, 1, 128, 128)
    assert 0.0 <= data.x.min() and data.x.max() <= 1.0 and data.x.std() > 0.01
    assert (data.partition == "D1").sum() == 10 and data.label_names == ["bird0", "bird1", "bird2"]
    # a higher-pitched bird puts its energy in higher rows (frequency increases with row)
    energy_row = [np.average(np.arange(128), weights=data.x[data.labels == b, 0].sum(axis=(0, 2))) for b in range(3)]
    assert energy_row[0] < energy_row[1] < energy_row[2]


def test_birdsong_syllables_by_amplitude(bird_folders):
    settings = {"source": "wav", "birds": bird_folders, "d1_birds": ["bird0"], "segmentation": {"method": "syllables", "threshold": 500}}
    data = load_dataset("birdsong", settings)
    assert len(data.x) >= 6 and data.x.shape[1:] == (1, 128, 128)


def test_birdsong_bad_inputs(tmp_path, bird_folders):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no .wav files"):
        load_dataset("birdsong", {"source": "wav", "birds": {**bird_folders, "quiet": str(empty)}})
    (tmp_path / "bird1" / "song0.wav").write_bytes(b"RIFF....not really a wav")
    with pytest.raises(DataError, match="cannot read WAV file .*song0.wav"):
        load_dataset("birdsong", {"source": "wav", "birds": bird_folders})
    with pytest.raises(DataError, match="unknown birds"):
        load_dataset("birdsong", {"source": "wav", "birds": bird_folders, "d1_birds": ["robin"]})
    with pytest.raises(DataError, match="partition D2 is empty"):
        load_dataset("birdsong", {"source": "hdf5", "birds": {"a": str(_hdf5(tmp_path, "a"))}, "d1_birds": ["a"]})


def _hdf5(tmp_path, name, shape=(4, 128, 128)):
    import h5py

    folder = tmp_path / f"h5_{name}"
    folder.mkdir(exist_ok=True)
    with h5py.File(folder / "syllables_0000.hdf5", "w") as handle:
        handle.create_dataset("specs", data=np.random.default_rng(0).random(shape, dtype=np.float32))
    return folder


def test_birdsong_from_ava_hdf5(tmp_path):
    birds = {"a": str(_hdf5(tmp_path, "a")), "b": str(_hdf5(tmp_path, "b"))}
    data = load_dataset("birdsong", {"source": "hdf5", "birds": birds, "d1_birds": ["a"]})
    assert data.x.shape == (8, 1, 128, 128) and list(data.partition) == ["D1"] * 4 + ["D2"] * 4
    birds["b"] = str(_hdf5(tmp_path, "c", shape=(3, 64, 64)))
    with pytest.raises(DataError, match=r"expected \(N, 128, 128\)"):
        load_dataset("birdsong", {"source": "hdf5", "birds": birds})


def test_birdsong_embedded_songs():
    data = load_dataset("birdsong", {"source": "embedded", "d1_birds": ["bells", "flashcam"], "segmentation": {"windows_per_recording": 20}})
    assert data.x.shape == (80, 1, 128, 128)
    assert np.bincount(data.labels).tolist() == [20] * 4
    assert set(data.partition[data.labels < 2]) == {"D1"} and set(data.partition[data.labels >= 2]) == {"D2"}


def _chairs_tree(tmp_path, n=3, views=4):
    from PIL import Image

    root = tmp_path / "rendered_chairs"
    for c in range(n):
        renders = root / f"chair_{c:03d}" / "renders"
        renders.mkdir(parents=True)
        for v in range(views):
            img = np.full((120, 100, 3), 255, dtype=np.uint8)
            img[40 + c * 5 : 80, 30 + v * 5 : 70] = 40 * c
            Image.fromarray(img).save(renders / f"image_{v:03d}_p020_t{v * 10:03d}_r096.png")
    return root


def test_rendered_chairs_tree(tmp_path):
    root = _chairs_tree(tmp_path)
    data = load_dataset("chairs", {"source": "rendered_chairs", "path": str(root), "partition_seed": 0})
    assert data.x.shape == (12, 1, 64, 64) and 0 <= data.x.min() and data.x.max() <= 1
    for chair in range(3):  # every view of a chair lands in one partition
        assert len(set(data.partition[data.labels == chair])) == 1
    (root / "chair_001" / "renders" / "image_002_p020_t020_r096.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(DataError, match="cannot read image .*image_002"):
        load_dataset("chairs", {"source": "rendered_chairs", "path": str(root)})


def test_synthetic_chairs_views_and_identity_split():
    data = load_dataset("chairs", {"source": "synthetic", "n_chairs": 4, "seed": 0})
    assert data.x.shape == (4 * 62, 1, 64, 64)
    assert "SYNTHETIC" in data.notes
    assert (data.partition == "D1").sum() == 2 * 62
    view_a, view_b = data.x[0, 0], data.x[10, 0]
    assert (view_a < 0.99).mean() > 0.05 and not np.array_equal(view_a, view_b)


def test_chairs_render_at_the_configured_size_and_the_config_check_knows_it():
    """The default config renders 32x32 chairs (`load.size`); the facts the config check reads agree."""
    from rvae.data.registry import dataset_facts

    load = {"source": "synthetic", "n_chairs": 2, "seed": 0, "size": 32}
    data = load_dataset("chairs", load)
    assert data.x.shape == (2 * 62, 1, 32, 32)
    assert (data.x[0, 0] < 0.99).mean() > 0.05  # a chair is drawn, not a blank frame
    assert dataset_facts("chairs", load).input_shape == (1, 32, 32)
    with pytest.raises(DataError, match="size"):
        load_dataset("chairs", {**load, "size": 4})


def test_splits_are_sixty_forty_deterministic_and_within_partitions():
    partition = np.array(["D1"] * 100 + ["D2"] * 50)
    a = assign_splits(partition, 0.6, seed=3)
    assert np.array_equal(a, assign_splits(partition, 0.6, seed=3))
    assert not np.array_equal(a, assign_splits(partition, 0.6, seed=4))
    assert (a[:100] == "train").sum() == 60 and (a[100:] == "train").sum() == 30
    with pytest.raises(DataError, match="train_fraction"):
        assign_splits(partition, 1.0)


def test_nan_inputs_and_empty_partition_are_refused():
    x = np.zeros((4, 2), dtype=np.float32)
    x[2, 1] = np.nan
    with pytest.raises(DataError, match="NaN.*first rows \\[2\\]"):
        RawDataset("toy", x, [0, 0, 1, 1], ["D1", "D1", "D2", "D2"])
    with pytest.raises(DataError, match="partition D2 is empty"):
        RawDataset("toy", np.zeros((2, 2)), [0, 1], ["D1", "D1"])


def test_prepared_dataset_round_trip_and_truncation(tmp_path):
    raw = load_dataset("gaussians", {"points_per_cluster": 20})
    prepared = prepare(raw, 0.6, 0)
    save_prepared(prepared, tmp_path)
    loaded = load_prepared(tmp_path)
    assert isinstance(loaded.x, np.memmap)
    np.testing.assert_array_equal(np.asarray(loaded.x), raw.x)
    assert list(loaded.points.columns) == ["point", "partition", "split", "label", "label_name"]
    assert len(loaded.rows("D1", "train")) == 48
    raw_bytes = (tmp_path / "x.npy").read_bytes()
    (tmp_path / "x.npy").write_bytes(raw_bytes[: len(raw_bytes) // 2])
    with pytest.raises(DataError, match="x.npy is unreadable or truncated"):
        load_prepared(tmp_path)


def test_folder_dataset(tmp_path):
    import pandas as pd

    np.save(tmp_path / "x.npy", np.random.default_rng(0).random((10, 4)).astype(np.float32))
    pd.DataFrame({"label": list("aabbccddee")}).to_parquet(tmp_path / "labels.parquet")
    (tmp_path / "dataset.yaml").write_text("input_shape: [4]\nfamily: mlp\nd1_labels: [a, b]\n")
    data = load_dataset("folder", {"path": str(tmp_path)})
    assert (data.partition == "D1").sum() == 4 and data.label_names == list("abcde")
    (tmp_path / "dataset.yaml").write_text("input_shape: [5]\nfamily: mlp\n")
    with pytest.raises(DataError, match=r"shape \(4,\) but dataset.yaml says \(5,\)"):
        load_dataset("folder", {"path": str(tmp_path)})
