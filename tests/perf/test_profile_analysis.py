"""profile_epoch's attribution rule, on hand-made py-spy stacks (py-spy itself is not needed here)."""
import pytest

from benchmarks.profile_epoch import MARKER, analyse

OUTER = f"<module> (benchmarks/profile_epoch.py:1);{MARKER} (benchmarks/profile_epoch.py:60)"
RAW = "\n".join([
    # 6 samples in a matmul: NumPy (BLAS)
    f"{OUTER};forward (tinygrad_mnist/ops/linalg.py:17);array_matmul (numpy/_core/_multiarray_umath.so);"
    "sgemm_kernel (libscipy_openblas64_.so) 6",
    # 2 samples in a ufunc loop reached from the optimizer: NumPy (loops)
    f"{OUTER};step (tinygrad_mnist/optim/sgd.py:129);FLOAT_add_X86_V3 (numpy/_core/_multiarray_umath.so) 2",
    # 1 sample allocating a Python object in the engine: Python side
    f"{OUTER};_backward_pass (tinygrad_mnist/autograd/engine.py:170);PyObject_Malloc (libpython3.11.so) 1",
    # 1 sample running bytecode of Function.apply: Python side
    f"{OUTER};apply (tinygrad_mnist/autograd/function.py:80) 1",
    # outside the profiled region: ignored
    "<module> (benchmarks/profile_epoch.py:1);synthetic_mnist (benchmarks/workload.py:70) 50",
    "not a stack line",
])


def test_samples_are_split_into_numpy_and_python():
    result = analyse(RAW, top=5)
    assert result["samples"] == 10
    assert result["numpy_fraction"] == pytest.approx(0.8)
    assert result["python_fraction"] == pytest.approx(0.2)
    assert dict(result["numpy_parts"]) == pytest.approx({"BLAS": 0.6, "ufunc/reduction/copy loops": 0.2})
    assert dict(result["top_python_self"]) == pytest.approx({
        "tinygrad_mnist/autograd/engine.py:_backward_pass": 0.1,
        "tinygrad_mnist/autograd/function.py:apply": 0.1,
    })
    assert dict(result["top_numpy_callers"])["tinygrad_mnist/ops/linalg.py:forward"] == pytest.approx(0.6)


def test_no_samples_in_the_region_is_an_error():
    with pytest.raises(RuntimeError, match="no samples"):
        analyse("<module> (x.py:1);other (x.py:2) 5", top=5)
