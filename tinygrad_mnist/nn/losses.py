"""Loss functions as Modules, called as ``loss_fn(logits, labels)`` with logits (N, C) and integer
labels (N,); each returns the batch mean as a scalar Tensor. ``LOSSES`` maps command-line names to
the classes."""
from __future__ import annotations

from typing import Dict, Optional, Sequence, Union

import numpy as np

from ..checks import NON_NEGATIVE, UNIT_INTERVAL, check_float
from . import functional as F
from .module import Module


class EuclideanLoss(Module):
    """``0.5 * ||outputs - one_hot(labels)||^2`` per sample, averaged over the batch.

    The raw outputs are compared with the one-hot target: they are NOT passed through a softmax.

    >>> from tinygrad_mnist import Tensor
    >>> EuclideanLoss()(Tensor([[1.0, 0.0]]), np.array([0])).item()
    0.0
    """

    def forward(self, logits, labels):
        return F.euclidean_loss(logits, labels)


class SoftmaxCrossEntropyLoss(Module):
    """Softmax cross-entropy with optional label smoothing (targets ``(1 - eps) one_hot + eps / C``).

    >>> from tinygrad_mnist import Tensor
    >>> round(SoftmaxCrossEntropyLoss()(Tensor([[0.0, 0.0]]), np.array([0])).item(), 6)
    0.693147
    """

    def __init__(self, label_smoothing: float = 0.0):
        self.label_smoothing = check_float(label_smoothing, "label_smoothing", UNIT_INTERVAL, owner=type(self).__name__)

    def forward(self, logits, labels):
        return F.cross_entropy(logits, labels, self.label_smoothing)

    def extra_repr(self) -> str:
        return f"label_smoothing={self.label_smoothing}" if self.label_smoothing else ""


class HingeLoss(Module):
    """Multi-class hinge: per sample ``sum_{j != y} max(0, margin - x_y + x_j)``, batch-averaged.

    >>> from tinygrad_mnist import Tensor
    >>> HingeLoss(margin=1.0)(Tensor([[3.0, 0.0]]), np.array([0])).item()
    0.0
    """

    def __init__(self, margin: float = 5.0):
        self.margin = check_float(margin, "margin", NON_NEGATIVE, owner=type(self).__name__)

    def forward(self, logits, labels):
        return F.hinge_loss(logits, labels, self.margin)

    def extra_repr(self) -> str:
        return f"margin={self.margin}"


class KLDivLoss(Module):
    """``KL(t || softmax(logits))`` averaged over the batch.

    ``t`` is the one-hot of the labels, unless a target distribution of shape (N, C) is given, either
    here (fixed, for a fixed batch) or per call as ``loss_fn(logits, labels, target=...)``.
    Zero-probability targets contribute exactly 0.

    >>> from tinygrad_mnist import Tensor
    >>> loss_fn = KLDivLoss()
    >>> round(loss_fn(Tensor([[0.0, 0.0]]), np.array([1])).item(), 6)
    0.693147
    >>> loss_fn(Tensor([[0.0, 0.0]]), None, target=np.array([[0.5, 0.5]])).item()
    0.0
    """

    def __init__(self, target=None):
        self.target = None if target is None else np.asarray(target)

    def forward(self, logits, labels, target=None):
        return F.kl_div(logits, labels, self.target if target is None else target)

    def extra_repr(self) -> str:
        return "" if self.target is None else f"target_shape={self.target.shape}"


class FocalLoss(Module):
    """Focal loss ``-alpha_y (1 - p_y)^gamma log p_y``, batch-averaged; down-weights easy samples.

    >>> from tinygrad_mnist import Tensor
    >>> round(FocalLoss(gamma=0.0)(Tensor([[0.0, 0.0]]), np.array([0])).item(), 6)
    0.693147
    """

    def __init__(self, gamma: float = 2.0, alpha: Union[None, float, Sequence[float]] = None):
        self.gamma = check_float(gamma, "gamma", NON_NEGATIVE, owner=type(self).__name__)
        self.alpha: Optional[Union[float, tuple]] = None
        if alpha is not None:
            self.alpha = float(alpha) if np.ndim(alpha) == 0 else tuple(float(a) for a in alpha)

    def forward(self, logits, labels):
        return F.focal_loss(logits, labels, self.gamma, self.alpha)

    def extra_repr(self) -> str:
        return f"gamma={self.gamma}" + ("" if self.alpha is None else f", alpha={self.alpha}")


#: Loss modules by their command-line names, e.g. ``LOSSES["ce"]()`` is a SoftmaxCrossEntropyLoss.
LOSSES: Dict[str, type] = {
    "euclidean": EuclideanLoss,
    "ce": SoftmaxCrossEntropyLoss,
    "hinge": HingeLoss,
    "kldiv": KLDivLoss,
    "focal": FocalLoss,
}
