"""``Conv2d``: a 2-d convolution layer over NCHW batches (PyTorch's arguments and weight layout)."""
from __future__ import annotations

import numpy as np

from ..checks import check_choice, positive_int
from ..ops.conv import Conv2d as Conv2dOp
from ..ops.conv import check_conv2d
from ..ops.windows import geometry
from .arguments import as_input, float_dtype
from .init import INITS, Seed, as_generator, initial_bias, initial_weight
from .module import Module, Parameter


class Conv2d(Module):
    """Convolution of a (N, in_channels, H, W) batch with ``out_channels`` filters of size
    ``kernel_size``; ``kernel_size``, ``stride``, ``padding`` and ``dilation`` are ints or pairs.

    The weight has PyTorch's shape (out_channels, in_channels, KH, KW). ``init`` is one of ``INITS``;
    the default "pytorch" is PyTorch's own (weight and bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with
    fan_in = in_channels * KH * KW); "normal", "xavier" and "he" start the bias at zero. ``seed`` is
    None, an int or a numpy Generator; ``dtype`` (float32 by default) is kept by the parameters.

    >>> conv = Conv2d(1, 6, 5, padding=2, seed=0)
    >>> conv(np.zeros((8, 1, 28, 28), dtype=np.float32)).shape
    (8, 6, 28, 28)
    >>> conv
    Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        bias: bool = True,
        init: str = "pytorch",
        init_std: float = 0.01,
        seed: Seed = None,
        dtype=np.float32,
    ):
        self.in_channels = positive_int(in_channels, "in_channels", owner="Conv2d")
        self.out_channels = positive_int(out_channels, "out_channels", owner="Conv2d")
        self.geometry = geometry("Conv2d", kernel_size, stride, padding, dilation)
        dtype = float_dtype("Conv2d", dtype)
        check_choice(init, "init", INITS, owner="Conv2d")
        kh, kw = self.geometry.kernel
        rng = as_generator(seed)
        shape = (self.out_channels, self.in_channels, kh, kw)
        self.weight = Parameter(initial_weight(init, shape, init_std, rng, dtype))
        fan_in = self.in_channels * kh * kw
        self.bias = Parameter(initial_bias(init, fan_in, self.out_channels, rng, dtype)) if bias else None

    def forward(self, x):
        # The layer itself names it in errors: its repr is built only when an error is raised.
        x = as_input(self, x, self.weight.dtype)
        check_conv2d(self, x.shape, self.weight.shape, None, self.geometry)
        if self.bias is None:
            return Conv2dOp.apply(x, self.weight, geometry=self.geometry)
        return Conv2dOp.apply(x, self.weight, self.bias, geometry=self.geometry)

    def extra_repr(self) -> str:
        g = self.geometry
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={g.kernel}, stride={g.stride}"
        if g.padding != (0, 0):
            text += f", padding={g.padding}"
        if g.dilation != (1, 1):
            text += f", dilation={g.dilation}"
        if self.bias is None:
            text += ", bias=False"
        return text if self.weight.dtype == np.float32 else f"{text}, dtype={self.weight.dtype}"
