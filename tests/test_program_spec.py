"""Forward programs in the spec (issue 14): the equation grammar, the TOML form, the
expression mode and every bad-input message (file, line, equation, problem)."""

from __future__ import annotations

import re
from importlib import resources

import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from derive.spec import (
    PROGRAM_EXAMPLES,
    Labels,
    ProgramSpec,
    SpecError,
    expression_program,
    is_program,
    load_program,
    loads_program,
    parse_shape_flag,
)
from derive.spec.program_grammar import (
    MAX_DEPTH,
    Assign,
    Bin,
    Call,
    Compare,
    EquationError,
    Name,
    Num,
    Pick,
    Transpose,
    Unary,
    parse_assign,
    parse_expression,
)

X, Y, W, b = Name("X"), Name("y"), Name("W"), Name("b")


def n(value: int | str) -> Num:
    return Num(sympy.Rational(value))


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("X + y - b", Bin("-", Bin("+", X, Y), b)),
        ("X * y / b", Bin("/", Bin("*", X, Y), b)),
        ("X @ W + b", Bin("+", Bin("@", X, W), b)),
        ("X ** 2", Bin("**", X, n(2))),
        ("X ^ 2", Bin("**", X, n(2))),
        ("-X ** 2", Unary("-", Bin("**", X, n(2)))),
        ("+X", X),
        ("X.T @ y", Bin("@", Transpose(X), Y)),
        ("(X @ W).T", Transpose(Bin("@", X, W))),
        ("mean(X, axis=0)", Call("mean", (X,), 0)),
        ("np.mean(X, axis=1)", Call("mean", (X,), 1)),
        ("numpy.sum(X)", Call("sum", (X,), None)),
        ("X.sum(axis=0)", Call("sum", (X,), 0)),
        ("X.max(axis=None)", Call("max", (X,), None)),
        ("np.mean(X, axis=0, keepdims=True)", Call("mean", (X,), 0, keepdims=True)),
        ("np.sqrt(X)", Call("sqrt", (X,))),
        ("np.linalg.norm(X)", Call("norm", (X,))),
        ("np.linalg.inv(X) @ y", Bin("@", Call("inv", (X,)), Y)),
        (
            "logdet(X) + det(X) * trace(X)",
            Bin("+", Call("logdet", (X,)), Bin("*", Call("det", (X,)), Call("trace", (X,)))),
        ),
        ("maximum(0, X)", Call("maximum", (n(0), X))),
        ("np.maximum(X, 0)", Call("maximum", (n(0), X))),
        ("where(X > 0, X, 0)", Call("where", (Compare(">", X, n(0)), X, n(0)))),
        ("where(X <= y, 1, b)", Call("where", (Compare("<=", X, Y), n(1), b))),
        ("softmax(X, axis=-1)", Call("softmax", (X,), 1)),
        ("log_softmax(X, axis=-2)", Call("log_softmax", (X,), 0)),
        ("X[range(N), y]", Pick(X, "y", "N")),
        ("log_softmax(X, axis=1)[range(4), y]", Pick(Call("log_softmax", (X,), 1), "y", 4)),
        ("X.dot(W)", Bin("@", X, W)),
        (
            "tanh(X) * sigmoid(X) + relu(X) - abs(X)",
            Bin(
                "-",
                Bin("+", Bin("*", Call("tanh", (X,)), Call("sigmoid", (X,))), Call("relu", (X,))),
                Call("abs", (X,)),
            ),
        ),
        ("exp(log(X))", Call("exp", (Call("log", (X,)),))),
    ],
)
def test_expression_trees(text: str, tree: object) -> None:
    assert parse_expression(text) == tree


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", 0),
        ("3", 3),
        ("0.1", sympy.Rational(1, 10)),
        ("2.5e-3", sympy.Rational(1, 400)),
        (".5", sympy.Rational(1, 2)),
        ("1e3", 1000),
        ("1E+2", 100),
    ],
)
def test_numbers_are_exact(text: str, value: object) -> None:
    parsed = parse_expression(text)
    assert isinstance(parsed, Num)
    assert parsed.value == value
    assert isinstance(parsed.value, sympy.Rational)


def test_assignment_keeps_text_line_and_columns() -> None:
    eq = parse_assign("Xc = X - mu", line=7)
    assert eq == Assign("Xc", Bin("-", X, Name("mu")), text="Xc = X - mu")
    assert eq.line == 7
    assert isinstance(eq.expr, Bin)
    right = eq.expr.right
    assert isinstance(right, Name)
    assert (right.line, right.column) == (7, 10)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("x = foo(X)", "unknown function foo()"),
        ("x = maen(X)", "did you mean 'mean'"),
        ("x = sqrt(X, X)", "sqrt() takes 1 argument, got 2"),
        ("x = where(X + 1, 1, 0)", "where() needs a mask as its condition"),
        ("x = sum(X, axis=2)", "reduction over axis 2: X has axes 0 and 1"),
        ("x = (X @ W).sum(axis=3)", "reduction over axis 3: X @ W has axes 0 and 1"),
        ("x = softmax(X)", "softmax() needs axis=0 or axis=1"),
        ("x = sqrt(X, axis=0)", "sqrt() takes no axis"),
        ("x = sum(X, keepdims=False)", "only keepdims=True"),
        ("x = sum(X, out=y)", "sum() has no argument out="),
        ("x = maximum(1, X)", "maximum() is only maximum(0, x)"),
        ("x = X[0]", "only one-hot indexing"),
        ("x = X.shape", "x.shape is read only to unpack it"),
        ("x = X.var()", "unknown method .var()"),
        ("x = range(N)", "range() is only allowed in one-hot indexing"),
        ("x = X - None", "None can only be given as axis=None"),
        ("x = X +", "ends too early"),
        ("x = X $ 2", "unexpected character '$' at column 7"),
        ("x = 1e999", "the exponent of the number is beyond"),
        ("x = " + "9" * 40, "more than 30 significant digits"),
    ],
)
def test_equation_errors(text: str, words: str) -> None:
    with pytest.raises(EquationError) as err:
        parse_assign(text)
    assert words in err.value.problem


def test_nesting_is_bounded_without_recursion_error() -> None:
    assert parse_assign("x = " + "(" * 240 + "X" + ")" * 240).expr == X  # brackets add no depth
    for text in [
        "x = " + "-" * 400 + "X",
        "x = " + "+".join(["X"] * 200),
        "x = " + "sqrt(" * 90 + "X" + ")" * 90,
    ]:
        with pytest.raises(EquationError) as err:
            parse_assign(text)
        assert "deep" in err.value.problem or "long" in err.value.problem
    parse_assign("x = " + "-" * (MAX_DEPTH - 2) + "X")
    with pytest.raises(EquationError, match="characters long"):
        parse_assign("x = " + "X + " * 130 + "X")


# --- TOML programs ---------------------------------------------------------------------


BASE = '''name = "bn"
[inputs]
X = ["N", "D"]
[labels]
y = {length = "N", classes = "C"}
[parameters]
gamma = [1, "D"]
[hyperparameters]
eps = "epsilon"
[forward]
equations = """
mu = mean(X, axis=0)
EQ
out = gamma * Xc
"""
[backward]
upstream = "dout"
'''
LINE = 13  # the line of EQ in BASE


def program(eq: str = "Xc = X - mu", base: str = BASE) -> ProgramSpec:
    return loads_program(base.replace("EQ", eq), "spec.toml")


def test_example_base_reads() -> None:
    spec = program()
    assert spec.inputs == {"X": ("N", "D")}
    assert spec.parameters == {"gamma": (1, "D")}
    assert spec.labels == {"y": Labels("N", "C")}
    assert spec.hyperparameters == {"eps": "epsilon"}
    assert spec.targets == ("mu", "Xc", "out")
    assert [eq.line for eq in spec.equations] == [12, LINE, 14]
    assert (spec.upstream, spec.output, spec.loss) == ("dout", "out", None)
    assert spec.convention == "row"
    assert spec.sizes == ("N", "D", "C")
    assert spec.role("Xc") == "intermediate" and spec.role("N") == "size"
    assert spec.warnings == ()


@pytest.mark.parametrize(
    ("eq", "message"),
    [
        ("Xc = X - muu", "unknown name 'muu'; did you mean 'mu'?"),
        ("mu = X", "'mu' is assigned twice (first on line 12)"),
        ("X = mu", "cannot assign to 'X': it is an input"),
        ("gamma = mu", "cannot assign to 'gamma': it is a parameter"),
        ("eps = mu", "cannot assign to 'eps': it is a hyperparameter"),
        ("N = mu", "cannot assign to 'N': it is a size"),
        ("Xc = X - dout", "'dout' is the upstream gradient"),
        ("dout = X", "'dout' is the upstream gradient, not a name to assign"),
        ("dX = X", "'dX' would be the name of X's gradient"),
        ("sum = X", "the name 'sum' is reserved"),
        ("log_softmax = X", "'log_softmax' is a function or a word of the equations"),
        ("Xc = X - y", "the labels 'y' can only index"),
        ("Xc = X[range(D), y]", "range(D) does not match the N labels y"),
        ("Xc = X[range(N), mu]", "'mu' in S[range(…), mu] is not declared under [labels]"),
        ("Xc = foo(X)", "unknown function foo()"),
        ("Xc = mean(X, axis=2)", "reduction over axis 2: X has axes 0 and 1"),
        ("Xc = X -", "the equation ends too early"),
        ("Xc = X - mu mu", "unexpected 'mu' at column"),
    ],
)
def test_bad_equation_names_file_line_equation_and_problem(eq: str, message: str) -> None:
    with pytest.raises(SpecError) as err:
        program(eq)
    text = eq if len(eq) <= 80 else eq[:74]
    assert str(err.value).startswith(f"spec.toml:{LINE}: equation {text!r}: ")
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_comments_and_blank_lines_in_equations() -> None:
    spec = program("\n# centre the batch\nXc = X - mu   # centred\n")
    assert [eq.text for eq in spec.equations] == [
        "mu = mean(X, axis=0)",
        "Xc = X - mu",
        "out = gamma * Xc",
    ]
    assert [eq.line for eq in spec.equations] == [12, LINE + 2, LINE + 4]


def test_error_line_is_the_file_line_after_comments() -> None:
    with pytest.raises(SpecError, match=rf"^spec.toml:{LINE + 2}: equation 'Xc = X - nu'"):
        program("# a comment\n\nXc = X - nu")


@pytest.mark.parametrize(
    ("edit", "line", "message"),
    [
        (
            lambda t: t.split("[backward]")[0],
            None,
            "a program needs exactly one of [backward] upstream",
        ),
        (lambda t: t + '[loss]\nexpression = "sum(out)"\n', 18, "not both"),
        (
            lambda t: t.replace("mu = mean(X, axis=0)\nXc = X - mu\nout = gamma * Xc\n", "# a\n"),
            10,
            "the program has no equations",
        ),
        (
            lambda t: t.replace('upstream = "dout"', 'upstream = "gamma"'),
            17,
            "the upstream gradient 'gamma' clashes with a parameter",
        ),
        (
            lambda t: t.replace('upstream = "dout"', 'upstream = "dgamma"'),
            17,
            "the upstream gradient 'dgamma' would be the name of gamma's gradient",
        ),
        (
            lambda t: t.replace('upstream = "dout"', 'upstream = "dX"'),
            17,
            "the name 'dX' is reserved",
        ),
        (
            lambda t: t.replace('upstream = "dout"', 'upstream = "dout"\noutput = "nope"'),
            18,
            "output 'nope' is not the target of an equation",
        ),
        (
            lambda t: t.replace("out = gamma * Xc", "out = eps * 2"),
            14,
            "depends on no input or parameter",
        ),
        (
            lambda t: t.replace('X = ["N", "D"]', 'X = ["N", "D", 3]'),
            3,
            "a shape is a list of one or two sizes",
        ),
        (lambda t: t.replace('X = ["N", "D"]', 'X = ["N", 0]'), 3, "a size must be between 1"),
        (
            lambda t: t.replace('X = ["N", "D"]', 'X = ["N", true]'),
            3,
            "a size is a positive integer or a symbol name",
        ),
        (
            lambda t: t.replace('X = ["N", "D"]', 'X = ["N", "eps"]'),
            9,
            "'eps' is both a size and a hyperparameter",
        ),
        (lambda t: t.replace('eps = "epsilon"', "eps = nan"), 9, "must be finite"),
        (
            lambda t: t.replace('eps = "epsilon"', 'eps = "gamma"'),
            9,
            "the symbol 'gamma' is already a parameter",
        ),
        (
            lambda t: t.replace('gamma = [1, "D"]', 'gamma = [1, "D"]\ndgamma = [1, "D"]'),
            8,
            "'dgamma' would be the name of gamma's gradient",
        ),
        (
            lambda t: t.replace('gamma = [1, "D"]', 'lambda_1 = [1, "D"]').replace(
                "gamma *", "lambda_1 *"
            ),
            None,
            "",
        ),
        (
            lambda t: t.replace('y = {length = "N", classes = "C"}', 'y = {length = "N"}'),
            5,
            "labels are declared as",
        ),
        (
            lambda t: t.replace('name = "bn"', 'name = "bn"\nconvention = "rows"'),
            2,
            'convention must be "row" or "column"',
        ),
        (
            lambda t: t.replace('name = "bn"', 'name = "bn"\nequatoins = 1'),
            2,
            "unknown key 'equatoins'",
        ),
        (lambda t: t.replace("[forward]", "[forward]\nfoo = 1"), 10, "[forward] holds one key"),
        (lambda t: "x = [", None, "TOML syntax error"),
    ],
)
def test_bad_program(edit, line: int | None, message: str) -> None:  # type: ignore[no-untyped-def]
    text = edit(BASE.replace("EQ", "Xc = X - mu"))
    if not message:
        loads_program(text, "spec.toml")
        return
    with pytest.raises(SpecError) as err:
        loads_program(text, "spec.toml")
    assert message in str(err.value)
    where = "spec.toml" if line is None else f"spec.toml:{line}"
    assert str(err.value).startswith(where + ":")
    assert err.value.line == line


def test_unused_equation_and_parameter_are_warnings() -> None:
    text = BASE.replace("EQ", "Xc = X - mu\nzz = X").replace(
        'gamma = [1, "D"]', 'gamma = [1, "D"]\nbeta = [1, "D"]'
    )
    spec = loads_program(text, "spec.toml")
    assert spec.warnings == (
        "spec.toml:15: 'zz' is computed but not used by the output 'out'",
        "parameter 'beta' is not used by the output 'out' (its gradient is zero)",
    )


LOSS_BASE = """[inputs]
X = ["N", "D"]
t = ["N", "C"]
[labels]
y = {length = "N", classes = "C"}
[parameters]
W = ["D", "C"]
[forward]
equations = "S = X @ W"
[loss]
LOSS
"""


def test_losses() -> None:
    spec = loads_program(LOSS_BASE.replace("LOSS", 'expression = "mean((S - t) ^ 2)"'), "l.toml")
    assert spec.loss is not None and spec.loss.kind == "expression"
    assert spec.loss.expr == Call("mean", (Bin("**", Bin("-", Name("S"), Name("t")), n(2)),))
    assert spec.loss.line == 11 and spec.upstream is None and spec.output is None
    mse = loads_program(LOSS_BASE.replace("LOSS", 'name = "mse"\ntarget = "t"'), "l.toml")
    assert mse.loss is not None and mse.loss.expr == spec.loss.expr and mse.loss.kind == "mse"
    ce = loads_program(LOSS_BASE.replace("LOSS", 'name = "cross_entropy"\ntarget = "y"'), "l")
    assert ce.loss is not None and ce.loss.expr == Unary(
        "-", Call("mean", (Pick(Call("log_softmax", (Name("S"),), 1), "y", "N"),))
    )
    col = loads_program(
        "convention = 'column'\n"
        + LOSS_BASE.replace("LOSS", 'name = "cross_entropy"\ntarget = "y"'),
        "l",
    )
    assert col.loss is not None and col.loss.text == "-mean(log_softmax(S, axis=0).T[range(N), y])"


@pytest.mark.parametrize(
    ("loss", "line", "message"),
    [
        ('expression = "mean(S - q)"', 11, "loss 'mean(S - q)': unknown name 'q'"),
        ('expression = "2 * 3"', 11, "the loss depends on no input or parameter"),
        ('expression = "mean(S"', 11, "ends too early"),
        ('name = "hinge"', 11, "unknown loss 'hinge'"),
        ('name = "mse"', 11, "the mse loss needs target ="),
        ('name = "cross_entropy"\ntarget = "t"', 12, "needs target = labels"),
        ('expresion = "S"', 11, "unknown key 'expresion' in [loss]"),
    ],
)
def test_bad_loss(loss: str, line: int, message: str) -> None:
    with pytest.raises(SpecError) as err:
        loads_program(LOSS_BASE.replace("LOSS", loss), "l.toml")
    assert str(err.value).startswith(f"l.toml:{line}: ")
    assert message in str(err.value)


def test_bounds() -> None:
    from derive.spec.program_records import MAX_EQUATIONS, MAX_NAMES

    many = "\n".join(f"a{i} = X" for i in range(MAX_EQUATIONS + 1))
    with pytest.raises(SpecError, match=f"more than {MAX_EQUATIONS} equations"):
        program(many)
    # with X, y, gamma, eps: one name too many
    hypers = "\n".join(f"h{i} = {i}" for i in range(MAX_NAMES - 3))
    with pytest.raises(SpecError, match=f"more than {MAX_NAMES} names"):
        program(base=BASE.replace('eps = "epsilon"', 'eps = "epsilon"\n' + hypers))
    n = MAX_EQUATIONS - 3
    chain = [f"a{i} = a{i - 1} * X" if i else "a0 = X" for i in range(n)]
    longest = program("\n".join([*chain, f"Xc = a{n - 1}"]))
    assert len(longest.equations) == MAX_EQUATIONS and longest.warnings == (
        "spec.toml:12: 'mu' is computed but not used by the output 'out'",
    )
    with pytest.raises(SpecError, match=r"^spec.toml:13: equation .*the line is 502 characters"):
        program("Xc = " + "X + " * 124 + "X")
    with pytest.raises(SpecError, match=r"^spec.toml:13: .*nests 60 deep; the limit is 50"):
        program("Xc = " + "-" * 59 + "X")


# --- examples ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", PROGRAM_EXAMPLES)
def test_every_example_reads(name: str) -> None:
    spec = load_program(name)
    assert spec.equations and spec.warnings == ()
    assert (spec.upstream is None) != (spec.loss is None)
    text = resources.files("derive").joinpath("examples", f"{name}.toml").read_text("utf-8")
    lines = text.splitlines()
    for eq in spec.equations:  # each equation's line is the line of the file it is on
        assert eq.text in lines[eq.line - 1]
    assert load_program(spec) is spec


def test_batchnorm_example() -> None:
    spec = load_program("batchnorm")
    assert spec.targets == ("mu", "Xc", "var", "Xhat", "out")
    assert spec.equations[0].expr == Call("mean", (X,), 0)
    assert spec.equations[3].expr == Bin(
        "/", Name("Xc"), Call("sqrt", (Bin("+", Name("var"), Name("eps")),))
    )
    assert (spec.upstream, spec.output) == ("dout", "out")


def test_is_program() -> None:
    assert is_program({"forward": {"equations": "a = X"}})
    assert is_program({"equations": "a = X"})
    assert not is_program({"layers": []})


def test_load_program_from_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "prog.toml"
    path.write_text(BASE.replace("EQ", "Xc = X - nu"), "utf-8")
    with pytest.raises(SpecError, match=rf"prog.toml:{LINE}: equation 'Xc = X - nu'"):
        load_program(str(path))
    with pytest.raises(SpecError, match="no such spec file"):
        load_program(str(tmp_path / "missing.toml"))


# --- expression mode ---------------------------------------------------------------------


SHAPES = {"X": ("m", "n"), "w": ("n", 1), "y": ("m", 1)}


def test_expression_mode() -> None:
    spec = expression_program("norm(X @ w - y)^2 + lambda * norm(w)^2", ["w"], SHAPES)
    assert spec.inputs == {"X": ("m", "n"), "y": ("m", 1)}
    assert spec.parameters == {"w": ("n", 1)}
    assert spec.hyperparameters == {"lambda": "lambda"}
    assert spec.equations == () and spec.upstream is None
    assert spec.loss is not None
    assert spec.loss.expr == Bin(
        "+",
        Bin("**", Call("norm", (Bin("-", Bin("@", X, Name("w")), Y),)), n(2)),
        Bin("*", Name("lambda"), Bin("**", Call("norm", (Name("w"),)), n(2))),
    )


@pytest.mark.parametrize(
    ("expr", "wrt", "shapes", "message"),
    [
        ("norm(X @ w)", ["v"], SHAPES, "--wrt v: 'v' does not appear in the expression"),
        ("norm(X @ w) + c", ["c"], {"X": ("m", "n"), "w": ("n", 1)}, "--wrt c: 'c' has no shape"),
        ("norm(X @ w)", ["w"], SHAPES, "--shape y: 'y' does not appear in the expression"),
        ("norm(X @ w)", [], SHAPES, "give at least one name"),
        ("norm(X @ w", ["w"], SHAPES, "ends too early"),
        ("norm(X @ q)", ["q"], {"X": ("m", "n"), "q": ("q", 1)}, "'q' is both a size"),
        ("", ["w"], SHAPES, "the expression is empty"),
    ],
)
def test_bad_expression(expr: str, wrt: list[str], shapes: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(SpecError) as err:
        expression_program(expr, wrt, shapes)
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("flag", "parsed"),
    [("X=m,n", ("X", ("m", "n"))), ("w = n , 1", ("w", ("n", 1))), ("b=3", ("b", (3,)))],
)
def test_shape_flag(flag: str, parsed: tuple) -> None:  # type: ignore[type-arg]
    assert parse_shape_flag(flag) == parsed


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("X", "expected NAME=SIZES"),
        ("X=", "a size is empty"),
        ("X=m,,n", "one or two sizes, got 3"),
        ("X=0,1", "a size must be between 1"),
        ("1X=m", "not a valid symbol name"),
        ("X=m n", "not a valid symbol name"),
    ],
)
def test_bad_shape_flag(flag: str, message: str) -> None:
    with pytest.raises(SpecError) as err:
        parse_shape_flag(flag)
    assert str(err.value).startswith(f"--shape {flag!r}: ")
    assert message in str(err.value)


# --- fuzz: random equation text never raises anything but SpecError ----------------------


PIECES = [
    "X",
    "y",
    "mu",
    "gamma",
    "eps",
    "N",
    "dout",
    "0",
    "1",
    "2.5",
    "1e400",
    "9" * 35,
    "+",
    "-",
    "*",
    "/",
    "@",
    "**",
    "^",
    ">",
    "<=",
    "==",
    "(",
    ")",
    "[",
    "]",
    ",",
    ".",
    ".T",
    "=",
    "sum(",
    "mean(",
    "np.",
    "np.linalg.norm(",
    "where(",
    "softmax(",
    "maximum(",
    "range(",
    "axis=",
    "axis=0",
    "axis=1",
    "axis=-1",
    "axis=7",
    "None",
    "keepdims=True",
    ".sum(",
    "foo(",
    "X[range(N), y]",
    "#",
    "\t",
    " ",
    "é",
    "\\",
    '"',
]


def _fuzz_one(pieces: list[str]) -> None:
    eq = "out = " + "".join(pieces)
    text = BASE.replace("EQ", "Xc = X - mu").replace("out = gamma * Xc", eq.replace('"', "'"))
    try:
        loads_program(text, "f.toml")
    except SpecError as err:
        assert "\n" not in str(err)
        assert re.match(r"^f\.toml(:\d+)?: ", str(err))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(PIECES), max_size=25))
def test_fuzz_equations_only_spec_errors(pieces: list[str]) -> None:
    _fuzz_one(pieces)


@pytest.mark.slow
@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(PIECES), max_size=60))
def test_fuzz_equations_only_spec_errors_long(pieces: list[str]) -> None:
    _fuzz_one(pieces)


def _expressions() -> st.SearchStrategy[str]:
    """Well-formed equation right-hand sides over BASE's names and every construct."""
    leaves = st.sampled_from(["X", "mu", "gamma", "eps", "N", "2", "0.5", "X[range(N), y]"])

    def grow(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        one = st.sampled_from(
            [
                "sqrt",
                "exp",
                "log",
                "abs",
                "tanh",
                "sigmoid",
                "relu",
                "norm",
                "trace",
                "inv",
                "det",
                "logdet",
                "np.sqrt",
                "np.linalg.norm",
            ]
        )
        reduce = st.sampled_from(["sum", "mean", "max", "np.sum"])
        axis = st.sampled_from(["", ", axis=0", ", axis=1", ", axis=None", ", axis=-1"])
        return st.one_of(
            st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "@", "**", "^"]), inner).map(
                lambda t: f"{t[0]} {t[1]} {t[2]}"
            ),
            inner.map(lambda e: f"-({e})"),
            inner.map(lambda e: f"({e}).T"),
            st.tuples(one, inner).map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(reduce, inner, axis).map(lambda t: f"{t[0]}({t[1]}{t[2]})"),
            st.tuples(
                st.sampled_from(["softmax", "log_softmax"]), inner, st.sampled_from(["0", "1"])
            ).map(lambda t: f"{t[0]}({t[1]}, axis={t[2]})"),
            st.tuples(inner, inner).map(lambda t: f"maximum(0, {t[0]} - {t[1]})"),
            st.tuples(inner, st.sampled_from([">", ">=", "<", "<="]), inner, inner).map(
                lambda t: f"where({t[0]} {t[1]} {t[2]}, {t[3]}, 0)"
            ),
        )

    return st.recursive(leaves, grow, max_leaves=12)


def _structured(expr: str, cut: int | None) -> None:
    eq = f"out = gamma * Xc + {expr}"
    if cut is not None:  # a mutation: one character dropped
        eq = eq[: cut % len(eq)] + eq[cut % len(eq) + 1 :]
    text = BASE.replace("EQ", "Xc = X - mu").replace("out = gamma * Xc", eq)
    try:
        spec = loads_program(text, "f.toml")
    except SpecError as err:
        assert cut is not None or "characters long" in str(err) or "deep" in str(err), str(err)
        assert "\n" not in str(err)
        return
    if cut is None:
        assert spec.targets == ("mu", "Xc", "out") and spec.output == "out"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_expressions(), st.none() | st.integers(0, 10_000))
def test_fuzz_structured_equations(expr: str, cut: int | None) -> None:
    _structured(expr, cut)


@pytest.mark.slow
@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_expressions(), st.none() | st.integers(0, 10_000))
def test_fuzz_structured_equations_long(expr: str, cut: int | None) -> None:
    _structured(expr, cut)
