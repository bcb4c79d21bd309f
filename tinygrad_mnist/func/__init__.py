"""Functional autodiff: transforms that turn a function into its derivatives.

``grad(f)`` is a new function that returns the gradient of ``f``; ``jacrev``, ``jacfwd`` and
``hessian`` likewise return functions; ``vjp``, ``jvp`` and ``hvp`` evaluate at a point. The
transforms nest (``grad(grad(f))``, ``jacrev(jacrev(f))``) and accept:

* **arguments**: Tensors, float ndarrays or Python floats, or tuples, lists and dicts of them.
  ndarrays and tensors keep their dtype (float32 stays float32); a Python float becomes float32,
  as everywhere in this project. ``argnums`` picks the differentiated argument (an int) or
  arguments (a tuple: the derivatives come as a tuple); other arguments, and keyword arguments,
  are passed through unchanged.
* **results** of ``f``: Tensors (or numbers, which are constants), or tuples, lists and dicts of
  them. Derivatives come nested like the results, then like the arguments.

An argument that the result does not depend on gets a derivative of zeros. Derivatives are
differentiable (they record a graph) exactly when grad mode is on and ``f`` depends on a tensor that
requires grad from outside: an argument that requires grad (an outer transform's variable, a
model's parameter) or one ``f`` closes over. Under ``no_grad()`` they are plain tensors.

>>> from tinygrad_mnist import Tensor, func
>>> f = lambda x: (x ** 3).sum()
>>> x = Tensor([1.0, 2.0])
>>> func.grad(f)(x)
Tensor([ 3., 12.], dtype=float32)
>>> func.hessian(f)(x)
Tensor([[ 6.,  0.],
        [ 0., 12.]], dtype=float32)
"""
from .composed import hessian, hvp, jacobian
from .forward import jacfwd, jvp
from .reverse import grad, jacrev, value_and_grad, vjp

__all__ = [
    "grad",
    "hessian",
    "hvp",
    "jacfwd",
    "jacobian",
    "jacrev",
    "jvp",
    "value_and_grad",
    "vjp",
]
