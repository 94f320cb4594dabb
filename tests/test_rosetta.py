import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rvae.rosetta_file import METADATA_KEY, RosettaFileError, RosettaPoints, load_rosetta_points, save_rosetta_points
from rvae.rosetta import make_rosetta_points, select_rosetta_points

# assertions on computed numbers: tests/test_cpu_paths.py reruns them on the AVX2 kernel path
pytestmark = pytest.mark.computed


def _blobs(rng, centres=8, per=30):
    means = rng.normal(size=(centres, 2)) * 10
    return np.concatenate([m + 0.3 * rng.normal(size=(per, 2)) for m in means]), means


@pytest.mark.parametrize("method", ["kmeans", "agglomerative", "gmm"])
def test_clustering_methods_pick_one_point_per_cluster_nearest_its_centre(rng, method):
    z, means = _blobs(rng)
    rows = select_rosetta_points(z, 8, method, seed=0)
    assert len(set(rows.tolist())) == 8
    cluster_of = np.argmin(((z[rows][:, None] - means[None]) ** 2).sum(-1), axis=1)
    assert sorted(cluster_of.tolist()) == list(range(8))
    for r in rows:  # each chosen point is close to its cluster's mean
        assert np.min(((means - z[r]) ** 2).sum(-1)) < 1.0


def test_kmeans_choice_is_the_data_point_nearest_each_centroid(rng):
    from sklearn.cluster import KMeans

    z, _ = _blobs(rng)
    rows = select_rosetta_points(z, 8, "kmeans", seed=3)
    centres = KMeans(n_clusters=8, n_init=10, random_state=3).fit(z).cluster_centers_
    for centre, r in zip(centres, rows):
        assert r == np.argmin(((z - centre) ** 2).sum(1))


def test_never_the_same_point_twice_even_when_centres_coincide():
    z = np.array([[0.0, 0.0], [0.0, 0.1], [5.0, 5.0]])
    from rvae.rosetta import nearest_distinct

    assert sorted(nearest_distinct(z, np.zeros((3, 2))).tolist()) == [0, 1, 2]


def test_random_selection_is_seeded_and_distinct(rng):
    z = rng.normal(size=(50, 2))
    a = select_rosetta_points(z, 10, "random", seed=1)
    assert np.array_equal(a, select_rosetta_points(z, 10, "random", seed=1))
    assert len(set(a.tolist())) == 10


def test_more_points_than_data_is_refused(rng):
    with pytest.raises(ValueError, match="asked for 11 Rosetta points but only 10"):
        select_rosetta_points(rng.normal(size=(10, 2)), 11)
    with pytest.raises(ValueError, match="selection method"):
        select_rosetta_points(rng.normal(size=(10, 2)), 2, "spectral")


def _points(rng, k=4, shape=(1, 6, 6), latent=3):
    x = rng.random((20, *shape)).astype(np.float32)
    z = rng.normal(size=(20, latent)).astype(np.float32)
    return make_rosetta_points(x, z, k, "kmeans", dataset="toy", template_fingerprint="abc", point_ids=np.arange(100, 120))


def test_file_round_trip(tmp_path, rng):
    points = _points(rng)
    save_rosetta_points(points, tmp_path / "r.parquet")
    loaded = load_rosetta_points(tmp_path / "r.parquet", input_shape=(1, 6, 6), latent_dim=3)
    np.testing.assert_array_equal(loaded.x, points.x)
    np.testing.assert_array_equal(loaded.z, points.z)
    np.testing.assert_array_equal(loaded.point_ids, points.point_ids)
    assert loaded.metadata == points.metadata
    assert loaded.metadata["k"] == 4 and loaded.metadata["method"] == "kmeans"
    assert set(loaded.point_ids) <= set(range(100, 120))


def test_truncated_file_is_refused(tmp_path, rng):
    path = tmp_path / "r.parquet"
    save_rosetta_points(_points(rng), path)
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(RosettaFileError, match="not a readable Parquet"):
        load_rosetta_points(path)


def test_missing_file_and_pickle_are_refused(tmp_path):
    with pytest.raises(RosettaFileError, match="does not exist"):
        load_rosetta_points(tmp_path / "nope.parquet")
    import pickle

    (tmp_path / "evil.parquet").write_bytes(pickle.dumps({"x": 1}))
    with pytest.raises(RosettaFileError, match="not a readable Parquet"):
        load_rosetta_points(tmp_path / "evil.parquet")


def test_mismatched_shape_or_latent_size_is_refused(tmp_path, rng):
    path = tmp_path / "r.parquet"
    save_rosetta_points(_points(rng), path)
    with pytest.raises(RosettaFileError, match=r"shape \(1, 6, 6\) but the model expects \(1, 28, 28\)"):
        load_rosetta_points(path, input_shape=(1, 28, 28))
    with pytest.raises(RosettaFileError, match="latent size is 16"):
        load_rosetta_points(path, latent_dim=16)


def _rewrite(path, table, metadata):
    pq.write_table(table.replace_schema_metadata({METADATA_KEY: metadata} if metadata is not None else None), path)


@pytest.mark.parametrize(
    "tamper,match",
    [
        (lambda m: m.pop("latent_dim"), "latent_dim"),
        (lambda m: m.update(k=7), "k=7"),
        (lambda m: m.update(input_shape=[1, 6, 7]), "do not match|shape"),
        (lambda m: m.update(format_version=99), "newer"),
        (lambda m: m.update(dataset=3), "dataset"),
    ],
)
def test_tampered_metadata_is_refused(tmp_path, rng, tamper, match):
    import json

    path = tmp_path / "r.parquet"
    save_rosetta_points(_points(rng), path)
    table = pq.read_table(path)
    meta = json.loads(table.schema.metadata[METADATA_KEY])
    tamper(meta)
    _rewrite(path, table, json.dumps(meta).encode())
    with pytest.raises(RosettaFileError, match=match):
        load_rosetta_points(path)


def test_file_without_metadata_or_with_non_finite_values_is_refused(tmp_path, rng):
    path = tmp_path / "r.parquet"
    save_rosetta_points(_points(rng), path)
    table = pq.read_table(path)
    meta = table.schema.metadata[METADATA_KEY]
    _rewrite(path, table, None)
    with pytest.raises(RosettaFileError, match="no 'rvae.rosetta' metadata"):
        load_rosetta_points(path)
    z = table.column("z").combine_chunks().flatten().to_numpy().copy()
    z[4] = np.inf
    bad = table.set_column(2, "z", pa.FixedSizeListArray.from_arrays(pa.array(z, pa.float32()), 3))
    _rewrite(path, bad, meta)
    with pytest.raises(RosettaFileError, match="NaN or infinite.*row"):
        load_rosetta_points(path)


def test_points_in_memory_are_validated(rng):
    with pytest.raises(RosettaFileError, match="NaN"):
        RosettaPoints.create(np.full((2, 3), np.nan), np.zeros((2, 2)), [0, 1], "d", "kmeans")


def test_selection_takes_the_workflows_63_bit_role_seeds():
    from rvae.rosetta import select_rosetta_points
    from rvae.seeds import role_seed

    z = np.random.default_rng(0).normal(size=(60, 2))
    seed = role_seed(0, "rosetta/gaussians/kmeans-k8")
    assert seed >= 2**32
    for method in ("kmeans", "gmm", "random", "agglomerative"):
        rows = select_rosetta_points(z, 5, method, seed=seed)
        assert len(set(rows.tolist())) == 5 and np.array_equal(rows, select_rosetta_points(z, 5, method, seed=seed))
