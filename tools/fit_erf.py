"""Fit the Chebyshev coefficients used by ``tinygrad_mnist/ops/special.py`` for erf.

Run ``python tools/fit_erf.py`` to regenerate and print them. The reference is ``math.erf`` /
``math.erfc`` from the standard library (correctly rounded to about one ulp).

float64 uses two pieces, both smooth so finite-difference gradient checks see no kinks:
  * |x| <= SPLIT: erf(x) / x as a Chebyshev series in t = 2 x^2 / SPLIT^2 - 1 (erf is odd);
  * |x| >  SPLIT: erfc(|x|) * |x| * exp(x^2) as a Chebyshev series in s = 2 SPLIT^2 / x^2 - 1.
float32 (where speed matters: GeLU in training) uses one cheaper polynomial:
  * |x| <= SPLIT32: erf(x) / x as a power series in t = 2 x^2 / SPLIT32^2 - 1, evaluated in float32;
    beyond SPLIT32 erf is +-1 to within erfc(4) = 1.5e-8, below float32 resolution near 1.
"""
import math

import numpy as np
from numpy.polynomial import chebyshev

SPLIT = 3.0
CORE_DEGREE = 22
TAIL_DEGREE = 16
SPLIT32 = 4.0
DEGREE32 = 16


def fit():
    x = np.linspace(1e-8, SPLIT, 40001)
    core = chebyshev.chebfit(2 * x * x / SPLIT**2 - 1, [math.erf(v) / v for v in x], CORE_DEGREE)
    # Sample the tail evenly in s, up to x = 1e4 where erfc underflows long before.
    s = np.linspace(-1.0, 1.0, 40001)
    xt = SPLIT * np.sqrt(2.0 / (s + 1.0 + 1e-300))
    xt = np.minimum(xt, 26.0)  # erfc(26) underflows float64; the scaled value is smooth up to there
    scaled = [math.erfc(v) * v * math.exp(v * v) for v in xt]
    tail = chebyshev.chebfit(2 * SPLIT**2 / (xt * xt) - 1, scaled, TAIL_DEGREE)
    x32 = np.linspace(1e-8, SPLIT32, 40001)
    fit32 = chebyshev.chebfit(2 * x32 * x32 / SPLIT32**2 - 1, [math.erf(v) / v for v in x32], DEGREE32)
    # In t the power-series coefficients stay small (sum of |a_k| ~ 1.13), so Horner in float32 is stable.
    return core, tail, chebyshev.cheb2poly(fit32)


def report(core, tail, power32):
    import sys

    sys.path.insert(0, ".")
    from tinygrad_mnist.ops import special

    x = np.concatenate([np.linspace(-8, 8, 200001), [0.0, 1e-300, -1e-12, 3.0, -3.0, 2.9999999]])
    approx = special._erf_with(x, core, tail)
    exact = np.array([math.erf(v) for v in x])
    print(f"float64: max abs error over [-8, 8]: {np.abs(approx - exact).max():.3e}")
    x32 = np.linspace(-8, 8, 400001).astype(np.float32)
    approx32 = special._erf32_with(x32, power32).astype(np.float64)
    exact32 = np.array([math.erf(float(v)) for v in x32])
    print(f"float32: max abs error over [-8, 8]: {np.abs(approx32 - exact32).max():.3e}")


if __name__ == "__main__":
    core, tail, power32 = fit()
    np.set_printoptions(precision=17, floatmode="unique")
    print("CORE =", repr(core.tolist()))
    print("TAIL =", repr(tail.tolist()))
    print("POWER32 =", repr(power32.tolist()))
    report(core, tail, power32)
