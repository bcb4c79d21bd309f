"""MLP: structure for 0, 1, 2+ hidden layers, activation choices, and learning a small problem."""
import numpy as np
import pytest

from tinygrad_mnist import Tensor, nn
from tinygrad_mnist.errors import ConfigError


@pytest.mark.parametrize(
    "hidden, expected",
    [
        ([], ["Linear(4->3)"]),
        ([8], ["Linear(4->8)", "ReLU", "Linear(8->3)"]),
        ([8, 6], ["Linear(4->8)", "ReLU", "Linear(8->6)", "ReLU", "Linear(6->3)"]),
        ((8, 6, 5), ["Linear(4->8)", "ReLU", "Linear(8->6)", "ReLU", "Linear(6->5)", "ReLU", "Linear(5->3)"]),
    ],
)
def test_layers_for_each_depth(hidden, expected):
    model = nn.MLP(4, hidden, 3, seed=0)
    described = [
        f"Linear({m.in_features}->{m.out_features})" if isinstance(m, nn.Linear) else type(m).__name__
        for m in model.layers
    ]
    assert described == expected
    assert model(Tensor(np.ones((2, 4), dtype=np.float32))).shape == (2, 3)
    n_linear = len(hidden) + 1
    assert len(list(model.parameters())) == 2 * n_linear


def test_activation_by_name_class_or_instance():
    assert isinstance(nn.MLP(2, [3], 2, activation="gelu_tanh").layers[1], nn.GeLUTanh)
    assert isinstance(nn.MLP(2, [3], 2, activation=nn.Tanh).layers[1], nn.Tanh)
    shared = nn.LeakyReLU(0.2)
    model = nn.MLP(2, [3, 3], 2, activation=shared)
    assert model.layers[1] is shared and model.layers[3] is shared
    with pytest.raises(ConfigError, match="unknown activation 'rellu'.*relu"):
        nn.MLP(2, [3], 2, activation="rellu")
    with pytest.raises(TypeError, match="activation must be"):
        nn.MLP(2, [3], 2, activation=np.tanh)


def test_one_seed_initialises_all_layers_reproducibly_and_dtype_reaches_every_layer():
    a, b = nn.MLP(4, [5, 5], 3, seed=7), nn.MLP(4, [5, 5], 3, seed=7)
    for pa, pb in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(pa.numpy(), pb.numpy())
    square = nn.MLP(4, [4], 4, seed=7)  # the generator advances from layer to layer
    assert not np.array_equal(square.layers[0].weight.numpy(), square.layers[2].weight.numpy())
    model = nn.MLP(4, [5], 3, init="he", seed=0, dtype=np.float64)
    assert all(p.dtype == np.float64 for p in model.parameters())


@pytest.mark.parametrize("hidden", [5, "100", [0], [3, -1]])
def test_bad_hidden_sizes_are_rejected(hidden):
    with pytest.raises(ConfigError, match="hidden"):
        nn.MLP(4, hidden, 3)


def _blobs(n_per_class=30, dim=5, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 3, (classes, dim))
    x = np.concatenate([c + rng.normal(0, 1, (n_per_class, dim)) for c in centers]).astype(np.float32)
    y = np.repeat(np.arange(classes), n_per_class)
    return x, y


@pytest.mark.parametrize("hidden, init", [([], "normal"), ([16], "he"), ([16, 16], "he")])
def test_mlp_learns_a_small_synthetic_problem(hidden, init):
    from tinygrad_mnist.optim import SGD

    x, y = _blobs()
    model = nn.MLP(5, hidden, 3, init=init, seed=0)
    loss_fn = nn.SoftmaxCrossEntropyLoss()
    optimizer = SGD(model.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for _ in range(60):
        loss = loss_fn(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0], losses
    accuracy = np.mean(model(x).numpy().argmax(axis=1) == y)
    assert accuracy > 0.95
