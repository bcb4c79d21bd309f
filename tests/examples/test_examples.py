"""The examples are part of the documentation: each one runs, and the custom op is property-tested."""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from hypothesis import given

from tinygrad_mnist import Tensor
from tinygrad_mnist.testing import gradcheck, gradgradcheck
from tinygrad_mnist.testing.strategies import arrays, shapes

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(*args: str, cwd=None) -> str:
    result = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=cwd, timeout=300,
                            env={**os.environ, "MPLBACKEND": "Agg"})
    assert result.returncode == 0, result.stderr
    return result.stdout


custom_op = _load("custom_op")


@given(shapes().flatmap(lambda shape: arrays(shape, avoid=(0.0,), min_distance=1e-2)))
def test_custom_op_gradchecks_on_any_shape(values):
    x = Tensor(values, requires_grad=True)
    assert gradcheck(custom_op.soft_clip, [x])
    assert gradgradcheck(custom_op.soft_clip, [x])


def test_custom_op_forward_matches_formula():
    values = np.linspace(-5, 5, 11)
    np.testing.assert_allclose(custom_op.soft_clip(Tensor(values)).numpy(), values / (1 + np.abs(values)))


def test_custom_op_example_runs():
    out = _run(str(EXAMPLES / "custom_op.py"))
    assert "gradcheck: True" in out and "gradgradcheck: True" in out


def test_quickstart_example_runs(tmp_path):
    out = _run(str(EXAMPLES / "quickstart.py"), "--out", str(tmp_path / "graph.svg"))
    assert "dL/dw" in out and "d2/dt2" in out


def test_property_test_example_holds():
    out = _run(str(EXAMPLES / "property_test_custom_op.py"))
    assert "all properties hold" in out


def test_hessian_vector_product_example_agrees_with_finite_differences():
    out = _run(str(EXAMPLES / "hessian_vector_product.py"))
    assert "largest difference from finite differences" in out


def test_graph_drawing_example_names_the_parameters(tmp_path):
    out = _run(str(EXAMPLES / "draw_graph.py"), "--out", str(tmp_path / "graph.dot"))
    assert "layers.0.weight" in out
    assert "layers.0.weight" in (tmp_path / "graph.dot").read_text()


def test_mnist_mlp_example_learns_on_a_subset(mnist_dir):
    out = _run(str(EXAMPLES / "mnist_mlp.py"), "--data-dir", str(mnist_dir), "--train-size", "5000",
               "--epochs", "2", "--min-accuracy", "0.85")
    assert "epoch 2:" in out
