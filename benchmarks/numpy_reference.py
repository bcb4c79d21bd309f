"""The hand-written NumPy baseline: the classic lab MLP with softmax-minus-onehot and in-place momentum.

Forward and backward are spelled out layer by layer, the way course labs write them, with the
allocation-aware habits a careful student would use (activations computed in place, the softmax
built inside the logits array, momentum updated in place). It is the bar the framework is held to.

>>> import numpy as np
>>> from benchmarks.workload import ARCHITECTURES, initial_weights, synthetic_mnist
>>> arch = ARCHITECTURES["784-128-10 tanh"]
>>> model = NumpyMLP(initial_weights(arch), arch.activation, lr=0.1, momentum=0.9, weight_decay=1e-4)
>>> loss = model.train_epoch(synthetic_mnist(300), batch_size=100)
>>> 0.0 < loss < 3.0, model.weights()[0][0].dtype
(True, dtype('float32'))
"""
from __future__ import annotations

from typing import List

import numpy as np

from benchmarks.workload import Dataset, Weights

ACTIVATIONS = ("tanh", "relu")


class NumpyMLP:
    """An MLP trained by explicit NumPy forward/backward and the lab's momentum SGD, in the weights' dtype.

    The update is the lab form ``v = momentum * v - lr * (g + weight_decay * w); w += v``, which equals
    PyTorch's ``v = momentum * v + g'; w -= lr * v`` for a constant learning rate (v_lab = -lr v).
    Weight decay applies to biases too, as in ``optim.SGD`` and ``torch.optim.SGD``.
    """

    def __init__(self, weights: Weights, activation: str, lr: float, momentum: float, weight_decay: float):
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        self.params: List[np.ndarray] = []
        for w, b in weights:
            self.params += [w.copy(), b.copy()]
        self.velocity = [np.zeros_like(p) for p in self.params]
        self.activation = activation
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay

    def weights(self) -> Weights:
        """Copies of the current (weight, bias) pairs."""
        return [(self.params[i].copy(), self.params[i + 1].copy()) for i in range(0, len(self.params), 2)]

    def train_step(self, x: np.ndarray, labels: np.ndarray) -> float:
        """One SGD step on a batch; returns the batch's mean cross-entropy before the update."""
        loss, _ = self.dense_step(x, labels, first=0)
        return loss

    def _activate(self, z: np.ndarray) -> None:
        """The hidden activation, in place."""
        if self.activation == "tanh":
            np.tanh(z, out=z)
        else:
            np.maximum(z, 0.0, out=z)

    def _activation_grad(self, delta: np.ndarray, a: np.ndarray) -> None:
        """Multiply ``delta`` in place by the activation's derivative, given its output ``a``."""
        if self.activation == "tanh":
            delta *= 1.0 - a * a
        else:
            delta *= a > 0

    def dense_step(self, x: np.ndarray, labels: np.ndarray, first: int, input_grad: bool = False):
        """Forward, loss and backward through the Linear layers held from ``self.params[first]`` on,
        updating them; returns the loss and, with ``input_grad``, the gradient of the loss at ``x``."""
        n = x.shape[0]
        rows = np.arange(n)
        layers = (len(self.params) - first) // 2
        inputs = [x]  # the input of every layer, kept for the weight gradients
        h = x
        for layer in range(layers):
            z = h @ self.params[first + 2 * layer]
            z += self.params[first + 2 * layer + 1]
            if layer < layers - 1:
                self._activate(z)
                inputs.append(z)
            h = z

        # Softmax in place inside the logits; the loss from the same shifted logits (log-sum-exp).
        logits = h
        logits -= logits.max(axis=1, keepdims=True)
        true_logit = logits[rows, labels]
        np.exp(logits, out=logits)
        totals = logits.sum(axis=1)
        loss = float(np.mean(np.log(totals) - true_logit))
        logits /= totals[:, None]
        delta = logits  # now the softmax probabilities
        delta[rows, labels] -= 1.0
        delta *= delta.dtype.type(1.0 / n)

        for layer in range(layers - 1, -1, -1):
            index = first + 2 * layer
            grad_w = inputs[layer].T @ delta
            grad_b = delta.sum(axis=0)
            if layer > 0 or input_grad:
                delta = delta @ self.params[index].T  # before the weight is updated
                if layer > 0:
                    self._activation_grad(delta, inputs[layer])
            self._update(index, grad_w)
            self._update(index + 1, grad_b)
        return loss, (delta if input_grad else None)

    def _update(self, index: int, grad: np.ndarray) -> None:
        p, v = self.params[index], self.velocity[index]
        grad += self.weight_decay * p  # grad is a fresh array, free to overwrite
        grad *= -self.lr
        v *= self.momentum
        v += grad
        p += v

    def train_epoch(self, data: Dataset, batch_size: int) -> float:
        """One pass over ``data`` in order, in batches of ``batch_size``; returns the mean batch loss."""
        total = 0.0
        steps = 0
        for start in range(0, len(data.y), batch_size):
            total += self.train_step(data.x[start:start + batch_size], data.y[start:start + batch_size])
            steps += 1
        return total / steps
