"""Train/validation splits: random for independent points, time blocks without shared audio for recordings."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rvae.data import DataError, assign_splits, load_dataset
from rvae.data.birdsong import EMBEDDED_RATE, EMBEDDED_SAMPLES, EMBEDDED_SONGS, SpectrogramParams, audio_spans, spectrograms
from rvae.data.common import RawDataset
from rvae.data.partition import DROPPED, assign_block_splits, overlaps_any
from rvae.data.store import load_prepared, prepare, save_prepared


def _shared_audio_pairs(points: pd.DataFrame) -> list[tuple[int, int]]:
    """(train point, val point) pairs of one recording whose spans overlap, by brute force."""
    pairs = []
    for _, rows in points.groupby("recording"):
        train, val = rows[rows["split"] == "train"], rows[rows["split"] == "val"]
        for t in train.itertuples():
            for v in val.itertuples():
                if t.start_s < v.end_s and v.start_s < t.end_s:
                    pairs.append((t.point, v.point))
    return pairs


def _train_share(points: pd.DataFrame, partition: str) -> float:
    split = points.loc[points["partition"] == partition, "split"]
    return float((split == "train").mean())


def test_overlaps_any_is_half_open():
    others = np.array([[1.0, 2.0], [5.0, 6.0], [3.0, 3.0]])  # the last one is empty: no audio
    probes = np.array([[2.0, 3.0], [0.0, 1.0], [1.5, 1.6], [4.0, 7.0], [2.5, 3.5], [1.9, 1.9]])
    assert overlaps_any(probes, others).tolist() == [False, False, True, True, False, False]
    assert overlaps_any(probes, np.zeros((0, 2))).tolist() == [False] * 6


def test_spans_cover_all_the_audio_a_window_reads(rng):
    """Changing audio outside a window's span leaves its spectrogram bit-identical; inside the
    STFT reach past the nominal window it does not, so nominal windows that touch share audio."""
    rate, params = 22050, SpectrogramParams(max_freq=10_000.0)
    audio = 0.3 * rng.standard_normal(rate)
    window = np.array([[0.40, 0.48]])
    span = audio_spans(window, rate, 1.0, params)[0]
    reach = (params.nperseg - params.noverlap + params.nperseg / 2) / rate
    np.testing.assert_allclose(span, [0.40 - reach, 0.48 + reach])
    before = spectrograms(audio, rate, window, params)
    outside = audio.copy()
    t = np.arange(rate) / rate
    far = (t < span[0]) | (t >= span[1])
    outside[far] = 0.05 * rng.standard_normal(far.sum())
    np.testing.assert_array_equal(spectrograms(outside, rate, window, params), before)
    near = audio.copy()
    just_after = (t >= 0.48) & (t < 0.48 + 0.5 * params.nperseg / 2 / rate)
    near[just_after] = 0.05 * rng.standard_normal(just_after.sum())
    assert np.abs(spectrograms(near, rate, window, params) - before).max() > 0.01


def test_embedded_songs_validation_shares_no_audio_with_training(tmp_path):
    raw = load_dataset("birdsong", {"source": "embedded", "d1_birds": ["bells", "flashcam"],
                                    "segmentation": {"window_s": 0.08, "windows_per_recording": 30}})  # fmt: skip
    assert raw.recording.tolist() == [name for name in EMBEDDED_SONGS for _ in range(30)]
    widths = raw.interval[:, 1] - raw.interval[:, 0]
    assert widths.max() == pytest.approx(0.08 + 2 * (32 + 256) / 44100)  # window plus the STFT's reach
    data = prepare(raw, 0.6, 0)
    save_prepared(data, tmp_path)
    points = load_prepared(tmp_path).points
    assert _shared_audio_pairs(points) == []
    info = json.loads((tmp_path / "info.json").read_text())
    assert info["split_method"] == "recording_blocks"
    dropped = info["dropped_overlapping"]
    # 30 windows: step 36-53 ms, span 93 ms, so 1 or 2 windows each side of each song's one cut
    assert dropped["n"] == 120 - len(points) and dropped["of"] == 120 and dropped["by_partition"] == {"D1": 4, "D2": 6}
    assert {c["partition"] + c["split"]: c["n"] for c in info["counts"]} == {"D1train": 34, "D1val": 22, "D2train": 33, "D2val": 21}
    for part in ("D1", "D2"):
        assert 0.58 <= _train_share(points, part) <= 0.62
    # each song feeds both splits, and the kept points are the right spectrograms
    assert (points.groupby("recording")["split"].nunique() == 2).all()
    original = {(r, s): i for i, (r, s) in enumerate(zip(raw.recording, raw.interval[:, 0]))}
    rows = [original[(r, s)] for r, s in zip(points["recording"], points["start_s"])]
    np.testing.assert_array_equal(data.x, raw.x[rows])


def test_the_default_config_keeps_416_of_480_windows_and_the_config_check_knows():
    """config/config.yaml's birdsong (120 windows of 80 ms per song): the numbers config/README.md quotes."""
    import yaml

    from rvae.workflow.config_checks import expected_d1_train, validate_config

    config = validate_config(yaml.safe_load((Path(__file__).parents[1] / "config" / "config.yaml").read_text()))
    settings = config["datasets"]["birdsong"]
    data = prepare(load_dataset("birdsong", settings["load"]), config["split"]["train_fraction"], config["split"]["seed"])
    counts = data.points.groupby(["partition", "split"]).size().to_dict()
    assert counts == {("D1", "train"): 129, ("D1", "val"): 81, ("D2", "train"): 127, ("D2", "val"): 79}
    assert data.info["dropped_overlapping"]["n"] == 64 and len(data.points) == 416
    assert expected_d1_train(config, "birdsong") == 129


def test_embedded_song_lengths_match_vocalpy():
    import vocalpy as voc

    for name in EMBEDDED_SONGS:
        sound = voc.example(f"{name}.wav")
        assert (sound.data.shape[-1], sound.samplerate) == (EMBEDDED_SAMPLES[name], EMBEDDED_RATE)


@pytest.fixture
def long_songs(tmp_path):
    from test_data import _write_wav

    birds = {}
    for b, freq in enumerate([1500.0, 3000.0, 4500.0]):
        folder = tmp_path / f"bird{b}"
        folder.mkdir()
        for song in range(2):
            _write_wav(folder / f"song{song}.wav", seconds=1.0, freq=freq, seed=song)
        birds[f"bird{b}"] = str(folder)
    return birds


def test_wav_folder_windows_split_in_blocks_without_shared_audio(long_songs):
    settings = {"source": "wav", "birds": long_songs, "d1_birds": ["bird0"],
                "segmentation": {"window_s": 0.1, "windows_per_recording": 16}}  # fmt: skip
    raw = load_dataset("birdsong", settings)
    assert sorted(set(raw.recording)) == [f"bird{b}/song{s}.wav" for b in range(3) for s in range(2)]
    data = prepare(raw, 0.6, 0)
    points = data.points
    assert _shared_audio_pairs(points) == []
    # 16 windows of 1 s: step 60 ms, span 126 ms, so 2 windows each side of each cut
    assert data.info["dropped_overlapping"]["by_partition"] == {"D1": 8, "D2": 16}
    for part in ("D1", "D2"):
        assert 0.58 <= _train_share(points, part) <= 0.65
    for _, rows in points.sort_values(["recording", "start_s"]).groupby("recording"):
        runs = (rows["split"] != rows["split"].shift()).sum()
        assert runs == 2  # one training block and one validation block per recording
        train, val = rows[rows["split"] == "train"], rows[rows["split"] == "val"]
        gap = max(val["start_s"].min() - train["end_s"].max(), train["start_s"].min() - val["end_s"].max())
        assert gap >= 0  # the blocks are apart in time, not merely non-identical


def test_wav_syllables_carry_their_times(long_songs):
    settings = {"source": "wav", "birds": long_songs, "d1_birds": ["bird0"], "segmentation": {"method": "syllables", "threshold": 500}}
    raw = load_dataset("birdsong", settings)
    assert np.isfinite(raw.interval).all() and (raw.interval[:, 1] > raw.interval[:, 0]).all()
    assert _shared_audio_pairs(prepare(raw, 0.6, 0).points) == []


def _recordings(sizes, step=0.025, width=0.08, partition="D1"):
    """Evenly spaced windows per recording, stored in time order."""
    rec = np.concatenate([[f"r{i}"] * n for i, n in enumerate(sizes)])
    start = np.concatenate([np.arange(n) * step for n in sizes])
    return np.array([partition] * len(rec)), rec, np.stack([start, start + width], axis=1)


def _no_shared_audio(rec, interval, split):
    return all(
        not overlaps_any(interval[(rec == r) & (split == "train")], interval[(rec == r) & (split == "val")]).any()
        for r in np.unique(rec)
    )


def test_block_split_counts_seeds_and_contiguity():
    partition, rec, interval = _recordings([10, 13, 15, 22, 40, 19, 16, 30, 11, 25])
    # windows that never overlap: nothing is dropped, and the train count is exactly round(0.6 * 201)
    apart = np.stack([interval[:, 0], interval[:, 0] + 0.01], axis=1)
    split = assign_block_splits(partition, rec, apart, 0.6, seed=0)
    assert (split == "train").sum() == 121 and (split == DROPPED).sum() == 0
    a = assign_block_splits(partition, rec, interval, 0.6, seed=0)
    assert np.array_equal(a, assign_block_splits(partition, rec, interval, 0.6, seed=0))
    b = assign_block_splits(partition, rec, interval, 0.6, seed=1)
    assert not np.array_equal(a, b)
    for split in (a, b):
        assert _no_shared_audio(rec, interval, split)
        assert 0.58 <= (split == "train").sum() / (split != DROPPED).sum() <= 0.65
        for r in np.unique(rec):
            s = split[rec == r]  # stored in time order
            kinds = [s[0]] + [s[i + 1] for i in np.flatnonzero(s[1:] != s[:-1])]
            assert kinds in (["train", DROPPED, "val"], ["val", DROPPED, "train"]), (r, kinds)
            # 80 ms windows every 25 ms: 3 windows each side of the cut share audio across it
            assert (s == DROPPED).sum() == 6


def test_recordings_without_times_split_by_file_in_stored_order():
    partition, rec, interval = _recordings([10, 10])
    interval[:] = np.nan
    split = assign_block_splits(partition, rec, interval, 0.6, seed=0)
    assert (split == DROPPED).sum() == 0 and (split == "train").sum() == 12
    for r in ("r0", "r1"):
        s = split[rec == r]
        assert (s[1:] != s[:-1]).sum() == 1  # one cut per file


def test_too_dense_windows_are_refused_with_the_partition_named():
    partition, rec, interval = _recordings([6], step=0.001)
    partition = np.concatenate([partition, ["D2"] * 6])
    rec = np.concatenate([rec, ["other"] * 6])
    interval = np.concatenate([interval, interval + 10])
    with pytest.raises(DataError, match="partition D1: after dropping 6 points .* 0 train and 0 validation"):
        assign_block_splits(partition, rec, interval, 0.6, seed=0)


def test_ava_hdf5_with_and_without_times(tmp_path):
    import h5py

    specs = np.random.default_rng(0).random((6, 128, 128), dtype=np.float32)
    folders = {}
    for bird, timed in (("a", True), ("b", False)):
        folder = tmp_path / bird
        folder.mkdir()
        with h5py.File(folder / "syllables_0000.hdf5", "w") as handle:
            handle.create_dataset("specs", data=specs)
            if timed:  # as AVA writes them: two audio files, syllables 0.1 s apart
                handle.create_dataset("onsets", data=np.arange(6) * 0.1)
                handle.create_dataset("offsets", data=np.arange(6) * 0.1 + 0.05)
                handle.create_dataset("audio_filenames", data=np.array(["/x/a1.wav"] * 3 + ["/x/a2.wav"] * 3).astype("S"))
        folders[bird] = str(folder)
    raw = load_dataset("birdsong", {"source": "hdf5", "birds": folders, "d1_birds": ["a"]})
    assert raw.recording.tolist() == ["/x/a1.wav"] * 3 + ["/x/a2.wav"] * 3 + ["b/syllables_0000.hdf5"] * 6
    np.testing.assert_allclose(raw.interval[:3], [[0.0, 0.05], [0.1, 0.15], [0.2, 0.25]])
    assert np.isnan(raw.interval[6:]).all() and "1 HDF5 file(s) without onsets" in raw.notes
    data = prepare(raw, 0.6, 0)
    assert data.info["recordings_without_times"] == 1 and data.info["dropped_overlapping"]["n"] == 0
    assert len(data.points) == 12 and np.isnan(data.points["start_s"].to_numpy()[6:]).all()


def test_sources_are_checked():
    x, labels, part = np.zeros((4, 2)), [0, 0, 1, 1], ["D1", "D1", "D2", "D2"]
    with pytest.raises(DataError, match="time intervals given without the recording"):
        RawDataset("toy", x, labels, part, interval=np.zeros((4, 2)))
    with pytest.raises(DataError, match="recording 'r' has times for some points but not for others"):
        RawDataset("toy", x, labels, part, recording=["r"] * 4, interval=[[0, 1], [np.nan, np.nan], [0, 1], [1, 2]])
    with pytest.raises(DataError, match="ending before they start in rows \\[2\\]"):
        RawDataset("toy", x, labels, part, recording=["r"] * 4, interval=[[0, 1], [1, 2], [3, 2], [4, 5]])


def test_points_without_recordings_split_exactly_as_before():
    """The random split is untouched: pinned output of the pre-block-split code, and prepare() uses it."""
    partition = np.array(["D1"] * 10 + ["D2"] * 5)
    pinned = "vvttttttvvtvttv"  # assign_splits(partition, 0.6, 0) before recordings existed
    assert "".join(s[0] for s in assign_splits(partition, 0.6, 0)) == pinned
    raw = load_dataset("gaussians", {"points_per_cluster": 20})
    data = prepare(raw, 0.6, 3, max_points=100)
    assert list(data.points.columns) == ["point", "partition", "split", "label", "label_name"]
    assert data.info["split_method"] == "random" and "dropped_overlapping" not in data.info
    from rvae.data.partition import stratified_subsample

    keep = stratified_subsample(raw.labels, 100, 3)
    np.testing.assert_array_equal(data.x, raw.x[keep])
    assert data.points["split"].tolist() == assign_splits(raw.partition[keep], 0.6, 3).tolist()
