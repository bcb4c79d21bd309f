"""The data sets in MNIST's format that the loaders know: their four files, the published checksums
that verify them, their download mirrors and their class names.

``mnist`` (handwritten digits), ``fashion-mnist`` (Zalando's clothing images) and ``kmnist``
(Kuzushiji, cursive Japanese characters) share MNIST's shape: 60,000 training and 10,000 test
images of 28x28 uint8 pixels, 10 classes, stored in the same four IDX files.

How a copy is verified depends on what is published:

* MNIST's files are known by the SHA-256 of their *uncompressed* contents, so any copy verifies,
  gzip-compressed at any level or raw (recompressed copies exist).
* Fashion-MNIST's and KMNIST's publishers (and the libraries that mirror them) publish checksums of
  the ``.gz`` files as distributed, so a copy verifies only as that ``.gz``, byte for byte: its
  size, its SHA-256 and its MD5 must all be the published ones. A decompressed or recompressed copy
  cannot be checked against them and is refused, with a message that says so.

Where each value comes from is written next to it. Each setting that names a folder or a mirror has
an environment variable per data set, derived from its name: ``TINYGRAD_MNIST_DATA``,
``TINYGRAD_FASHION_MNIST_DATA``, ``TINYGRAD_KMNIST_DATA`` (the folder), and the same with
``_MIRRORS`` (download mirrors).

Example:
    >>> info = dataset_info("fashion-mnist")
    >>> info.title, info.classes[:3], info.env_data
    ('Fashion-MNIST', ('T-shirt/top', 'Trouser', 'Pullover'), 'TINYGRAD_FASHION_MNIST_DATA')
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

from ..checks import check_choice
from ..errors import ConfigError

__all__ = [
    "DATASETS",
    "DATASET_NAMES",
    "DEFAULT_MIRRORS",
    "ENV_DATA",
    "ENV_MIRRORS",
    "DatasetFile",
    "DatasetInfo",
    "MNIST_FILES",
    "dataset_info",
    "mirrors",
]

# The four files of every data set, keyed by the matching ``Mnist`` field name, in this order.
FILE_KEYS = ("train_images", "train_labels", "test_images", "test_labels")


@dataclass(frozen=True)
class DatasetFile:
    """One of a data set's four IDX files and what verifies a copy of it.

    ``name`` is the file name without ``.gz``; ``size`` the bytes of its uncompressed IDX contents
    and ``shape`` the array they hold. ``sha256`` is the SHA-256 of the uncompressed contents, when
    known (any copy then verifies). ``gz_size``, ``gz_sha256`` and ``gz_md5`` describe the ``.gz``
    file as distributed; when given, a copy must be that exact file.

    Example:
        >>> MNIST_FILES["train_labels"].shape
        (60000,)
        >>> DatasetFile("x", None, 8, (0,))
        Traceback (most recent call last):
        ...
        tinygrad_mnist.errors.ConfigError: DatasetFile 'x' needs a checksum: sha256 of its contents, or gz_sha256 / gz_md5 of its .gz
    """

    name: str
    sha256: str | None
    size: int
    shape: tuple[int, ...]
    gz_size: int | None = None
    gz_sha256: str | None = None
    gz_md5: str | None = None

    def __post_init__(self) -> None:
        if not (self.sha256 or self.gz_sha256 or self.gz_md5):
            raise ConfigError(
                f"DatasetFile {self.name!r} needs a checksum: sha256 of its contents, or gz_sha256 / gz_md5 of its .gz"
            )
        digests = (("sha256", self.sha256, 64), ("gz_sha256", self.gz_sha256, 64), ("gz_md5", self.gz_md5, 32))
        for label, digest, length in digests:
            if digest is not None and not re.fullmatch(f"[0-9a-f]{{{length}}}", digest):
                raise ConfigError(
                    f"DatasetFile {self.name!r}: {label} must be {length} lower-case hex digits, got {digest!r}")

    @property
    def gz_digests(self) -> tuple[tuple[str, str], ...]:
        """The published ``(algorithm, hex digest)`` pairs of the ``.gz`` as distributed.

        Example:
            >>> [algorithm for algorithm, _ in dataset_info("kmnist").files["test_labels"].gz_digests]
            ['sha256', 'md5']
        """
        return tuple((a, d) for a, d in (("sha256", self.gz_sha256), ("md5", self.gz_md5)) if d)


def _env_name(dataset: str, what: str) -> str:
    return f"TINYGRAD_{re.sub(r'[^A-Z0-9]+', '_', dataset.upper())}_{what}"


@dataclass(frozen=True)
class DatasetInfo:
    """A data set in MNIST's format: its name (what ``--dataset`` takes), title, class names, the
    four files (keyed like the :class:`~tinygrad_mnist.data.Mnist` fields) and download mirrors.

    ``class_noun`` is how a class is called in messages ("digit" for MNIST); ``checksums_from``
    says where the checksums were published. A data set of one's own in the same format can be
    described with this class and passed to :func:`~tinygrad_mnist.data.load_mnist`.

    Example:
        >>> info = dataset_info("kmnist")
        >>> info.name, info.n_train, info.n_test, info.env_mirrors
        ('kmnist', 60000, 10000, 'TINYGRAD_KMNIST_MIRRORS')
    """

    name: str
    title: str
    description: str
    classes: tuple[str, ...]
    files: Mapping[str, DatasetFile]
    mirrors: tuple[str, ...]
    homepage: str
    checksums_from: str
    class_noun: str = "class"

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", self.name):
            raise ConfigError(f"a data set name is lower-case letters, digits and dashes, got {self.name!r}")
        if tuple(self.files) != FILE_KEYS:
            raise ConfigError(f"data set {self.name!r} must list its files as {', '.join(FILE_KEYS)}, "
                              f"got {', '.join(self.files)}")
        object.__setattr__(self, "files", MappingProxyType(dict(self.files)))
        object.__setattr__(self, "classes", tuple(self.classes))

    @property
    def n_train(self) -> int:
        """Number of training examples."""
        return self.files["train_labels"].shape[0]

    @property
    def n_test(self) -> int:
        """Number of test examples."""
        return self.files["test_labels"].shape[0]

    @property
    def env_data(self) -> str:
        """The environment variable naming this data set's folder."""
        return _env_name(self.name, "DATA")

    @property
    def env_mirrors(self) -> str:
        """The environment variable with this data set's download mirrors."""
        return _env_name(self.name, "MIRRORS")


def _idx_files(**published: dict) -> dict[str, DatasetFile]:
    """The four 60,000/10,000-example files of a 28x28 data set, with what is published of each."""
    shapes = {"train_images": (60000, 28, 28), "train_labels": (60000,),
              "test_images": (10000, 28, 28), "test_labels": (10000,)}
    names = {"train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
             "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte"}
    files = {}
    for key in FILE_KEYS:
        shape = shapes[key]
        size = 4 + 4 * len(shape) + math.prod(shape)  # the IDX header, then one byte per element
        files[key] = DatasetFile(names[key], size=size, shape=shape, **{"sha256": None, **published[key]})
    return files


_MNIST = DatasetInfo(
    name="mnist",
    title="MNIST",
    description="handwritten digits 0-9",
    classes=tuple(str(digit) for digit in range(10)),
    # sha256 of the uncompressed contents: the project's record. They agree with the published
    # checksums of the .gz files as distributed (tensorflow/datasets url_checksums/mnist.txt) for
    # every copy that is the distributed .gz, and hold for recompressed copies too.
    files=_idx_files(
        train_images={"sha256": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"},
        train_labels={"sha256": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"},
        test_images={"sha256": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"},
        test_labels={"sha256": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"},
    ),
    # Integrity comes from the checksums, not from the transport: a plain-http mirror is acceptable.
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ),
    homepage="http://yann.lecun.com/exdb/mnist/",
    checksums_from="SHA-256 of the uncompressed contents (the project's own record)",
    class_noun="digit",
)

_FASHION_MNIST = DatasetInfo(
    name="fashion-mnist",
    title="Fashion-MNIST",
    description="Zalando's images of clothes, shoes and bags",
    # The labels table of the publisher's README (github.com/zalandoresearch/fashion-mnist).
    classes=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    # MD5: the publisher's README ("Get the Data" table), also torchvision/datasets/mnist.py
    # (FashionMNIST.resources). Size and SHA-256: tensorflow/datasets
    # tensorflow_datasets/url_checksums/fashion_mnist.txt, also torchvision's
    # prototype/datasets/_builtin/mnist.py (FashionMNIST._CHECKSUMS). All of the .gz as distributed.
    files=_idx_files(
        train_images={"gz_size": 26_421_880,
                      "gz_sha256": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
                      "gz_md5": "8d4fb7e6c68d591d4c3dfef9ec88bf0d"},
        train_labels={"gz_size": 29_515,
                      "gz_sha256": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
                      "gz_md5": "25c81989df183df01b3e8a0aad5dffbe"},
        test_images={"gz_size": 4_422_102,
                     "gz_sha256": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
                     "gz_md5": "bef4ecab320f06d8554ea6380940ec79"},
        test_labels={"gz_size": 5_148,
                     "gz_sha256": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
                     "gz_md5": "bb300cfdad3c16e7a12a480ee83cd310"},
    ),
    # The publisher's download links, then the copy in its GitHub repository (data/fashion).
    mirrors=(
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ),
    homepage="https://github.com/zalandoresearch/fashion-mnist",
    checksums_from="MD5 from the publisher's README; size and SHA-256 from tensorflow-datasets "
                   "(url_checksums/fashion_mnist.txt); all of the .gz files as distributed",
)

_KMNIST = DatasetInfo(
    name="kmnist",
    title="KMNIST",
    description="Kuzushiji-MNIST: cursive Japanese hiragana characters",
    # Romanised as in torchvision (KMNIST.classes) and tensorflow-datasets; the characters are
    # お き す つ な は ま や れ を (the publisher's kmnist_classmap.csv).
    classes=("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
    # The publisher (github.com/rois-codh/kmnist) lists no checksums. MD5: torchvision/datasets/
    # mnist.py (KMNIST.resources). Size and SHA-256: tensorflow/datasets
    # tensorflow_datasets/url_checksums/kmnist.txt, also torchvision's prototype/datasets/_builtin/
    # mnist.py (KMNIST._CHECKSUMS). All of the .gz as distributed.
    files=_idx_files(
        train_images={"gz_size": 18_165_135,
                      "gz_sha256": "51467d22d8cc72929e2a028a0428f2086b092bb31cfb79c69cc0a90ce135fde4",
                      "gz_md5": "bdb82020997e1d708af4cf47b453dcf7"},
        train_labels={"gz_size": 29_497,
                      "gz_sha256": "e38f9ebcd0f3ebcdec7fc8eabdcdaef93bb0df8ea12bee65224341c8183d8e17",
                      "gz_md5": "e144d726b3acfaa3e44228e80efcd344"},
        test_images={"gz_size": 3_041_136,
                     "gz_sha256": "edd7a857845ad6bb1d0ba43fe7e794d164fe2dce499a1694695a792adfac43c5",
                     "gz_md5": "5c965bf0a639b31b8f53240b1b52f4d7"},
        test_labels={"gz_size": 5_120,
                     "gz_sha256": "20bb9a0ef54c7db3efc55a92eef5582c109615df22683c380526788f98e42a1c",
                     "gz_md5": "7320c461ea6c1c855c0b718fb2a4b134"},
    ),
    # The publisher's download links (its README), over https first.
    mirrors=(
        "https://codh.rois.ac.jp/kmnist/dataset/kmnist/",
        "http://codh.rois.ac.jp/kmnist/dataset/kmnist/",
    ),
    homepage="https://github.com/rois-codh/kmnist",
    checksums_from="MD5 from torchvision; size and SHA-256 from tensorflow-datasets "
                   "(url_checksums/kmnist.txt); all of the .gz files as distributed",
)

#: Every known data set by the name ``--dataset`` takes, MNIST (the default) first.
DATASETS: dict[str, DatasetInfo] = {info.name: info for info in (_MNIST, _FASHION_MNIST, _KMNIST)}
#: The names ``--dataset`` accepts.
DATASET_NAMES: tuple[str, ...] = tuple(DATASETS)
#: MNIST's four files, keyed by the matching :class:`~tinygrad_mnist.data.Mnist` field name.
MNIST_FILES: Mapping[str, DatasetFile] = _MNIST.files
#: MNIST's standard public copies, tried in order.
DEFAULT_MIRRORS: tuple[str, ...] = _MNIST.mirrors
#: Environment variable naming the folder with MNIST's four files (used when no data_dir is given).
ENV_DATA = _MNIST.env_data
#: Environment variable with MNIST's mirror URLs (separated by spaces or commas).
ENV_MIRRORS = _MNIST.env_mirrors


def dataset_info(dataset: str | DatasetInfo = "mnist") -> DatasetInfo:
    """The :class:`DatasetInfo` of a data set name (one of :data:`DATASET_NAMES`, any case), or the
    given ``DatasetInfo`` itself.

    Example:
        >>> dataset_info("MNIST").title
        'MNIST'
        >>> dataset_info("fashion_mnist")
        Traceback (most recent call last):
        ...
        tinygrad_mnist.errors.ConfigError: unknown dataset 'fashion_mnist'; did you mean 'fashion-mnist'? (choose from: mnist, fashion-mnist, kmnist)
    """
    if isinstance(dataset, DatasetInfo):
        return dataset
    return DATASETS[check_choice(dataset, "dataset", DATASETS)]


def mirrors(dataset: str | DatasetInfo = "mnist") -> list[str]:
    """Return the base URLs a data set is downloaded from, each ending in ``/``.

    The data set's environment variable (``$TINYGRAD_MNIST_MIRRORS`` for MNIST, see
    :attr:`DatasetInfo.env_mirrors`; URLs separated by whitespace or commas) replaces its
    default mirrors when set and non-empty.

    Example:
        >>> all(url.endswith("/") for url in mirrors())
        True
        >>> mirrors("kmnist") == list(dataset_info("kmnist").mirrors) or "TINYGRAD_KMNIST_MIRRORS" in os.environ
        True
    """
    info = dataset_info(dataset)
    urls = [u for u in re.split(r"[\s,]+", os.environ.get(info.env_mirrors, "")) if u]
    return [u if u.endswith("/") else u + "/" for u in (urls or info.mirrors)]
