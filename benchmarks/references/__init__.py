"""Hand-written references of the package's training paths, for `benchmarks/suite/overhead.py`.

Each module writes, in plain Keras (a `keras.Model` subclass with its own
`train_step`, no `keras_transfer` code in the step), the same math as one
package path, and builds the pair `(package, reference)` from the same
sub-models and initial weights. `_harness.py` checks that the two train to
the same weights and times them per step, alternating.
"""
