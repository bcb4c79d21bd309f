"""This framework's side of the benchmark: the public API exactly as a user writes a training loop,
eagerly (``FrameworkMLP``) and with the step under ``tinygrad_mnist.jit`` (``JittedMLP``).

>>> from benchmarks.workload import ARCHITECTURES, initial_weights, synthetic_mnist
>>> arch = ARCHITECTURES["784-128-10 tanh"]
>>> weights = initial_weights(arch)
>>> eager = FrameworkMLP(weights, arch.activation, lr=0.1, momentum=0.9, weight_decay=1e-4)
>>> jitted = JittedMLP(weights, arch.activation, lr=0.1, momentum=0.9, weight_decay=1e-4)
>>> data = synthetic_mnist(300)
>>> eager.train_epoch(data, batch_size=100) == jitted.train_epoch(data, batch_size=100)  # bit for bit
True
"""
from __future__ import annotations

from tinygrad_mnist import Tensor, jit, nn, optim

from benchmarks.workload import Dataset, Weights


def load_weights(model: nn.Module, weights: Weights) -> nn.Module:
    """Copy ``weights`` into the model's parameters, in order, through ``load_state_dict``."""
    names = [name for name, _ in model.named_parameters()]
    arrays = [array.copy() for pair in weights for array in pair]
    if len(names) != len(arrays):
        raise RuntimeError(f"{type(model).__name__} has {len(names)} parameters, the benchmark weights {len(arrays)}")
    model.load_state_dict(dict(zip(names, arrays)))
    return model


def build_model(weights: Weights, activation: str) -> nn.MLP:
    """An ``nn.MLP`` whose Linear layers hold copies of ``weights``; the model takes the weights' dtype."""
    widths = [weights[0][0].shape[0]] + [w.shape[1] for w, _ in weights]
    return load_weights(nn.MLP(widths[0], widths[1:-1], widths[-1], activation=activation, dtype=weights[0][0].dtype),
                        weights)


class FrameworkMLP:
    """nn.MLP + nn.SoftmaxCrossEntropyLoss + optim.SGD with momentum and weight decay."""

    #: Makes the model from the benchmark's weights (a subclass trains another network the same way).
    make_model = staticmethod(build_model)

    def __init__(self, weights: Weights, activation: str, lr: float, momentum: float, weight_decay: float):
        self.model = self.make_model(weights, activation)
        self.loss_fn = nn.SoftmaxCrossEntropyLoss()
        self.optimizer = optim.SGD(self.model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)

    def weights(self) -> Weights:
        """Copies of the current (weight, bias) pairs."""
        params = [p.numpy().copy() for p in self.model.parameters()]
        return list(zip(params[0::2], params[1::2]))

    def train_epoch(self, data: Dataset, batch_size: int) -> float:
        """One pass over ``data`` in order; returns the mean batch loss."""
        model, loss_fn, optimizer = self.model, self.loss_fn, self.optimizer
        total = 0.0
        steps = 0
        for start in range(0, len(data.y), batch_size):
            logits = model(Tensor(data.x[start:start + batch_size]))
            loss = loss_fn(logits, data.y[start:start + batch_size])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
            steps += 1
        return total / steps


class JittedMLP(FrameworkMLP):
    """The same model, loss and optimizer, the step (forward, backward, update) under ``jit``: the
    first two batches of each shape are recorded, the rest replayed; the loss is read outside the step."""

    def __init__(self, weights: Weights, activation: str, lr: float, momentum: float, weight_decay: float):
        super().__init__(weights, activation, lr, momentum, weight_decay)
        model, loss_fn, optimizer = self.model, self.loss_fn, self.optimizer

        @jit
        def step(x, labels):
            logits = model(x)
            loss = loss_fn(logits, labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            return loss

        self.step = step

    def train_epoch(self, data: Dataset, batch_size: int) -> float:
        """One pass over ``data`` in order; returns the mean batch loss."""
        step = self.step
        total = 0.0
        steps = 0
        for start in range(0, len(data.y), batch_size):
            total += step(Tensor(data.x[start:start + batch_size]), data.y[start:start + batch_size]).item()
            steps += 1
        return total / steps
