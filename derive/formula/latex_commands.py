"""The commands of TeX, LaTeX and amsmath a formula may use, and the error for one that
is none of them (the page's own macro) or for a matrix written entry by entry."""

from __future__ import annotations

import re

#: The commands of TeX, LaTeX and amsmath a formula may use (Greek letters aside). A
#: command outside them where the grammar stops is the page's own macro (``\Wmatr``,
#: ``\batch``): only its page says what it stands for, so the user is asked to declare it.
_STANDARD_WORDS = """
    frac dfrac tfrac partial nabla sum prod int cdot cdots ldots dots vdots ddots odot
    otimes oplus circ times bullet star ast div pm mp left right big Big bigg Bigg bigl bigr
    Bigl Bigr biggl biggr mathbf mathrm mathit mathcal mathbb mathsf mathtt mathds mathscr
    mathfrak boldsymbol bm vec hat widehat tilde widetilde bar overline underline dot ddot
    text textbf textit texttt textrm operatorname begin end sqrt log ln exp tanh sinh cosh
    sech sin cos max min arg argmax lim sup inf quad qquad displaystyle textstyle
    scriptstyle top intercal prime ell in notin leq geq le ge neq ne approx equiv sim propto
    to rightarrow leftarrow gets mapsto longrightarrow Rightarrow implies iff forall exists
    cdotp colon coloneqq therefore because mid vert Vert lvert rvert lVert rVert langle
    rangle lceil rceil lfloor rfloor infty cal bf rm it tag label nonumber notag limits
    nolimits substack stackrel overset underset hspace vspace mbox hbox phantom mathop det
    tr diag cup cap subset subseteq emptyset oslash ominus llbracket rrbracket ind one cases
    otherwise
"""
_STANDARD = frozenset(_STANDARD_WORDS.split())
_GREEK_WORDS = """
    alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu
    nu xi pi varpi rho varrho sigma varsigma tau upsilon phi varphi chi psi omega Gamma
    Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega
"""
_GREEK = frozenset(_GREEK_WORDS.split())


_MATRIX_ENV = re.compile(r"\\begin\s*\{\s*([pbvBV]?matrix|array)\s*\}")


def macro_hint(word: str, rest: str = "") -> str | None:
    """The error for a command the grammar stops at that is no TeX command (the page's
    own macro), or for a matrix written entry by entry (``rest``: the text from the
    command on); None for a standard one (its ordinary error stands)."""
    env = _MATRIX_ENV.match(rest)
    if word == "\\begin" and env is not None:
        return (
            f"a matrix written entry by entry (\\begin{{{env.group(1)}}}) is not read: write "
            "the formula in matrix form (e.g. \\delta_2 = A_2 - Y), or one entry with its "
            "indices (\\delta_{2,j} = a_{2,j} - y_j)"
        )
    name = word[1:]
    if not word.startswith("\\") or not name.isalpha() or name in _STANDARD | _GREEK:
        return None
    return (
        f"unknown command '{word}': a macro of the page the formula comes from? Declare "
        f"what it stands for, e.g. --symbol '{word}=W' if it is W (one name such as W, "
        "\\delta or m, or a font such as \\mathbf; [notation.symbols] in a spec)"
    )
