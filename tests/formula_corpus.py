"""Hand-written backprop formulas from textbooks, courses, code and common mistakes.

Each entry: (spec, syntax, formula, verdict, words the diagnosis must contain or None).
Sources: Nielsen, "Neural Networks and Deep Learning" ch. 2 (BP1-BP4, column convention,
C = ½ Σ ||a - y||²); Ng, deep-learning course (dZ, dW, db with 1/m, tanh hidden, sigmoid
output); CS231n notes and assignments (row convention, dscores / N); the seed article; and
the mistakes students make with each.
"""

NIELSEN = [
    # BP1 (matrix form), BP2, BP3, BP4 as in the book, batch stacked as columns
    ("latex", r"\delta_2 = (A_2 - Y) \odot \sigma'(Z_2)", "correct", None),
    ("latex", r"\delta^2 = (a^2 - y) \odot \sigma'(z^2)", "correct", None),
    ("latex", r"\delta_1 = ((W_2)^T \delta_2) \odot \sigma'(Z_1)", "correct", None),
    ("latex", r"\delta^l = ((w^{l+1})^T \delta^{l+1}) \odot \sigma'(z^l)", "correct", None),
    ("latex", r"\delta_l = (W_{l+1}^T \delta_{l+1}) \odot \sigma'(z_l)", "correct", None),
    ("latex", r"\frac{\partial C}{\partial W_2} = \delta_2 A_1^T", "correct", None),
    ("latex", r"\frac{\partial L}{\partial W_l} = \delta_l a_{l-1}^T", "correct", None),
    ("latex", r"\frac{\partial L}{\partial b_l} = \sum_i \delta_l", "correct", None),
    ("latex", r"\nabla_{W_1} L = \delta_1 X^T", "correct", None),
    ("latex", r"\delta_1 = \sigma'(Z_1) \odot (W_2^T \delta_2)", "correct", None),
    (
        "latex",
        r"\delta_1 = (W_2^T \delta_2) \circ \sigma(Z_1) \circ (1 - \sigma(Z_1))",
        "correct",
        None,
    ),
    ("latex", r"\delta_1 = (W_2^T \delta_2) \odot A_1 \odot (1 - A_1)", "correct", None),
    ("latex", r"\delta_2 = (a_2 - y) \odot \sigma(z_2)(1 - \sigma(z_2))", "correct", None),
    # mistakes
    (
        "latex",
        r"\delta_1 = (W_2 \delta_2) \odot \sigma'(Z_1)",
        "incorrect",
        "transpose is missing on W_2",
    ),
    ("latex", r"\delta_1 = (\delta_2 W_2^T) \odot \sigma'(Z_1)", "incorrect", "row-convention"),
    ("latex", r"\delta_1 = W_2^T \delta_2", "incorrect", "f'(Z) of the layer is missing"),
    ("latex", r"\delta_1 = (W_2^T \delta_2) \odot \sigma(Z_1)", "incorrect", "derivative"),
    ("latex", r"\delta_2 = A_2 - Y", "incorrect", "f'(Z) of the layer is missing"),
    ("latex", r"\frac{\partial L}{\partial W_2} = A_1^T \delta_2", "incorrect", "row-convention"),
    ("latex", r"\frac{\partial L}{\partial W_2} = \frac{1}{m} \delta_2 A_1^T", "incorrect", "1/m"),
    (
        "latex",
        r"\frac{\partial L}{\partial W_1} = \delta_1 X",
        "incorrect",
        "transpose is missing on X",
    ),
    ("latex", r"\delta_2 = (Y - A_2) \odot \sigma'(Z_2)", "incorrect", "sign"),
    # side by side, fitting only as ⊙ and right so: a slip or an unwritten ⊙ (round 9: refused)
    ("latex", r"\delta_1 = (W_2^T \delta_2) (\sigma'(Z_1))", None, None),
    ("python", "delta1 = (W2.T @ delta2) * A1 * (1 - A1)", "correct", None),
    ("python", "delta2 = (A2 - Y) * sigmoid_prime(Z2)", "correct", None),
    ("python", "dW1 = np.dot(delta1, X.T)", "correct", None),
    ("python", "db2 = np.sum(delta2, axis=1, keepdims=True)", "correct", None),
    (
        "python",
        "delta1 = np.dot(W2, delta2) * A1 * (1 - A1)",
        "incorrect",
        "transpose is missing on W2",
    ),
    ("python", "db2 = np.sum(delta2, axis=0, keepdims=True)", "incorrect", "row-convention"),
    ("python", "delta1 = np.dot(W2.T, delta2) @ sigmoid_prime(Z1)", "incorrect", "Hadamard"),
    ("python", "delta1 = np.multiply(np.dot(W2.T, delta2), sigmoid_prime(Z1))", "correct", None),
    ("latex", r"\delta_1 = \operatorname{diag}(\sigma'(Z_1)) W_2^T \delta_2", "correct", None),
    ("latex", r"\delta_1 = (W_2^T \delta_2) \times \sigma'(Z_1)", "correct", None),
    ("latex", r"\delta_1 = \sigma'(Z_1) * W_2^T \delta_2", "correct", None),
]

NG = [
    ("python", "dZ2 = A2 - Y", "correct", None),
    ("python", "dW2 = 1 / m * np.dot(dZ2, A1.T)", "correct", None),
    ("python", "db2 = 1 / m * np.sum(dZ2, axis=1, keepdims=True)", "correct", None),
    ("python", "dZ1 = np.dot(W2.T, dZ2) * (1 - np.power(A1, 2))", "correct", None),
    ("python", "dW1 = 1 / m * np.dot(dZ1, X.T)", "correct", None),
    ("python", "db1 = (1 / m) * np.sum(dZ1, axis=1, keepdims=True)", "correct", None),
    ("python", "dW1 = np.dot(dZ1, X.T) / m", "correct", None),
    ("python", "dZ1 = W2.T @ dZ2 * (1 - A1**2)", "correct", None),
    ("latex", r"dZ^{[2]} = A^{[2]} - Y", "correct", None),
    ("latex", r"dW^{[1]} = \frac{1}{m} dZ^{[1]} X^T", "correct", None),
    ("latex", r"db^{[1]} = \frac{1}{m} \sum_{i=1}^{m} dZ^{[1]}", "correct", None),
    ("latex", r"dZ^{[1]} = W^{[2]T} dZ^{[2]} * g^{[1]}{}'(Z^{[1]})", None, None),
    ("latex", r"dZ^{[1]} = W^{[2]T} dZ^{[2]} * (1 - A^{[1]2})", "correct", None),
    ("latex", r"dZ^{[1]} = (W^{[2]T} dZ^{[2]}) \odot g'(Z^{[1]})", "correct", None),
    ("latex", r"dZ^{[1]} = (W^{[2]T} dZ^{[2]}) \odot (1 - \tanh^2 z^{[1]})", "correct", None),
    # mistakes
    ("python", "dW2 = np.dot(dZ2, A1.T)", "incorrect", "mean delta definition"),
    ("python", "dZ2 = (A2 - Y) / m", "incorrect", "mean delta definition"),
    ("python", "dW1 = 1 / m * np.dot(X.T, dZ1)", "incorrect", None),
    (
        "python",
        "dZ1 = np.dot(W2, dZ2) * (1 - np.power(A1, 2))",
        "incorrect",
        "transpose is missing on W2",
    ),
    ("python", "dZ1 = np.dot(W2.T, dZ2) * (1 - A1)", "incorrect", None),
    ("python", "db1 = 1 / m * np.sum(dZ1, axis=0, keepdims=True)", "incorrect", "row-convention"),
    ("python", "dW1 = 1 / m * np.dot(dZ1, X)", "incorrect", "transpose is missing on X"),
    ("python", "dW2 = 2 / m * np.dot(dZ2, A1.T)", "incorrect", "factor"),
    ("latex", r"dW^{[1]} = \frac{1}{m} X^T dZ^{[1]}", "incorrect", None),
]

CS231N = [
    ("python", "dscores = (probs - Y) / N", None, None),
    ("python", "dZ2 = (A2 - Y) / N", "correct", None),
    ("python", "dW2 = A1.T @ dZ2", "correct", None),
    ("python", "db2 = np.sum(dZ2, axis=0, keepdims=True)", "correct", None),
    ("python", "dZ1 = dZ2 @ W2.T * (Z1 > 0)", "correct", None),
    ("python", "dW1 = np.dot(X.T, dZ1)", "correct", None),
    ("python", "db1 = np.sum(dZ1, axis=0)", "correct", None),
    ("latex", r"\delta_2 = \frac{1}{N} (A_2 - Y)", "correct", None),
    ("latex", r"\delta_1 = (\delta_2 W_2^T) \odot \operatorname{relu}'(Z_1)", "correct", None),
    ("latex", r"\frac{\partial L}{\partial W_1} = X^T \delta_1", "correct", None),
    # mistakes
    ("python", "dW2 = dZ2 @ A1.T", "incorrect", "column-convention"),
    ("python", "dW2 = A1.T @ dZ2 / N", "incorrect", "1/m too many"),
    ("python", "dZ2 = A2 - Y", "incorrect", "per-sample delta definition"),
    ("python", "db2 = np.sum(dZ2, axis=1, keepdims=True)", "incorrect", "column-convention"),
    ("python", "dZ1 = W2.T @ dZ2 * (Z1 > 0)", "incorrect", "column-convention"),
    ("python", "dW1 = X @ dZ1", "incorrect", "transpose is missing on X"),
    ("latex", r"\frac{\partial L}{\partial W_1} = \delta_1 X^T", "incorrect", "column-convention"),
]

SEED = [
    ("latex", r"\delta_L = a_L - y", "correct", None),
    ("latex", r"\delta_l = f'(z_l) \cdot W_{l+1}^T \cdot \delta_{l+1}", "correct", None),
    (
        "latex",
        r"\frac{\partial L}{\partial W_l} = \frac{1}{m} a_{l-1}^T \delta_l",
        "incorrect",
        "row-convention",
    ),
    ("latex", r"\frac{\partial L}{\partial b_l} = \frac{1}{m} \sum \delta_l", "correct", None),
    ("latex", r"\frac{\partial L}{\partial W_l} = \frac{1}{m} \delta_l a_{l-1}^T", "correct", None),
    ("latex", r"\delta_3 = \frac{1}{m}(A_3 - Y)", "incorrect", "mean delta definition"),
    ("latex", r"\delta_l = (W_{l+1}^T \delta_{l+1}) \odot f'(z_l)", "correct", None),
    (
        "latex",
        r"\delta_l = (W_{l+1} \delta_{l+1}) \odot f'(z_l)",
        "incorrect",
        "transpose is missing",
    ),
    ("latex", r"\frac{\partial L}{\partial W_2} = \frac{1}{m} \delta_2 A_1^T", "correct", None),
    (
        "latex",
        r"\frac{\partial L}{\partial W_1} = \frac{1}{2m} \delta_1 X^T",
        "incorrect",
        "factor 2",
    ),
    ("latex", r"\delta_L = \frac{\partial C}{\partial Z_L} = a_L - y", "correct", None),
]

CORPUS = (
    [("nielsen", *row) for row in NIELSEN]
    + [("ng", *row) for row in NG]
    + [("cs231n", *row) for row in CS231N]
    + [("seed", *row) for row in SEED]
)

#: CNN formulas: the forms of CNN notes (⋆ correlation, (δ * rot180 K)_full, A ⋆ δ, Σ δ),
#: SciPy-style code (correlate2d, convolve2d, np.rot90) and the classic mistakes.
#: Specs: the built-in ``cnn`` (conv, max pool, dense) and ``cnn2`` (conv, conv, avg pool).
CNN2 = "tests/specs/cnn2.toml"
CNN_CORPUS = [
    ("cnn", "latex", r"Z^{(1)} = K^{(1)} \star X + b^{(1)}", "correct", None),
    ("cnn", "latex", r"Z^{(l)} = K^{(l)} \star A^{(l-1)} + b^{(l)}", "correct", None),
    (
        "cnn",
        "latex",
        r"\delta^{(l-1)} = (\delta^{(l)} * \operatorname{rot180}(K^{(l)}))_{\text{full}}"
        r" \odot f'(Z^{(l-1)})",
        "correct",
        None,
    ),
    (
        "cnn",
        "latex",
        r"\delta^{(l)} = (\delta^{(l+1)} \star \operatorname{rot180}(K^{(l+1)}))_{\text{full}}"
        r" \odot f'(Z^{(l)})",
        "correct",
        None,
    ),
    (
        "cnn",
        "latex",
        r"\delta^{(l-1)} = (\delta^{(l)} * K^{(l)})_{\text{full}} \odot f'(Z^{(l-1)})",
        "incorrect",
        "the kernel is not flipped",
    ),
    (
        "cnn",
        "latex",
        r"\delta^{(l-1)} = (\delta^{(l)} * \operatorname{rot180}(K^{(l)}))_{\text{valid}}"
        r" \odot f'(Z^{(l-1)})",
        "incorrect",
        "'valid' is written where the 'full' mode is needed",
    ),
    (
        "cnn",
        "latex",
        r"\delta^{(l-1)} = (\delta^{(l)} * \operatorname{rot180}(K^{(l)})) \odot f'(Z^{(l-1)})",
        "incorrect",
        "where the full one is needed",
    ),
    (
        "cnn",
        "latex",
        r"\frac{\partial L}{\partial K^{(l)}} = \frac{1}{m} A^{(l-1)} \star \delta^{(l)}",
        "correct",
        None,
    ),
    (
        "cnn",
        "latex",
        r"\frac{\partial L}{\partial K^{(l)}} = A^{(l-1)} \star \delta^{(l)}",
        "incorrect",
        "a factor 1/m is missing",
    ),
    (
        "cnn",
        "latex",
        r"\frac{\partial L}{\partial K^{(1)}} = \frac{1}{m} \delta^{(1)} \star X",
        "incorrect",
        "the operands are swapped",
    ),
    (
        "cnn",
        "latex",
        r"\frac{\partial L}{\partial b^{(l)}} = \frac{1}{m} \sum_{i,j} \delta^{(l)}_{ij}",
        "correct",
        None,
    ),
    (
        "cnn",
        "latex",
        r"\delta^{(1)} = \operatorname{up}(\delta^{(2)}) \odot \mathbb{1}_{\max}(A^{(1)})"
        r" \odot \operatorname{relu}'(Z^{(1)})",
        "correct",
        None,
    ),
    (
        "cnn",
        "latex",
        r"\delta^{(1)} = \frac{1}{4} \operatorname{up}(\delta^{(2)})"
        r" \odot \operatorname{relu}'(Z^{(1)})",
        "incorrect",
        "spread evenly",
    ),
    (
        "cnn",
        "latex",
        r"\delta^{(2)} = \operatorname{unflatten}(W^{(4)T} \delta^{(4)})",
        "correct",
        None,
    ),
    ("cnn", "python", "dK1 = correlate2d(X, delta1, mode='valid') / m", "correct", None),
    (
        "cnn",
        "python",
        "dK1 = scipy.signal.convolve2d(X, delta1, mode='valid') / m",
        "incorrect",
        "swapped",
    ),
    ("cnn", "python", "db1 = np.sum(delta1, axis=(0, 2, 3)) / m", "correct", None),
    ("cnn", "python", "Z1 = signal.correlate2d(X, K1, mode='valid') + b1", "correct", None),
    ("cnn", "python", "Z1 = signal.convolve2d(X, K1, mode='valid') + b1", "incorrect", "swapped"),
    (CNN2, "python", "dA1 = convolve2d(delta2, K2, mode='full')", "correct", None),
    (CNN2, "python", "dA1 = correlate2d(delta2, np.rot90(K2, 2), mode='full')", "correct", None),
    (CNN2, "python", "dA1 = correlate2d(delta2, K2, mode='full')", "incorrect", "swapped"),
    (
        CNN2,
        "python",
        "dA1 = convolve2d(delta2, np.rot90(K2, 2), mode='full')",
        "incorrect",
        "convolve2d flips the kernel",
    ),
    (CNN2, "python", "dA1 = convolve2d(delta2, K2, mode='valid')", "incorrect", "'valid'"),
    (
        CNN2,
        "python",
        "delta1 = convolve2d(delta2, K2, mode='full') * (1 - A1**2)",
        "correct",
        None,
    ),
    (
        CNN2,
        "latex",
        r"\delta^{(1)} = (\delta^{(2)} * \operatorname{rot180}(K^{(2)}))_{\text{full}}"
        r" \odot (1 - A^{(1)} \odot A^{(1)})",
        "correct",
        None,
    ),
    (
        CNN2,
        "latex",
        r"\delta^{(2)} = \frac{1}{4} \operatorname{up}(\delta^{(3)})"
        r" \odot \operatorname{relu}'(Z^{(2)})",
        "correct",
        None,
    ),
    (
        CNN2,
        "latex",
        r"\delta^{(2)} = \operatorname{up}(\delta^{(3)}) \odot \operatorname{relu}'(Z^{(2)})",
        "incorrect",
        "1/k² = 1/4",
    ),
    (
        CNN2,
        "latex",
        r"\frac{\partial L}{\partial K^{(2)}} = \frac{1}{m} A^{(1)} \star \delta^{(2)}",
        "correct",
        None,
    ),
    # index forms, one sample and one channel pair as notes write them
    (
        "cnn",
        "latex",
        r"\frac{\partial L}{\partial k_{uv}} = \frac{1}{m} \sum_{i,j} \delta_{ij} a_{i+u,j+v}",
        "correct",
        None,
    ),
    (
        "cnn",
        "latex",
        r"\frac{\partial L}{\partial k_{uv}} = \sum_{i,j} \delta_{ij} a_{i+u,j+v}",
        "incorrect",
        "a factor 1/m is missing",
    ),
    (
        "cnn",
        "latex",
        r"\frac{\partial L}{\partial k_{uv}} = \frac{1}{m} \sum_{i,j} \delta_{ij} a_{i-u,j-v}",
        "incorrect",
        "the kernel is flipped",
    ),
    (
        "cnn",
        "latex",
        r"\frac{\partial L}{\partial b^{(l)}} = \frac{1}{m} \sum_{i,j} \delta^{(l)}_{ij}",
        "correct",
        None,
    ),
    (
        "cnn",
        "latex",
        r"\frac{\partial C}{\partial a_{ij}} = \sum_{u,v} \delta_{i-u,j-v} k_{uv}",
        "correct",
        None,
    ),
    (
        CNN2,
        "latex",
        r"\delta^{(1)}_{ij} = \sum_{u,v} \delta^{(2)}_{i-u,j-v} k^{(2)}_{uv} \tanh'(z^{(1)}_{ij})",
        "correct",
        None,
    ),
    (
        CNN2,
        "latex",
        r"\frac{\partial C}{\partial a^{(1)}_{ij}}"
        r" = \sum_{u,v} \delta^{(2)}_{i+u,j+v} k^{(2)}_{uv}",
        "incorrect",
        "the kernel is flipped",
    ),
    (
        CNN2,
        "latex",
        r"z^{(2)}_{ij} = \sum_{u,v} k^{(2)}_{uv} a^{(1)}_{i+u,j+v} + b^{(2)}",
        "correct",
        None,
    ),
]
