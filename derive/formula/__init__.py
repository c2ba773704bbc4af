"""The formula checker: ``derive check`` reads a hand-written backprop formula (LaTeX or
NumPy) and says whether it is the derived one, and if not, what is wrong with it.

A pipeline, one step after another; each module reads top to bottom, and a module only
imports the steps before it (import-linter keeps the package free of cycles)::

    parse         parse.py            the formula -> lark tree (latex.lark, python.lark),
                                      with bounds and carets; user-declared names
                                      (declared.py); which syntax (detect.py); a file's
                                      blocks, a snippet over lines one (file_blocks.py)
                  source_text.py      the text the grammars read: rewrites, each
                                      character's position in the user's text
      words       latex_tokens.py     LaTeX names: symbols, scalars, functions
                  latex_rewrites.py   rewrites before the grammar: decorations, primes, cases
                  latex_euler.py      e^{-z} as exp(-z), where the exponent is no layer's script
                  latex_display.py    the page around a formula: its environment, equation
                                      number, ∀ l; W^T_{l+1}, \\ast, 1_{z > 0}
                  latex_numpy.py      code in maths: np.sum(…, keepdims=True), .^, X if C else 0
                  latex_spellings.py  sgn(x) as |x|', \\vec{1}, m^{-1}, \\nabla_aC
                  latex_leibniz.py    dσ/dz, ∂σ(z)/∂z, d/dx tanh(x) as σ'(z), tanh'(x); ∂a/∂z ⊙
                                      as f'(z)
                  latex_matrices.py   matrices written entry by entry (one convolution's
                                      x, w, y, b), evaluated and compared entry by entry
                  latex_commands.py   TeX's own commands; a page's macro asked to be declared
                  latex_layout.py     a page's layout: labels (Eq 3), an aligned block's rows
                                      (&= …) as one chain, colours, '.' as a product, [g(z)]'
                  latex_layer_letter.py  i for the layer index (W_{i+1}), where it is no entry's
                  latex_goodfellow.py Goodfellow et al.'s letters (a = Z, h = A, g), by macros
                  latex_plain.py      maths typed in Unicode (∂L/∂W₂), ℓ, code names (W2)
    IR            ir.py               the typed IR: one frozen dataclass per node kind
                  layer_indices.py    layer indices (W_2, δ_{l+1}): written, shifted
                  ir_walk.py          walks over it: nodes, replace, renumber, show
                  numbers.py          numbers and layer indices, within bounds
      LaTeX       latex_layers.py     layer indices and letters (o, h: output, hidden)
                  latex_units.py      unit letters for layers (Bishop's δ_j = h'(a_j) Σ_k w_kj δ_k);
                                      a weight's index order read both ways
                  unit_places.py      where unit letters put their units: the weights
                                      joining them, Wikipedia's w_jk where only it fits
                                      (a delta's recursion, x_i in layer 0), Σ_ℓ
                  unit_letter_h.py    Mitchell's δ_h = o_h(1-o_h) Σ_k w_kh δ_k: h a unit
                  latex_funcs.py      function applications: primes, powers, layers
                  latex_scripts.py    symbols, indices, superscripts
                  latex_ellipsis.py   σ'(z_1) w_2 … σ'(z_4): the run filled in
                  latex_ir.py         operators, products: the LaTeX transformer
                  latex_sums.py       its sums: over samples, entries, Σ_{k≠i}, channels
                  latex_conditions.py its masks: max(0, z), z > 0, indicators, cases
                  latex_lhs.py        per-sample sums, update rules, the chain rule
                  latex_output.py     da, dz, a without a layer beside y: the output's;
                                      y_{ij} beside L_i: sample i's entry j
                  latex_hidden.py     x → z → h → o or y: one hidden layer's letters,
                                      unnumbered (d2l, SciML's h̄, z̄, ȳ)
      NumPy       python_nodes.py     half-read pieces (a list not yet indexed, …)
                  snippets.py         the rules of real code: lists, names, layers
                  python_statements.py  several statements -> one formula
                  statement_targets.py  the name each statement assigns; a tuple unpacked
                  python_calls.py     functions, methods, helpers
                  python_activations.py  the activations code names (relu_prime,
                                      sigmoid(z, derivative=True), relu_backward)
                  python_reductions.py  np.sum, np.mean, np.squeeze (an axis by
                                      position or keyword), as NumPy has them
                  python_arrays.py    np.ones((m, 1)) as a ones vector, in NumPy's
                                      orientation
                  python_index.py     subscripts: per-layer lists, dicts and caches by
                                      their keys, masks, labels
                  python_keys.py      keys built from the layer: grads["dW" + str(l)], f"dW{l}"
                  python_grad_attrs.py  fast.ai's .g (inp.g = out.g @ w.t()) in a layer API's names
                  python_ir.py        names, operators: the NumPy transformer
                  numpy_sums.py       np.sum without an axis, as NumPy has it (a number)
                  layer_api.py        CS231n's layer API names (dout, x, dx) by the snippet
                  guesses.py          an unknown name's usual meanings, from its spelling
                  name_rewrites.py    a reading of a name, rewritten into the code
                  role_readings.py    an unknown name by its role: the output minus it is
                                      the targets; d_X ties X (δ_2 for d_l2: l2 is Z_2)
                  layer_names.py      P, γ, β, the norm stages, the mask: both readers' names
    quantity      quantity.py         what the left-hand side names
    resolve       limits.py           the budget of one check; ShapeMismatch, TooComplex
                  algebra.py          the operations with shapes checked, broadcasting
                  ir_products.py      a product's IR: diag(v) M as v ⊙ M, σ(z)(1 − σ(z))
                  symbols.py          the symbols of one network and layer l
                  applied_functions.py  its functions: activations, f, g, σ, softmax
                  forwards.py         f(W_1 X + b_1): Z_1 written out, the layer's f
                  feature_maps.py     rot180, pooling, flatten, sliding products, helpers
                  products.py         products and their readings (DP over spans)
                  reductions.py       sums over samples or channels, masks, where, quotients
                  resolve.py          IR -> every shape-consistent SymPy reading
                  nodes.py            the checker's own SymPy nodes (rot180, …)
    equivalence   networks.py         symbolic widths, the derivations, random trials
                  indexed.py          index forms (CNN notes, dense units), on grids
                  index_layout.py     each symbol's written and implicit axes
                  run.py              one check's context (Run), passed to every stage
                  equivalence.py      structurally equal, else numerically on random widths
                  derivative_rules.py f'(x) = …: an activation's derivative, per layer
                  local_rules.py      ∂a/∂z = a(1 − a): the same rule, as a chain-rule step
    diagnose      cnn_mutations.py    the CNN mistakes, undone one at a time
                  factor_mutations.py a layer's derivative factor: not f', at A, shifted
                  dense_mutations.py  masks, sums, squares, decay, softmax, swapped indices
                  layer_mutations.py  a residual skip's term missing, dropout's 1/p missing
                  missing_factors.py  a derivative factor written once, missing elsewhere
                  slip_mutations.py   σ_2 Xc_2 as the sigmoid; f' at the error; a bias as dW
                  mutations.py        the usual mistakes, undone one at a time
                  diagnose.py         which to try first; two at once
    answer        answer.py           the verdict (CheckResult), the derived formula in
                                      the user's notation
                  user_names.py       a NumPy diagnosis in the user's names (delta1, not
                                      dZ1; error (dZ2) for a name read by its spelling)
    verdict       numberings.py       the other numberings of layers; which the shapes
                                      rule out
                  readings.py         the other readings of a wrong formula: layers
                                      numbered otherwise, one sample, 1×1 layers
                  network_variants.py the network with 1×1 layers or one sample; a
                                      formula read as numbers
                  name_readings.py    the guessed readings tried; "cannot tell" when they
                                      disagree
                  reading_doubts.py   readings that fit and give no verdict: a and z in
                                      doubt, right only at the last layer
                  local_derivatives.py  names spelling ∂X/∂Y (d_a_h__d_z_h): f'(Z),
                                      never a loss gradient unless X is the loss
                  stored_transposed.py  shapes that do not fit: labels or input stored
                                      the other way, else no verdict
                  stored_other_way.py  right only with them stored the other way:
                                      no verdict, whatever mistake would fit
                  side_by_side.py     factors side by side: a matrix product or ⊙ unwritten
                  snippet_check.py    a snippet: every quantity it assigns judged
                  snippet_own_names.py  its own names for intermediates (delta2 = ∂C/∂a²)
                  derivative_defs.py  def tanh_d(x): … judged by its body, its parameter as
                                      Z and as A at the layers its name's activation has
                  snippet_statements.py  its statements: where each ends, what it
                                      assigns
                  python_unpack.py    a tuple unpacked from Ng's backward helpers, as
                                      their documented returns
                  return_lines.py     the one value a snippet returns, and the snippet
                                      with it assigned (returns.py names its kind)
                  layer_code.py       a layer class's or backward function's parts (its
                                      name, the gradient arriving, forward, body, returns)
                  layer_rewrite.py    that code over one step's program names
                  layer_vjp.py        judged as the step's vector-Jacobian product (each
                                      step that fits; "cannot tell" where they disagree)
                  layer_loss.py       a loss layer's backward (MSE, SoftmaxWithLoss): the
                                      network's ∂L/∂A_L or δ_L
                  python_helpers.py   a helper named after an activation (applySigmoid),
                                      in its usual definitions (python_args.py: call
                                      arguments as text)
                  output_letters.py   o, f, p, net (the output's scores, its probabilities,
                                      a unit's net input)
                                      read where one reading fits, else "cannot tell"
                  letter_clash.py     a letter the network names (dropout's p) read as
                                      the output's too: "cannot tell" where they disagree
                  delta_error.py      δ_k beside its own f'(z_k): δ as a − y (some pages'),
                                      "cannot tell" where the readings disagree
                  one_sample.py       L_i, E_n on the left of a batch network: checked
                                      on one sample
                  rhs_alone.py        a LaTeX right-hand side alone: the one derived
                                      quantity it equals, else --quantity asked for
                  correct_notes.py    what a right formula is told too (relu'(A), keepdims)
                  verdict_as_read.py  the formula as read: each side judged, diagnosed
                  check.py            Checker.check: one Run per call

Forward programs (``derive check PROGRAM``) take a shorter road over the program's own
grammar and builder::

    program_lines.py     the snippet's logical lines, the names it may use
    program_bindings.py  names bound from the program, its cache, unpacking, a[i] = v
    program_snippet.py   the snippet's statements run over the program's builder
    program_branches.py  its ``if mode == 'train':`` chain read for the program's mode
    program_sublayers.py its sub-layer calls (self.layer.backward(d): the step's VJP) and
                         ``if self.projection:`` read for the program's [sublayers]
    program_slips.py     the usual slips of a snippet, each with its repair
    step_slips.py        an activation's backward: a step's value for another, dout left out
    program_points.py    the program's values and the snippet's at two random points
    numpy_bools.py       boolean arithmetic NumPy refuses ((a > 0) - (a < 0)): no verdict
    program_check.py     every gradient or stage it assigns, compared numerically at two
                         points
    program_judge.py     equal within its tolerance at every point; what a diagnosis asks
    program_diagnose.py  a wrong one explained (shape, factor, a chain-rule term missing,
                         a Jacobian forgotten or cut to its diagonal, a slip)
    branch_factors.py    a factor both branches of a mask share, and one a branch has besides
    program_jacobians.py a step's Jacobian left out upstream of the judged gradient
    program_latex.py     LaTeX over the program's names (program_latex.lark), time steps
                         t, t+1, T, h^{(t)} kept symbolic; Jacobian sides set apart
    program_latex_steps.py  its step indices (t+1, T, a sum's T+t-i, a power's T-i)
    program_latex_write.py  its tree written out as NumPy at one step t = k
    program_latex_names.py  names an equation gives its result (… = ζ_1), read after it
    program_latex_check.py  judged at every step where its names exist, as a snippet
    program_latex_chain.py  a chain-rule product of Jacobians read as VJPs from the gradient
    program_latex_jacobian.py  an equation of Jacobians applied to the numerator's gradient
    program_latex_index.py  an entry-wise formula in index notation, entry by entry
    program_latex_diagnose.py  its mistakes in time-step words: f'(a) at the activation,
                         the gradient from step t+1 not summed in, a name one step off,
                         diag(v) on the wrong side, the softmax Jacobian's diagonal only

A convolution's or pooling's backward pass written as NumPy loops over windows (CS231n's
naive layers, Ng's conv_backward and pool_backward) is run, not read as a formula::

    window_lines.py      its statements, one line at a time (window.lark: python.lark with
                         ==, //, stepped slices); indentation gives loop bodies
    window_loops.py      run over NumPy values with NumPy's indexing, bounded
    window_ops.py        the NumPy functions, operators and comparisons it may call
    window_layers.py     each conv/pool layer at its sizes (a small batch) or small ones,
                         its names in NCHW and NHWC, the gradients of its backward rule
    window_run.py        one reading: the snippet run on one layer in one layout
    window_slips.py      the gradients the usual slips give; a factor; where it differs
    window_check.py      every reading that runs compared with the rule; the verdict
"""
