"""Checkpoints: exact round trips, and crafted or mismatched files rejected without running code."""
import json
import pickle
import zipfile

import numpy as np
import pytest

from tinygrad_mnist.errors import CheckpointError
from tinygrad_mnist.train import TrainConfig, build_model, build_optimizer, load_checkpoint, read_checkpoint, save_checkpoint
from tinygrad_mnist.train.checkpoint import META_KEY


@pytest.fixture
def trained(tmp_path):
    """A small model and optimizer with non-trivial momentum buffers, saved to a checkpoint."""
    config = TrainConfig(hidden=[8], seed=3)
    model = build_model(config, in_features=6, num_classes=10)
    optimizer = build_optimizer(config, model)
    from tinygrad_mnist import Tensor, nn

    x = Tensor(np.random.default_rng(0).random((4, 6), dtype=np.float32))
    loss = nn.SoftmaxCrossEntropyLoss()(model(x), np.array([1, 2, 3, 4]))
    loss.backward()
    optimizer.step()
    path = save_checkpoint(tmp_path / "checkpoint.npz", model, optimizer, meta={"note": "hello"})
    return config, model, optimizer, path


def test_round_trip_restores_weights_and_momentum_exactly(trained):
    config, model, optimizer, path = trained
    fresh = build_model(config.replace(seed=99), in_features=6, num_classes=10)
    fresh_optimizer = build_optimizer(config, fresh)
    meta = load_checkpoint(path, fresh, fresh_optimizer)
    assert meta["note"] == "hello"
    for (name, a), (_, b) in zip(model.state_dict().items(), fresh.state_dict().items()):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), name
    saved, loaded = optimizer.state_dict()["state"], fresh_optimizer.state_dict()["state"]
    assert saved.keys() == loaded.keys() and saved
    for key in saved:
        assert saved[key]["momentum_buffer"].tobytes() == loaded[key]["momentum_buffer"].tobytes()


def test_a_run_folder_stands_for_its_checkpoint(trained):
    _, _, _, path = trained
    assert read_checkpoint(path.parent).path == path


def test_the_file_is_a_plain_npz_readable_without_pickle(trained):
    *_, path = trained
    with np.load(path, allow_pickle=False) as npz:
        assert all(npz[k].dtype != object for k in npz.files)
        meta = json.loads(npz[META_KEY].tobytes().decode("utf-8"))
    assert meta["format"] == "tinygrad_mnist.checkpoint"


def _rewrite(path, target, change):
    """Copy a checkpoint's arrays, let ``change`` edit the dict, save with np.savez."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    change(arrays)
    np.savez(target, **arrays)
    return target


def test_object_array_is_refused_and_never_unpickled(trained, tmp_path):
    *_, path = trained
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    def add_object(arrays):
        arrays["model/layers.0.weight"] = np.array([Evil()], dtype=object)

    crafted = _rewrite(path, tmp_path / "evil.npz", add_object)
    with pytest.raises(CheckpointError, match="never pickles"):
        read_checkpoint(crafted)
    assert not marker.exists()


def test_a_raw_pickle_member_is_refused(trained, tmp_path):
    *_, path = trained
    crafted = tmp_path / "member.npz"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(crafted, "w") as target:
        for item in source.namelist():
            target.writestr(item, source.read(item))
        target.writestr("payload.pkl", pickle.dumps({"x": 1}))
    with pytest.raises(CheckpointError, match="'payload.pkl' is not a NumPy array"):
        read_checkpoint(crafted)


def test_a_pickle_file_is_not_a_checkpoint(tmp_path):
    crafted = tmp_path / "checkpoint.npz"
    crafted.write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    with pytest.raises(CheckpointError, match="not an .npz"):
        read_checkpoint(crafted)


def test_a_truncated_file_is_refused(trained, tmp_path):
    *_, path = trained
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 10):
        truncated = tmp_path / f"cut{cut}.npz"
        truncated.write_bytes(data[:cut])
        with pytest.raises(CheckpointError):
            read_checkpoint(truncated)


def test_corrupted_array_bytes_are_detected(trained, tmp_path):
    *_, path = trained
    data = bytearray(path.read_bytes())
    start = data.find(b"model/layers.0.weight.npy")
    # Flip bytes inside the first member's data: the zip CRC check catches it.
    data[start + 200 : start + 210] = b"\xff" * 10
    broken = tmp_path / "flipped.npz"
    broken.write_bytes(bytes(data))
    with pytest.raises(CheckpointError):
        read_checkpoint(broken)


def test_missing_file_and_non_checkpoint_npz(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint at"):
        read_checkpoint(tmp_path / "nothing.npz")
    np.savez(tmp_path / "plain.npz", w=np.zeros(3))
    with pytest.raises(CheckpointError, match="no __meta__ entry"):
        read_checkpoint(tmp_path / "plain.npz")


def test_metadata_that_does_not_match_the_arrays_is_refused(trained, tmp_path):
    *_, path = trained

    def swap_shape(arrays):
        arrays["model/layers.0.weight"] = arrays["model/layers.0.weight"][:3]

    with pytest.raises(CheckpointError, match="its metadata says"):
        read_checkpoint(_rewrite(path, tmp_path / "shape.npz", swap_shape))

    def bad_json(arrays):
        arrays[META_KEY] = np.frombuffer(b"{not json", dtype=np.uint8)

    with pytest.raises(CheckpointError, match="not valid JSON"):
        read_checkpoint(_rewrite(path, tmp_path / "json.npz", bad_json))


def _with_meta(arrays, edit):
    meta = json.loads(arrays[META_KEY].tobytes().decode("utf-8"))
    edit(meta)
    arrays[META_KEY] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)


def test_wrong_shapes_for_the_model_are_refused(trained, tmp_path):
    config, _, _, path = trained
    other = build_model(config.replace(hidden=[5]), in_features=6, num_classes=10)
    before = other.state_dict()
    with pytest.raises(CheckpointError, match=r"layers.0.weight has shape \(6, 8\), the model expects \(6, 5\)"):
        load_checkpoint(path, other)
    assert all(before[k].tobytes() == v.tobytes() for k, v in other.state_dict().items())


def test_wrong_dtypes_for_the_model_are_refused(trained, tmp_path):
    config, _, _, path = trained
    other = build_model(config.replace(dtype="float64"), in_features=6, num_classes=10)
    with pytest.raises(CheckpointError, match="has dtype float32, the model expects float64"):
        load_checkpoint(path, other)


def test_a_checkpoint_with_a_complex_array_is_refused(trained, tmp_path):
    *_, path = trained

    def complexify(arrays):
        arrays["model/layers.0.bias"] = arrays["model/layers.0.bias"].astype(np.complex64)
        _with_meta(arrays, lambda m: m["arrays"]["model/layers.0.bias"].update(dtype="<c8"))

    with pytest.raises(CheckpointError, match="only numeric arrays"):
        read_checkpoint(_rewrite(path, tmp_path / "complex.npz", complexify))


def test_newer_format_versions_are_refused(trained, tmp_path):
    *_, path = trained
    crafted = _rewrite(path, tmp_path / "v2.npz", lambda a: _with_meta(a, lambda m: m.update(version=2)))
    with pytest.raises(CheckpointError, match="format version 2"):
        read_checkpoint(crafted)
