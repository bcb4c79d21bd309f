"""The PyTorch eager baseline, written the way a PyTorch user writes it (nn.Sequential, CrossEntropyLoss,
optim.SGD), for the MLPs and LeNet-5. Optional: ``available()`` is False when torch is not importable and
run.py skips the column.

>>> from benchmarks.workload import ARCHITECTURES, initial_weights, synthetic_mnist
>>> if available():
...     arch = ARCHITECTURES["784-128-10 tanh"]
...     model = TorchMLP(initial_weights(arch), arch.activation, lr=0.1, momentum=0.9, weight_decay=1e-4)
...     assert 0.0 < model.train_epoch(synthetic_mnist(300), batch_size=100) < 3.0
"""
from __future__ import annotations

import importlib.util
from typing import Optional

import numpy as np

from benchmarks.workload import IMAGE_SIDE, Dataset, Weights


def available() -> bool:
    """True when PyTorch can be imported (it is never a dependency of the package)."""
    return importlib.util.find_spec("torch") is not None


def version() -> Optional[str]:
    """The installed torch version, or None."""
    if not available():
        return None
    import torch

    return torch.__version__


def set_threads(threads: int) -> int:
    """Give torch the same number of intra-op threads as NumPy's BLAS; returns what torch reports."""
    import torch

    torch.set_num_threads(threads)
    return torch.get_num_threads()


class TorchMLP:
    """The same MLP in PyTorch eager on the CPU, started from the same (in, out) weights (and their dtype)."""

    def __init__(self, weights: Weights, activation: str, lr: float, momentum: float, weight_decay: float):
        import torch

        self.torch = torch
        modules = []
        for index, (w, b) in enumerate(weights):
            linear = torch.nn.Linear(w.shape[0], w.shape[1], dtype=torch.from_numpy(w).dtype)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(w.T)))  # torch keeps (out, in)
                linear.bias.copy_(torch.from_numpy(b))
            modules.append(linear)
            if index < len(weights) - 1:
                modules.append(torch.nn.Tanh() if activation == "tanh" else torch.nn.ReLU())
        self.model = torch.nn.Sequential(*modules)
        self.loss_fn = torch.nn.CrossEntropyLoss()
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)

    def weights(self) -> Weights:
        """Copies of the current (weight, bias) pairs in the (in, out) layout."""
        linears = [m for m in self.model if isinstance(m, self.torch.nn.Linear)]
        return [(m.weight.detach().numpy().T.copy(), m.bias.detach().numpy().copy()) for m in linears]

    def train_epoch(self, data: Dataset, batch_size: int) -> float:
        """One pass over ``data`` in order; returns the mean batch loss."""
        torch = self.torch
        x, y = torch.from_numpy(data.x), torch.from_numpy(data.y)
        model, loss_fn, optimizer = self.model, self.loss_fn, self.optimizer
        total = 0.0
        steps = 0
        for start in range(0, len(data.y), batch_size):
            optimizer.zero_grad()
            loss = loss_fn(model(x[start:start + batch_size]), y[start:start + batch_size])
            loss.backward()
            optimizer.step()
            total += loss.item()
            steps += 1
        return total / steps


class TorchLeNet(TorchMLP):
    """LeNet-5 in PyTorch eager (Conv2d, MaxPool2d, Flatten, Linear), from the benchmark's weights.

    >>> from benchmarks.workload import CNN_ARCHITECTURES, initial_weights, synthetic_mnist
    >>> if available():
    ...     arch = CNN_ARCHITECTURES["lenet5 relu"]
    ...     model = TorchLeNet(initial_weights(arch), arch.activation, lr=0.1, momentum=0.9, weight_decay=1e-4)
    ...     assert 0.0 < model.train_epoch(synthetic_mnist(300), batch_size=100) < 3.0
    """

    def __init__(self, weights: Weights, activation: str, lr: float, momentum: float, weight_decay: float):
        import torch

        self.torch = torch
        dtype = torch.from_numpy(weights[0][0]).dtype

        def activation_module():
            return torch.nn.Tanh() if activation == "tanh" else torch.nn.ReLU()

        (w1, _), (w2, _) = weights[:2]
        modules = [
            torch.nn.Conv2d(w1.shape[1], w1.shape[0], w1.shape[2], padding=2, dtype=dtype), activation_module(),
            torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(w2.shape[1], w2.shape[0], w2.shape[2], dtype=dtype), activation_module(),
            torch.nn.MaxPool2d(2), torch.nn.Flatten(),
        ]
        dense = weights[2:]
        for index, (w, _) in enumerate(dense):
            modules.append(torch.nn.Linear(w.shape[0], w.shape[1], dtype=dtype))
            if index < len(dense) - 1:
                modules.append(activation_module())
        self.model = torch.nn.Sequential(*modules)
        layers = [m for m in self.model if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
        with torch.no_grad():
            for layer, (w, b) in zip(layers, weights):
                kept = w if w.ndim == 4 else w.T  # torch keeps Linear weights as (out, in)
                layer.weight.copy_(torch.from_numpy(np.ascontiguousarray(kept)))
                layer.bias.copy_(torch.from_numpy(b))
        self.loss_fn = torch.nn.CrossEntropyLoss()
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)

    def weights(self) -> Weights:
        """Copies of the current (weight, bias) pairs: convolutions as (O, C, KH, KW), Linear as (in, out)."""
        layers = [m for m in self.model if isinstance(m, (self.torch.nn.Conv2d, self.torch.nn.Linear))]
        pairs = []
        for m in layers:
            w = m.weight.detach().numpy()
            pairs.append(((w if w.ndim == 4 else w.T).copy(), m.bias.detach().numpy().copy()))
        return pairs

    def train_epoch(self, data: Dataset, batch_size: int) -> float:
        """One pass over ``data`` (images reshaped to (N, 1, 28, 28)) in order; returns the mean batch loss."""
        images = data.x.reshape(len(data.y), 1, IMAGE_SIDE, IMAGE_SIDE)
        return super().train_epoch(Dataset(images, data.y), batch_size)
