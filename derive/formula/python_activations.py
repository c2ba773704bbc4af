"""The activations real NumPy code calls, by name: ``sigmoid``, ``expit``, ``relu_prime``,
``sigmoidGradient``, Ng's ``relu_backward(dA, cache)``, and a derivative asked for by a
keyword (``sigmoid(z, derivative=True)``). ``python_calls`` reads a call of one as the
IR's ``Fn``; the name readings (``name_readings``) know them as functions.
"""

from __future__ import annotations

from typing import Any

from derive.formula.ir import FormulaError
from derive.formula.layer_names import PY_FUNCS as LAYER_PY_FUNCS
from derive.formula.python_nodes import Bool

#: A function's name -> (the activation, how many primes).
PY_FUNCS = {
    "sigmoid": ("sigmoid", 0),
    "_sigmoid": ("sigmoid", 0),  # the exported NumPy module's overflow-free sigmoid
    "expit": ("sigmoid", 0),  # scipy.special.expit
    "softplus": ("softplus", 0),
    "tanh": ("tanh", 0),
    "relu": ("relu", 0),
    "sigmoid_forward": ("sigmoid", 0),  # yizt's layers (the activation's forward pass)
    "tanh_forward": ("tanh", 0),
    "relu_forward": ("relu", 0),
    "softmax": ("softmax", 0),
    "exp": ("exp", 0),
    "erf": ("erf", 0),  # scipy.special.erf (GELU's derivative)
    "log": ("log", 0),
    "sigmoid_prime": ("sigmoid", 1),
    "sigmoidPrime": ("sigmoid", 1),  # Welch's Neural Networks Demystified, of z
    "sigmoidGradient": ("sigmoid", 1),  # Ng's ex4 (and its ports), of z
    "sigmoid_gradient": ("sigmoid", 1),
    "sigma_prime": ("sigmoid", 1),  # hunkim's TensorFlow labs (of the pre-activation)
    "sigmoid_derivative": ("sigmoid", 1),
    "dsigmoid": ("sigmoid", 1),
    "sigmoid_backward": ("sigmoid", 1),
    "tanh_prime": ("tanh", 1),
    "tanh_derivative": ("tanh", 1),
    "dtanh": ("tanh", 1),
    "relu_prime": ("relu", 1),
    "relu_derivative": ("relu", 1),
    "drelu": ("relu", 1),
    "g_prime": ("generic", 1),
    "f_prime": ("generic", 1),
    "activation_prime": ("generic", 1),
    "g": ("generic", 0),
    "f": ("generic", 0),
    "leaky_relu": ("leaky_relu", 0),
    "lrelu": ("leaky_relu", 0),
    "leaky_relu_prime": ("leaky_relu", 1),
    "lrelu_prime": ("leaky_relu", 1),
}
PY_FUNCS |= LAYER_PY_FUNCS  # abs, np.sign, sqrt (layer_names)


#: Ng's dnn_utils: ``relu_backward(dA, cache)`` is dA ⊙ relu'(Z) (the cache holds Z).
BACKWARD = {"relu_backward": "relu", "sigmoid_backward": "sigmoid", "tanh_backward": "tanh"}


#: The keyword real code uses to ask an activation for its derivative instead.
_DERIVATIVE_KW = ("derivative", "deriv", "first_derivative", "derivate", "prime")


def derivative_flag(name: str, kw: dict[str, Any]) -> int:
    """``sigmoid(z, derivative=True)`` is σ'(z): 1; no flag (or False): 0. Any other
    keyword is not read (it might change what the function computes)."""
    flag = 0
    for key, value in kw.items():
        if key not in _DERIVATIVE_KW or not isinstance(value, Bool):
            raise FormulaError(f"{name}(…, {key}=…): this keyword is not read")
        flag = int(value.value)
    if flag and PY_FUNCS[name][1]:
        raise FormulaError(f"{name}(…, derivative=True): the derivative of a derivative")
    return flag
