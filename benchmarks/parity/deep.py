"""Deep twins: ADAPT's estimator and ours from the same initial weights, with the same objective and steps.

Each function is `(problem, seed, **options) -> predict`, `predict(x)` the
class probabilities; the harness times the call (network building, dataset
and `fit`) and evaluates `predict` outside the timing. ADAPT gets one-hot
labels and `categorical_crossentropy`, ours class ids and
`sparse_categorical_crossentropy` (the same loss). Neither side compiles
metrics (ADAPT's own `acc` reads 0 on Keras 3).
"""

import keras
import numpy as np

import keras_transfer as kt
from benchmarks.parity import problems


def _adapt_fit(model, problem):
    model.fit(problem.x_source, problems.one_hot(problem), epochs=problem.epochs, batch_size=problem.batch, verbose=0)
    return lambda x: model.predict(x, batch_size=1024, verbose=0)


def _ours_fit(model, problem, seed, callbacks=()):
    model.compile(keras.optimizers.Adam(problem.learning_rate), "sparse_categorical_crossentropy")
    data = kt.data.domain_adaptation_dataset(source=(problem.x_source, problem.y_source), target=problem.x_target,
                                             batch_size=problem.batch, seed=seed)
    model.fit(data, epochs=problem.epochs, verbose=0, callbacks=list(callbacks))
    return lambda x: model.predict(x, batch_size=1024, verbose=0)


def _with_weights(head, discriminator, input_shape):
    """Our domain head, built and given the ADAPT discriminator's initial weights (same shapes)."""
    head.build(input_shape)
    for variable, value in zip(head.trainable_weights, discriminator.get_weights(), strict=True):
        variable.assign(value)
    return head


def _adapt_kwargs(problem, seed):
    return dict(Xt=problem.x_target, optimizer=keras.optimizers.Adam(problem.learning_rate),
                loss="categorical_crossentropy", random_state=seed, verbose=0)


# ----------------------------------------------------------------------------- DANN
def adapt_dann(problem, seed, lambda_=1.0):
    from adapt.feature_based import DANN

    enc, head, disc = problems.networks(problem, seed, discriminator_inputs=64)
    model = DANN(encoder=enc, task=head, discriminator=disc, lambda_=lambda_, **_adapt_kwargs(problem, seed))
    return _adapt_fit(model, problem)


def dann_model(encoder, task, discriminator, lambda_):
    """Ours with ADAPT's DANN objective, the discriminator's weights copied into our head: ADAPT's domain loss is
    the sum over the two domains (twice our mean), so `alignment_weight=2`; constant lambda (no schedule); one
    encoder pass per domain. `tests/benchmarks/test_adapt_parity.py` checks that one SGD step of both moves every
    weight alike."""
    hidden = discriminator.layers[0].units
    head = _with_weights(kt.layers.DomainAdversarialHead((hidden,), lambda_=lambda_), discriminator,
                         (None, encoder.output_shape[-1]))
    return kt.models.DomainAdaptationModel(encoder, task, head, alignment_weight=2.0, joint_forward=False)


def ours_dann(problem, seed, lambda_=1.0):
    enc, head, disc = problems.networks(problem, seed, discriminator_inputs=64)
    return _ours_fit(dann_model(enc, head, disc, lambda_), problem, seed)


# ----------------------------------------------------------------------------- CDAN
def adapt_cdan(problem, seed, lambda_=1.0):
    from adapt.feature_based import CDAN

    enc, head, disc = problems.networks(problem, seed, discriminator_inputs=64 * problem.num_classes)
    model = CDAN(encoder=enc, task=head, discriminator=disc, lambda_=lambda_, entropy=True,
                 **_adapt_kwargs(problem, seed))
    return _adapt_fit(model, problem)


def ours_cdan(problem, seed, lambda_=1.0, prediction_gradient=False):
    """CDAN+E with the exact multilinear map (ADAPT's too below 4,096 dimensions); ADAPT normalises the entropy
    weights within each domain and halves them, which is our weighted per-domain mean: `alignment_weight=1`."""
    enc, head, disc = problems.networks(problem, seed, discriminator_inputs=64 * problem.num_classes)
    alignment = _with_weights(kt.layers.ConditionalDomainAdversarialHead(
        (64,), lambda_=lambda_, prediction_gradient=prediction_gradient), disc,
                              [(None, 64), (None, problem.num_classes)])
    model = kt.models.DomainAdaptationModel(enc, head, alignment, alignment_weight=1.0, joint_forward=False)
    return _ours_fit(model, problem, seed)


# ----------------------------------------------------------------------------- DeepCORAL
def adapt_deepcoral(problem, seed, lambda_=1.0):
    from adapt.feature_based import DeepCORAL

    enc, head, _ = problems.networks(problem, seed)
    model = DeepCORAL(encoder=enc, task=head, lambda_=lambda_, match_mean=False, **_adapt_kwargs(problem, seed))
    return _adapt_fit(model, problem)


def ours_coral(problem, seed, lambda_=1.0):
    """`CORAL()` is ADAPT's `0.25 * mean((C_s - C_t)^2)` (unbiased covariances) at `alignment_weight=lambda_`."""
    enc, head, _ = problems.networks(problem, seed)
    model = kt.models.DomainAdaptationModel(enc, head, kt.losses.CORAL(), alignment_weight=lambda_,
                                            joint_forward=False)
    return _ours_fit(model, problem, seed)


# ----------------------------------------------------------------------------- MMD (no twin: ADAPT's fMMD)
def adapt_fmmd(problem, seed, kernel="linear"):
    """ADAPT's fMMD (input-feature selection minimising a linear-kernel MMD, float64), then the same network
    trained on the source with the selected features only (the others zeroed)."""
    from adapt.feature_based import fMMD

    flat = lambda x: np.asarray(x, "float64").reshape(len(x), -1)  # noqa: E731
    selector = fMMD(Xt=flat(problem.x_target), kernel=kernel, random_state=seed, verbose=0)
    selector.fit_transform(flat(problem.x_source), flat(problem.x_target))
    mask = selector.selected_features_.reshape(problem.x_source.shape[1:]).astype("float32")
    predict = source_only(problem, seed, x_source=problem.x_source * mask)
    return lambda x: predict(x * mask)


def ours_fmmd(problem, seed, kernel="linear"):
    """`MMDFeatureSelection` (closed form with the linear kernel), then the same network as `adapt_fmmd`."""
    selector = kt.domain_adaptation.MMDFeatureSelection(kernel=kernel).fit(problem.x_source, problem.x_target)
    mask = selector.selected_features_.reshape(problem.x_source.shape[1:]).astype("float32")
    predict = source_only(problem, seed, x_source=problem.x_source * mask)
    return lambda x: predict(x * mask)


def ours_mmd(problem, seed, weight=1.0):
    enc, head, _ = problems.networks(problem, seed)
    model = kt.models.DomainAdaptationModel(enc, head, kt.losses.MMD(), alignment_weight=weight, joint_forward=False)
    return _ours_fit(model, problem, seed)


# ----------------------------------------------------------------------------- baseline
def source_only(problem, seed, x_source=None, sample_weight=None):
    """The shared network on the labelled source alone (`sample_weight`: the instance-based methods' fit)."""
    enc, head, _ = problems.networks(problem, seed)
    model = keras.Sequential([enc, head])
    model.compile(keras.optimizers.Adam(problem.learning_rate), "sparse_categorical_crossentropy")
    model.fit(problem.x_source if x_source is None else x_source, problem.y_source, sample_weight=sample_weight,
              epochs=problem.epochs, batch_size=problem.batch, verbose=0)
    return lambda x: model.predict(x, batch_size=1024, verbose=0)
