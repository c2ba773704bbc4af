"""The exported ``_backprop`` rewritten for reading, before latexify prints it (one
``ast.NodeTransformer``): indicators for masks, sums with their axis, sizes, transposes as
superscripts, explicit grouping wherever two different products meet; every name a token
whose LaTeX ``code_view`` puts back."""

from __future__ import annotations

import ast
import re

#: ``numpy.maximum`` -> ``maximum``: the backend's namespace says nothing to a reader.
_MODULES = ("numpy", "jax", "jnp", "torch", "scipy", "math")


class ReadingView(ast.NodeTransformer):
    """Rewrite one exported function into calls whose names the printer then spells out.

    Introduced names (``_ind``, ``_sum_0``, ``_size_0``, ``_group``, ``_t``) are kept in
    ``self.names`` with their LaTeX; every variable of the function gets a token there too,
    so nothing the module chose is pasted into LaTeX unescaped.
    """

    def __init__(self, title: str = "backprop") -> None:
        self.names: dict[str, str] = {}
        self.title = title
        #: names that hold a number, not an array: hyperparameters and sizes
        self.scalars: set[str] = set()

    # --- names
    def token(self, latex: str) -> str:
        """A fresh identifier (letters only) that prints as ``latex``."""
        for tok, tex in self.names.items():
            if tex == latex:
                return tok
        n = len(self.names)
        tok = "qz" + "".join(chr(ord("a") + int(d)) for d in str(n)) + "q"
        self.names[tok] = latex
        return tok

    def call(self, latex: str, *args: ast.expr) -> ast.Call:
        """A call of an introduced name that prints as ``latex``."""
        return ast.Call(
            func=ast.Name(id=self.token(latex), ctx=ast.Load()), args=list(args), keywords=[]
        )

    def visit_Name(self, node: ast.Name) -> ast.Name:
        """Every variable becomes a token that prints as notes write it."""
        return ast.Name(id=self.token(variable_latex(node.id)), ctx=node.ctx)

    def visit_arg(self, node: ast.arg) -> ast.arg:
        """Function arguments too (the header of the algorithm)."""
        return ast.arg(arg=self.token(variable_latex(node.arg)))

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        # keyword-only arguments are the hyperparameters (slope, λ): numbers, and inputs
        # of the algorithm like any other, so the header lists them too
        """The function: its name as a title, its docstring dropped."""
        self.scalars.update(a.arg for a in node.args.kwonlyargs)
        node.args.args = [*node.args.args, *node.args.kwonlyargs]
        node.args.kwonlyargs, node.args.kw_defaults = [], []
        for stmt in ast.walk(node):
            if (
                isinstance(stmt, ast.Assign)
                and isinstance(stmt.value, ast.Subscript)
                and isinstance(stmt.value.value, ast.Attribute)
                and stmt.value.value.attr == "shape"
            ):
                self.scalars.update(t.id for t in stmt.targets if isinstance(t, ast.Name))
        self.generic_visit(node)
        node.name = self.token(self.title)
        node.body = [s for s in node.body if not _is_docstring(s)]
        return node

    # --- NumPy idioms
    def visit_Call(self, node: ast.Call) -> ast.expr:
        """NumPy calls read as maths: an indicator, a sum with its axis, a function."""
        func = node.func
        if isinstance(func, ast.Attribute):
            # (Z > 0).astype(Z.dtype): the indicator of the comparison
            if func.attr == "astype" and isinstance(func.value, ast.Compare):
                return self.call(r"\mathbb{1}", self.visit(func.value))
            # x.astype(Z.dtype) of anything else: a change of number type, not maths
            if func.attr == "astype":
                same: ast.expr = self.visit(func.value)  # typeshed: visit returns Any
                return same
            # numpy.greater(Z, 0): the comparison as maths writes it
            if func.attr in _COMPARISONS and _is_module(func.value) and len(node.args) == 2:
                compare: ast.expr = self.visit(
                    ast.Compare(
                        left=node.args[0], ops=[_COMPARISONS[func.attr]], comparators=[node.args[1]]
                    )
                )
                return compare
            if func.attr == "sum" and not _is_module(func.value):
                return self.reduction(self.visit(func.value), node.keywords)
            if _is_module(func.value):
                if func.attr == "sum" and node.args:
                    return self.reduction(self.visit(node.args[0]), node.keywords)
                args = [self.visit(a) for a in node.args]
                return self.call(_function_latex(func.attr), *args)
            # any other method: obj.reshape(s) -> reshape(obj, s)
            args = [self.visit(func.value), *(self.visit(a) for a in node.args)]
            return self.call(_function_latex(func.attr), *args)
        if isinstance(func, ast.Name):
            args = [self.visit(a) for a in node.args]
            return self.call(_function_latex(func.id), *args)
        # typeshed types generic_visit as returning AST; it returns this expression node
        return self.generic_visit(node)  # type: ignore[return-value]

    def reduction(self, arg: ast.expr, keywords: list[ast.keyword]) -> ast.Call:
        """``numpy.sum(D, axis=0)`` -> a sum along axis 0 (all axes when none is given)."""
        axis = next((k.value for k in keywords if k.arg == "axis"), None)
        if axis is None:
            return self.call(r"\textstyle\sum", arg)
        text = ast.unparse(axis).strip("()").replace(" ", "")
        word = "axes" if "," in text else "axis"
        return self.call(rf"\textstyle\sum_{{\text{{{word} }}{text}}}", arg)

    def visit_Subscript(self, node: ast.Subscript) -> ast.expr:
        # X.shape[0]: the size of X along axis 0
        """``X.shape[0]`` -> the size of X along axis 0."""
        v = node.value
        if isinstance(v, ast.Attribute) and v.attr == "shape":
            axis = ast.unparse(node.slice)
            return self.call(rf"\operatorname{{size}}_{{{axis}}}", self.visit(v.value))
        # typeshed types generic_visit as returning AST; it returns this expression node
        return self.generic_visit(node)  # type: ignore[return-value]

    def visit_Attribute(self, node: ast.Attribute) -> ast.expr:
        """``W.T`` -> ``W^T``; other attributes as functions of their object."""
        if node.attr == "T":  # W.T -> W^T
            return ast.BinOp(  # latexify brackets a compound base itself
                left=self.visit(node.value),
                op=ast.Pow(),
                right=ast.Name(id="T", ctx=ast.Load()),
            )
        if node.attr in ("shape", "dtype"):
            return self.call(rf"\operatorname{{{node.attr}}}", self.visit(node.value))
        return self.call(_function_latex(node.attr), self.visit(node.value))

    # --- grouping: where two different products or a power meet, say which binds first
    def group(self, e: ast.expr) -> ast.expr:
        """Explicit brackets around ``e`` (a call of the empty name)."""
        return self.call("", e)

    def is_scalar(self, e: ast.expr) -> bool:
        """A number, a hyperparameter or a size, or arithmetic of those (not an array)."""
        if isinstance(e, ast.Constant):
            return isinstance(e.value, (int, float)) and not isinstance(e.value, bool)
        if isinstance(e, ast.Name):
            return e.id in self.scalars
        if isinstance(e, ast.UnaryOp):
            return self.is_scalar(e.operand)
        if isinstance(e, ast.BinOp) and not isinstance(e.op, ast.MatMult):
            return self.is_scalar(e.left) and self.is_scalar(e.right)
        return False

    def visit_BinOp(self, node: ast.BinOp) -> ast.expr:
        """Brackets wherever a matrix product and an elementwise product meet."""
        op: ast.operator = node.op
        # a product with a number is a scaling (·), not an elementwise product of arrays (⊙)
        if isinstance(op, ast.Mult) and (self.is_scalar(node.left) or self.is_scalar(node.right)):
            op = SCALE()
        # A ** 2 of an array is the Hadamard power A^{∘2}, not the matrix power A²
        if (
            isinstance(op, ast.Pow)
            and not self.is_scalar(node.left)
            and isinstance(node.right, ast.Constant)
            and isinstance(node.right.value, (int, float))
        ):
            exp = ast.Name(id=self.token(rf"\circ {node.right.value}"), ctx=ast.Load())
            return ast.BinOp(left=self.visit(node.left), op=op, right=exp)
        left, right = self.visit(node.left), self.visit(node.right)
        if isinstance(op, (ast.Mult, ast.MatMult, SCALE)):
            if _is_product(left) and type(left.op) is not type(op):
                left = self.group(left)
            if _is_product(right):
                right = self.group(right)
        return ast.BinOp(left=left, op=op, right=right)


#: the operator a scaling is printed with; ``%`` never occurs in exported code, and
#: latexify gives it the precedence of ``*``
SCALE = ast.Mod

_COMPARISONS: dict[str, ast.cmpop] = {
    "greater": ast.Gt(),
    "greater_equal": ast.GtE(),
    "less": ast.Lt(),
    "less_equal": ast.LtE(),
    "gt": ast.Gt(),
    "ge": ast.GtE(),
    "lt": ast.Lt(),
    "le": ast.LtE(),
}


def _is_docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)


def _is_module(e: ast.expr) -> bool:
    return (
        isinstance(e, ast.Name)
        and e.id in _MODULES
        or (isinstance(e, ast.Attribute) and _is_module(e.value))
    )


def _is_product(e: ast.expr) -> bool:
    return isinstance(e, ast.BinOp) and isinstance(e.op, (ast.Mult, ast.MatMult, SCALE))


_GREEK = {"delta": r"\delta", "alpha": r"\alpha", "lam": r"\lambda", "sigma": r"\sigma"}


def variable_latex(name: str) -> str:
    """``delta1`` -> ``\\delta_{1}``; ``dW1`` -> ``\\mathrm{dW}_{1}``; ``X`` -> ``X``."""
    m = re.fullmatch(r"([A-Za-z]+?)(\d+)", name)
    base, index = (m.group(1), m.group(2)) if m else (name.strip("_"), "")
    base = _GREEK.get(base, base)
    if not base.startswith("\\"):
        base = _escape(base) if len(base) == 1 else rf"\mathrm{{{_escape(base)}}}"
    return f"{base}_{{{index}}}" if index else base


def _function_latex(name: str) -> str:
    plain = name.strip("_")
    known = {
        "log": r"\log",
        "exp": r"\exp",
        "tanh": r"\tanh",
        "sqrt": r"\sqrt",
        "maximum": r"\max",
        "minimum": r"\min",
    }
    return known.get(plain, rf"\operatorname{{{_escape(plain)}}}")


def _escape(text: str) -> str:
    return re.sub(r"([_#$%&{}])", r"\\\1", text)
