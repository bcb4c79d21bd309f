"""``MaxPool2d`` and ``AvgPool2d``: pooling layers over NCHW batches (PyTorch's arguments)."""
from __future__ import annotations

from ..ops.pooling import AvgPool2d as AvgPool2dOp
from ..ops.pooling import MaxPool2d as MaxPool2dOp
from ..ops.pooling import check_pool2d, pool_geometry
from ..tensor import Tensor
from .module import Module


class _Pool2d(Module):
    """Shared by the pooling layers: the window geometry, the input check and the repr."""

    op: type

    def __init__(self, kernel_size, stride=None, padding=0):
        self.geometry = pool_geometry(type(self).__name__, kernel_size, stride, padding)

    def forward(self, x):
        x = x if isinstance(x, Tensor) else Tensor(x)
        check_pool2d(self, x.shape, self.geometry)  # the layer's repr names it, built only for an error
        return self.op.apply(x, geometry=self.geometry)

    def extra_repr(self) -> str:
        g = self.geometry
        text = f"kernel_size={g.kernel}, stride={g.stride}"
        return text + (f", padding={g.padding}" if g.padding != (0, 0) else "")


class MaxPool2d(_Pool2d):
    """The maximum of each ``kernel_size`` window (``stride`` defaults to ``kernel_size``; padding, at
    most half the kernel, counts as -inf). A window with tied maxima gives its whole gradient to the
    first of them in row-major order, as PyTorch does.

    >>> import numpy as np
    >>> MaxPool2d(2)(np.arange(16.0).reshape(1, 1, 4, 4)).numpy()[0, 0]
    array([[ 5.,  7.],
           [13., 15.]])
    """

    op = MaxPool2dOp


class AvgPool2d(_Pool2d):
    """The mean of each ``kernel_size`` window (``stride`` defaults to ``kernel_size``; zero padding, at
    most half the kernel, counts in the mean as in PyTorch's default).

    >>> import numpy as np
    >>> AvgPool2d(2)(np.arange(16.0).reshape(1, 1, 4, 4)).numpy()[0, 0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """

    op = AvgPool2dOp
