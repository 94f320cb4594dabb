"""Zebra finch song as AVA-style 128x128 spectrograms, one bird per label.

Sources: a folder of WAV recordings per bird (fixed-length windows, or syllables segmented
by amplitude with vocalpy), AVA's HDF5 syllable files (``specs``: N x 128 x 128), or the
four Sound Analysis Pro songs that vocalpy ships (``bells``, ``flashcam``, ``samba``,
``simple``), one "bird" each, cut into overlapping windows.

Every point carries its recording and the span of it (seconds) that its spectrogram was
computed from, so the split can keep training and validation audio apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rvae.data.common import DataError, DatasetFacts, RawDataset, existing_path

EMBEDDED_SONGS = ("bells", "flashcam", "samba", "simple")
# samples of each embedded song at EMBEDDED_RATE (tested against vocalpy's files), so the config
# check can count the windows the split keeps without loading audio
EMBEDDED_SAMPLES = {"bells": 71297, "flashcam": 63138, "samba": 65451, "simple": 50326}
EMBEDDED_RATE = 44100
WINDOW_S = 0.08
WINDOWS_PER_RECORDING = 200
EPSILON = 1e-12


@dataclass(frozen=True)
class SpectrogramParams:
    """AVA's preprocessing knobs; the log is natural, of the STFT magnitude of audio in [-1, 1]."""

    nperseg: int = 512
    noverlap: int = 480
    min_freq: float = 400.0
    max_freq: float = 10_000.0
    spec_min_val: float = -10.0
    spec_max_val: float = -3.0
    size: int = 128

    def __post_init__(self):
        if not 0 <= self.noverlap < self.nperseg:
            raise DataError(f"birdsong: noverlap must be in [0, nperseg), got {self.noverlap} with nperseg {self.nperseg}")
        if not 0 <= self.min_freq < self.max_freq:
            raise DataError(f"birdsong: need 0 <= min_freq < max_freq, got {self.min_freq}, {self.max_freq}")
        if self.spec_max_val <= self.spec_min_val:
            raise DataError("birdsong: spec_max_val must be greater than spec_min_val")


def spectrograms(audio: np.ndarray, samplerate: int, intervals: np.ndarray, params: SpectrogramParams) -> np.ndarray:
    """One (size x size) spectrogram per (start, end) interval in seconds, scaled to [0, 1].

    The STFT is taken once over the whole recording; each interval is then resampled onto
    ``size`` frequencies (min_freq..max_freq) x ``size`` times with SciPy's
    RegularGridInterpolator, normalised by spec_min_val/spec_max_val and clipped, as AVA does.
    """
    from scipy.interpolate import RegularGridInterpolator
    from scipy.signal import stft

    if params.max_freq > samplerate / 2:
        raise DataError(f"birdsong: max_freq {params.max_freq} Hz is above the Nyquist frequency {samplerate / 2} Hz")
    freqs, times, z = stft(audio, fs=samplerate, nperseg=params.nperseg, noverlap=params.noverlap)
    log_mag = np.log(np.abs(z) + EPSILON)
    interp = RegularGridInterpolator(
        (freqs, times), log_mag, method="linear", bounds_error=False, fill_value=params.spec_min_val
    )
    target_f = np.linspace(params.min_freq, params.max_freq, params.size)
    out = np.empty((len(intervals), params.size, params.size), dtype=np.float32)
    for i, (start, end) in enumerate(intervals):
        target_t = np.linspace(start, end, params.size)
        ff, tt = np.meshgrid(target_f, target_t, indexing="ij")
        spec = interp(np.stack([ff.ravel(), tt.ravel()], axis=1)).reshape(params.size, params.size)
        spec = (spec - params.spec_min_val) / (params.spec_max_val - params.spec_min_val)
        out[i] = np.clip(spec, 0.0, 1.0)
    return out


def audio_spans(intervals: np.ndarray, samplerate: int, duration: float, params: SpectrogramParams) -> np.ndarray:
    """The audio each interval's spectrogram depends on: the interval widened by the STFT's reach.

    A time t is interpolated from the two STFT frames around it (one hop apart), and each frame
    reads ``nperseg / 2`` samples either side of its centre; so windows that merely touch still
    share audio, and the split compares these spans rather than the nominal windows.
    """
    reach = (params.nperseg - params.noverlap + params.nperseg / 2) / samplerate
    spans = np.asarray(intervals, dtype=np.float64).reshape(-1, 2) + np.array([-reach, reach])
    return np.clip(spans, 0.0, duration)


def window_intervals(duration: float, window: float, count: int, where: str) -> np.ndarray:
    """``count`` evenly spaced windows of ``window`` seconds covering a recording."""
    if window <= 0 or count < 1:
        raise DataError(f"{where}: window_s must be > 0 and windows per recording >= 1")
    if duration < window:
        raise DataError(f"{where}: recording is {duration:.3f} s long, shorter than the {window} s window")
    starts = np.linspace(0.0, duration - window, count)
    return np.stack([starts, starts + window], axis=1)


def read_audio(path: Path) -> tuple[np.ndarray, int]:
    """Mono float audio and its sample rate, via vocalpy; a corrupt file is a DataError naming it."""
    import vocalpy as voc

    try:
        sound = voc.Sound.read(path)
    except Exception as err:  # soundfile raises several types for corrupt files
        raise DataError(f"birdsong: cannot read WAV file {path} ({type(err).__name__}: {err})") from err
    data = np.asarray(sound.data, dtype=np.float64)
    audio = data[0] if data.ndim == 2 else data
    if audio.size == 0:
        raise DataError(f"birdsong: WAV file {path} holds no samples")
    if not np.isfinite(audio).all():
        raise DataError(f"birdsong: WAV file {path} holds NaN or infinite samples")
    return audio, int(sound.samplerate)


def syllable_intervals(path: Path, threshold: float, min_dur: float, min_silent_dur: float) -> np.ndarray:
    """Syllable onsets/offsets (seconds) by vocalpy's mean-squared amplitude segmenter."""
    import vocalpy as voc

    sound = voc.Sound.read(path)
    segments = voc.segment.meansquared(sound, threshold=threshold, min_dur=min_dur, min_silent_dur=min_silent_dur)
    starts = np.asarray(segments.start_inds) / sound.samplerate
    ends = starts + np.asarray(segments.lengths) / sound.samplerate
    return np.stack([starts, ends], axis=1) if len(starts) else np.zeros((0, 2))


def _bird_from_wavs(bird: str, folder, params, segmentation: dict) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Spectrograms of one bird's WAV files, each point's recording (``bird/file.wav``) and audio span."""
    folder = existing_path(folder, f"folder of bird {bird!r}", f"datasets.birdsong.birds.{bird}")
    wavs = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".wav") if folder.is_dir() else [folder]
    if not wavs:
        raise DataError(f"datasets.birdsong.birds.{bird}: no .wav files in {folder}")
    specs, recordings, spans = [], [], []
    for wav in wavs:
        audio, rate = read_audio(wav)
        if segmentation.get("method", "windows") == "syllables":
            intervals = syllable_intervals(
                wav, segmentation.get("threshold", 5000), segmentation.get("min_dur", 0.02), segmentation.get("min_silent_dur", 0.002)
            )
            max_dur = segmentation.get("max_dur")
            if max_dur:
                intervals = intervals[(intervals[:, 1] - intervals[:, 0]) <= max_dur]
        else:
            intervals = window_intervals(
                len(audio) / rate, segmentation.get("window_s", WINDOW_S), segmentation.get("windows_per_recording", WINDOWS_PER_RECORDING), f"birdsong file {wav}"
            )
        if len(intervals):
            specs.append(spectrograms(audio, rate, intervals, params))
            recordings += [f"{bird}/{wav.name}"] * len(intervals)
            spans.append(audio_spans(intervals, rate, len(audio) / rate, params))
    if not specs:
        raise DataError(f"datasets.birdsong.birds.{bird}: no syllables found in {len(wavs)} file(s) of {folder}")
    return np.concatenate(specs), recordings, np.concatenate(spans)


def _bird_from_hdf5(bird: str, folder) -> tuple[np.ndarray, list[str], np.ndarray, int]:
    """AVA syllable files of one bird: specs, recordings, (onset, offset) and how many files lack times.

    AVA writes ``onsets``/``offsets`` (seconds) and ``audio_filenames`` beside ``specs``; a
    file without them is one recording of unknown times (its syllables are split in stored
    order and cannot be checked for overlap).
    """
    import h5py

    folder = existing_path(folder, f"HDF5 folder of bird {bird!r}", f"datasets.birdsong.birds.{bird}")
    files = sorted(folder.glob("*.hdf5")) + sorted(folder.glob("*.h5")) if folder.is_dir() else [folder]
    if not files:
        raise DataError(f"datasets.birdsong.birds.{bird}: no .hdf5 files in {folder}")
    specs, recordings, spans, untimed = [], [], [], 0
    for path in files:
        try:
            with h5py.File(path, "r") as handle:
                if "specs" not in handle:
                    raise DataError(f"birdsong: HDF5 file {path} has no 'specs' dataset (keys: {list(handle)})")
                data = np.asarray(handle["specs"], dtype=np.float32)
                timed = all(key in handle for key in ("onsets", "offsets", "audio_filenames"))
                if timed:
                    times = np.stack([np.asarray(handle["onsets"], dtype=np.float64), np.asarray(handle["offsets"], dtype=np.float64)], axis=1)
                    sources = [n.decode() if isinstance(n, bytes) else str(n) for n in np.asarray(handle["audio_filenames"]).ravel()]
        except OSError as err:
            raise DataError(f"birdsong: cannot read HDF5 file {path} ({err})") from err
        if data.ndim != 3 or data.shape[1:] != (128, 128):
            raise DataError(f"birdsong: {path} 'specs' has shape {data.shape}, expected (N, 128, 128)")
        if timed and not (len(times) == len(sources) == len(data)):
            raise DataError(
                f"birdsong: {path} has {len(data)} specs but {len(times)} onsets/offsets and {len(sources)} audio_filenames"
            )
        if not timed:
            untimed += 1
            times, sources = np.full((len(data), 2), np.nan), [f"{bird}/{path.name}"] * len(data)
        specs.append(data)
        recordings += sources
        spans.append(times)
    return np.concatenate(specs), recordings, np.concatenate(spans), untimed


def load_birdsong(
    source: str,
    birds: dict | None = None,
    d1_birds=None,
    spectrogram: dict | None = None,
    segmentation: dict | None = None,
) -> RawDataset:
    """``source``: ``embedded``, ``wav`` or ``hdf5``; ``d1_birds`` names the D1 birds, the rest are D2."""
    params = SpectrogramParams(**(spectrogram or {}))
    segmentation = dict(segmentation or {})
    if source == "embedded":
        birds = {name: name for name in EMBEDDED_SONGS}
    if not birds:
        raise DataError("datasets.birdsong.birds: name at least two birds (bird name -> folder)")
    d1_birds = list(d1_birds) if d1_birds is not None else list(birds)[: len(birds) // 2]
    unknown = set(d1_birds) - set(birds)
    if unknown:
        raise DataError(f"datasets.birdsong.d1_birds names unknown birds {sorted(unknown)}; birds are {list(birds)}")
    xs, labels, recordings, spans, untimed = [], [], [], [], 0
    for index, (bird, where) in enumerate(birds.items()):
        if source == "embedded":
            specs, spans_bird = _embedded_song(bird, params, segmentation)
            recs = [bird] * len(specs)
        elif source == "wav":
            specs, recs, spans_bird = _bird_from_wavs(bird, where, params, segmentation)
        elif source == "hdf5":
            specs, recs, spans_bird, n_untimed = _bird_from_hdf5(bird, where)
            untimed += n_untimed
        else:
            raise DataError(f"datasets.birdsong.source must be embedded, wav or hdf5, got {source!r}")
        xs.append(specs)
        labels.append(np.full(len(specs), index))
        recordings += recs
        spans.append(spans_bird)
    labels = np.concatenate(labels)
    names = list(birds)
    partition = np.where(np.isin(np.array(names)[labels], d1_birds), "D1", "D2")
    notes = {"embedded": "Sound Analysis Pro zebra finch songs shipped by vocalpy, windowed"}.get(source, source)
    if untimed:
        notes += f"; {untimed} HDF5 file(s) without onsets/offsets/audio_filenames: each is one recording, overlap unchecked"
    return RawDataset(
        "birdsong", np.concatenate(xs)[:, None], labels, partition, names, notes, np.array(recordings), np.concatenate(spans)
    )


def _window_spans(n_samples: int, rate: int, params: SpectrogramParams, segmentation: dict, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Windows (seconds) of a recording and the audio span each one's spectrogram reads."""
    duration = n_samples / rate
    intervals = window_intervals(
        duration, segmentation.get("window_s", WINDOW_S), segmentation.get("windows_per_recording", WINDOWS_PER_RECORDING), where
    )
    return intervals, audio_spans(intervals, rate, duration, params)


def _embedded_song(name: str, params: SpectrogramParams, segmentation: dict) -> tuple[np.ndarray, np.ndarray]:
    import vocalpy as voc

    sound = voc.example(f"{name}.wav")
    audio = np.asarray(sound.data, dtype=np.float64)[0]
    intervals, spans = _window_spans(len(audio), int(sound.samplerate), params, segmentation, f"embedded song {name}")
    return spectrograms(audio, int(sound.samplerate), intervals, params), spans


def embedded_layout(d1_birds=None, spectrogram: dict | None = None, segmentation: dict | None = None):
    """Labels, partitions, recordings and audio spans of the embedded windows, without audio.

    What :func:`load_birdsong` gives for ``source: embedded``, minus the spectrograms; the
    config check runs the real split on it to know the D1 training size before any job runs.
    """
    params = SpectrogramParams(**(spectrogram or {}))
    d1_birds = list(d1_birds) if d1_birds is not None else list(EMBEDDED_SONGS)[:2]
    labels, recordings, spans = [], [], []
    for index, name in enumerate(EMBEDDED_SONGS):
        _, span = _window_spans(EMBEDDED_SAMPLES[name], EMBEDDED_RATE, params, dict(segmentation or {}), f"embedded song {name}")
        labels.append(np.full(len(span), index))
        recordings += [name] * len(span)
        spans.append(span)
    labels = np.concatenate(labels)
    partition = np.where(np.isin(np.array(EMBEDDED_SONGS)[labels], d1_birds), "D1", "D2")
    return labels, partition, np.array(recordings), np.concatenate(spans)


def facts(load: dict) -> DatasetFacts:
    """Embedded songs: the window layout, so the config check can run the time-block split; D1 defaults to the first two birds."""
    size = SpectrogramParams(**(load.get("spectrogram") or {})).size
    shape = (1, size, size)
    if load.get("source") == "hdf5" and size != 128:
        raise DataError(f"birdsong: AVA HDF5 files hold 128x128 spectrograms; spectrogram.size {size} cannot apply to them")
    if load.get("source", "embedded") != "embedded":
        return DatasetFacts(shape)
    layout = embedded_layout(load.get("d1_birds"), load.get("spectrogram"), load.get("segmentation"))
    partition = layout[1]
    counts = {int(label): int(n) for label, n in zip(*np.unique(layout[0], return_counts=True))}
    return DatasetFacts(shape, int((partition == "D1").sum()), len(partition), layout, counts)
