"""jit vs eager over the op table: every differentiable op, float32 and float64, its special points.

For each entry a step makes the op's float inputs parameters, takes ``<op(inputs), cotangent>`` as
its loss (a new cotangent each call), runs backward and an SGD update. Four calls: two recorded, two
replayed, on values the update keeps changing. Outputs, gradients and updated values must be the
same bits as eagerly, and the calls after the recordings must have been replayed (the op must not
make the jit give up). At the special points (a zero base of pow, huge logits, zero-size axes) the
update moves values off the special point, so the program may change or a guard may fail: the bits
must agree all the same.
"""
from __future__ import annotations

import numpy as np
import pytest
from equivalence import run_both
from hypothesis import given, settings
from hypothesis import strategies as st
from op_table import SPECS
from window_specs import reusing_layers

from tinygrad_mnist import Tensor, nn, optim

FLOATS = [np.dtype(np.float32), np.dtype(np.float64)]
SPECIAL = [spec for spec in SPECS if spec.special is not None]


def _maker(spec, case):
    def make():
        inputs = [nn.Parameter(a.copy()) if a.dtype.kind == "f" else Tensor(a) for a in case.arrays]
        trainable = [t for t in inputs if t.requires_grad]
        optimizer = optim.SGD(trainable, lr=1e-3, momentum=0.5)
        layers: dict = {}

        def step(cotangent):
            with reusing_layers(layers):  # a layer entry calls the same layer each step
                out = spec.apply(*inputs, **case.params)
            loss = (out * cotangent).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            return out, loss

        return step, inputs, optimizer, None

    return make


def _calls(spec, case, count=4):
    shape = spec.apply(*[Tensor(a) for a in case.arrays], **case.params).shape
    dtype = spec.out_dtype or next(a.dtype for a in case.arrays if a.dtype.kind == "f")
    rng = np.random.default_rng(0)
    cotangents = [rng.standard_normal(shape).astype(dtype) for _ in range(count)]
    return [lambda c=c: (Tensor(c),) for c in cotangents]


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("spec", SPECS, ids=[spec.name for spec in SPECS])
@settings(max_examples=4)
@given(data=st.data())
def test_replay_is_bit_identical(spec, dtype, data):
    case = data.draw(spec.cases(dtype), label="case")
    run_both(_maker(spec, case), _calls(spec, case), expect_replays=2)


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("spec", SPECIAL, ids=[spec.name for spec in SPECIAL])
@settings(max_examples=4)
@given(data=st.data())
def test_replay_at_special_points_is_bit_identical(spec, dtype, data):
    with np.errstate(all="ignore"):
        case = data.draw(spec.special(dtype), label="special case")
        run_both(_maker(spec, case), _calls(spec, case), allow_warnings=True)
