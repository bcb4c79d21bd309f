"""The hand-written NumPy LeNet-5: im2col convolutions, forward and backward spelled out.

The way a course lab writes a CNN in NumPy: activations kept channels-last (N, H, W, C), so im2col
makes one row per output position with the window's (kernel row, kernel column, channel) values, a
convolution is one matrix product per layer, its input gradient one product and a col2im that adds
the 25 kernel offsets back; max pooling over 2x2 blocks by reshaping. Momentum SGD as in
``numpy_reference.NumpyMLP``, whose update it shares.

>>> import numpy as np
>>> from benchmarks.workload import CNN_ARCHITECTURES, initial_weights, synthetic_mnist
>>> arch = CNN_ARCHITECTURES["lenet5 relu"]
>>> model = NumpyLeNet(initial_weights(arch), arch.activation, lr=0.1, momentum=0.9, weight_decay=1e-4)
>>> loss = model.train_epoch(synthetic_mnist(300), batch_size=100)
>>> 0.0 < loss < 3.0, model.weights()[0][0].shape, model.weights()[0][0].dtype
(True, (6, 1, 5, 5), dtype('float32'))
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from benchmarks.numpy_reference import NumpyMLP
from benchmarks.workload import IMAGE_SIDE

KERNEL = 5


def im2col(x: np.ndarray, padding: int) -> np.ndarray:
    """x (N, H, W, C) -> (N * OH * OW, KERNEL * KERNEL * C): one row per window, for a stride-1 conv."""
    if padding:
        x = np.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    n, h, w, c = x.shape
    oh, ow = h - KERNEL + 1, w - KERNEL + 1
    sn, sh, sw, sc = x.strides
    windows = as_strided(x, (n, oh, ow, KERNEL, KERNEL, c), (sn, sh, sw, sh, sw, sc), writeable=False)
    return windows.reshape(n * oh * ow, KERNEL * KERNEL * c)


def col2im(cols: np.ndarray, shape, padding: int) -> np.ndarray:
    """The adjoint of ``im2col``: add each row's window values back onto (N, H, W, C)."""
    n, h, w, c = shape
    hp, wp = h + 2 * padding, w + 2 * padding
    oh, ow = hp - KERNEL + 1, wp - KERNEL + 1
    blocks = cols.reshape(n, oh, ow, KERNEL, KERNEL, c)
    out = np.zeros((n, hp, wp, c), dtype=cols.dtype)
    for i in range(KERNEL):
        for j in range(KERNEL):
            out[:, i:i + oh, j:j + ow, :] += blocks[:, :, :, i, j, :]
    return out[:, padding:padding + h, padding:padding + w, :] if padding else out


class NumpyLeNet(NumpyMLP):
    """LeNet-5 trained by explicit NumPy forward/backward and the lab's momentum SGD, in the weights'
    dtype. Weights are given as for the framework: convolutions (O, C, 5, 5), Linear layers (in, out).

    2x2 max pooling sends a window's gradient to its first maximum in row-major order, as the framework
    and PyTorch do. Ties are common here: over a blank part of an image every window of the first layer
    holds the same value, the activation of the bias alone.
    """

    @staticmethod
    def _pool(a: np.ndarray) -> np.ndarray:
        n, h, w, c = a.shape
        return a.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))

    @staticmethod
    def _unpool(grad: np.ndarray, a: np.ndarray, pooled: np.ndarray) -> np.ndarray:
        n, h, w, c = a.shape
        blocks = a.reshape(n, h // 2, 2, w // 2, 2, c).transpose(0, 1, 3, 5, 2, 4).reshape(n, h // 2, w // 2, c, 4)
        winners = blocks == pooled[..., None]
        first = winners & (np.cumsum(winners, axis=-1) == 1)
        spread = (first * grad[..., None]).reshape(n, h // 2, w // 2, c, 2, 2)
        return spread.transpose(0, 1, 4, 2, 5, 3).reshape(n, h, w, c)

    def train_step(self, x: np.ndarray, labels: np.ndarray) -> float:
        """One SGD step on a batch of (N, 784) images; returns the batch's mean cross-entropy."""
        n = x.shape[0]
        w1, w2 = self.params[0], self.params[2]
        # The convolution weights as (KH * KW * C, O) matrices matching im2col's rows.
        k1 = w1.transpose(2, 3, 1, 0).reshape(-1, w1.shape[0])
        k2 = w2.transpose(2, 3, 1, 0).reshape(-1, w2.shape[0])

        images = x.reshape(n, IMAGE_SIDE, IMAGE_SIDE, 1)
        cols1 = im2col(images, padding=2)
        a1 = cols1 @ k1
        a1 += self.params[1]
        self._activate(a1)
        a1 = a1.reshape(n, IMAGE_SIDE, IMAGE_SIDE, -1)
        p1 = self._pool(a1)
        cols2 = im2col(p1, padding=0)
        a2 = cols2 @ k2
        a2 += self.params[3]
        self._activate(a2)
        side2 = p1.shape[1] - KERNEL + 1
        a2 = a2.reshape(n, side2, side2, -1)
        p2 = self._pool(a2)
        # Flatten in the framework's (C, H, W) order, so the first Linear weight means the same.
        loss, delta = self.dense_step(p2.transpose(0, 3, 1, 2).reshape(n, -1), labels, first=4, input_grad=True)

        grad_p2 = delta.reshape(p2.shape[0], p2.shape[3], p2.shape[1], p2.shape[2]).transpose(0, 2, 3, 1)
        delta2 = self._unpool(grad_p2, a2, p2)
        self._activation_grad(delta2, a2)
        delta2 = delta2.reshape(-1, w2.shape[0])
        grad_k2 = cols2.T @ delta2
        grad_b2 = delta2.sum(axis=0)
        grad_p1 = col2im(delta2 @ k2.T, p1.shape, padding=0)
        delta1 = self._unpool(grad_p1, a1, p1)
        self._activation_grad(delta1, a1)
        delta1 = delta1.reshape(-1, w1.shape[0])
        grad_k1 = cols1.T @ delta1
        grad_b1 = delta1.sum(axis=0)
        self._update(2, grad_k2.reshape(KERNEL, KERNEL, w2.shape[1], w2.shape[0]).transpose(3, 2, 0, 1).copy())
        self._update(3, grad_b2)
        self._update(0, grad_k1.reshape(KERNEL, KERNEL, w1.shape[1], w1.shape[0]).transpose(3, 2, 0, 1).copy())
        self._update(1, grad_b1)
        return loss
