"""`steps_per_execution=4` trains every package model exactly as `steps_per_execution=1`.

Each case builds its model twice from the same seed, compiles one with
`steps_per_execution=1` and one with `4` (same optimizer config), fits 2 epochs
of 8 steps on the same unshuffled data, and compares the final weights and the
last epoch's logs. Random draws inside the step (dropout, FixMatch's
augmentations, the generators' noise) come from the models' seed-state
variables, so both runs draw the same numbers.

No callback here acts on single batches. Those that do
(`GradientReversalSchedule`, `FreezeSchedule(unit="step")`) run once per
execution of `steps_per_execution` steps: that is asserted in
tests/domain_adaptation/test_gradient_reversal_schedule.py
(`test_steps_per_execution`), not repeated here.
"""

import keras
import numpy as np
import pytest

import keras_transfer as kt

STEPS = 8  # per epoch
BATCH = 8
EPOCHS = 2
TOLERANCE = {"rtol": 1e-5, "atol": 1e-5}

RNG = np.random.default_rng(0)
VECTORS = RNG.normal(size=(STEPS * BATCH, 6)).astype("float32")
TARGET_VECTORS = RNG.normal(1.0, 1.0, size=(STEPS * BATCH, 6)).astype("float32")
LABELS = np.arange(STEPS * BATCH) % 3
IMAGES = RNG.uniform(0, 255, (STEPS * BATCH, 8, 8, 1)).astype("float32")
UNLABELED = RNG.uniform(0, 255, (STEPS * BATCH, 8, 8, 1)).astype("float32")


# === Tiny models ===

def _dense_features(dropout=0.0):
    layers = [keras.Input((6,)), keras.layers.Dense(8, activation="relu"), keras.layers.BatchNormalization()]
    if dropout:
        layers.append(keras.layers.Dropout(dropout))
    return keras.Sequential(layers, name="features")


def _dense_classifier(inputs=8, activation="softmax"):
    return keras.Sequential([keras.Input((inputs,)), keras.layers.Dense(3, activation=activation)], name="classifier")


def _image_classifier(classes=3):
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Rescaling(1 / 255.0)(inputs)
    x = keras.layers.Conv2D(4, 3, activation="relu")(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(classes, activation="softmax", name="predictions")(x))


def _label_generator(classes=3, latent_dim=2):
    """`(z, y) -> x` painting `255 * y @ W`: pixels ignore `z` (deterministic)."""
    z, y = keras.Input((latent_dim,)), keras.Input((classes,))
    x = keras.layers.Reshape((8, 8, 1))(keras.layers.Dense(64, use_bias=False, name="paint")(y))
    model = keras.Model([z, y], x)
    model.get_layer("paint").set_weights([np.random.default_rng(1).uniform(0, 255, (classes, 64)).astype("float32")])
    return model


def _small_build_classifier():
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Rescaling(1 / 255.0)(inputs)
    x = keras.layers.Conv2D(4, 3, name="conv1")(x)
    x = keras.layers.BatchNormalization(name="bn1")(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.Conv2D(8, 3, activation="relu", name="conv2")(x)
    backbone = keras.Model(inputs, x, name="small")
    return kt.build_classifier(backbone, 3, input_shape=(8, 8, 1), freeze=True, hidden_units=(8,))


def _compile(model, steps_per_execution, jit_compile=False, loss="sparse_categorical_crossentropy", metrics=True):
    kwargs = {"loss": loss} if loss is not None else {}
    if metrics:
        kwargs["metrics"] = ["accuracy"]
    model.compile(keras.optimizers.Adam(1e-2), steps_per_execution=steps_per_execution, jit_compile=jit_compile,
                  **kwargs)


# === One case per model: build, compile, fit; returns (model whose weights compare, history) ===

def _domain_adaptation(alignment, jit_compile=False, regularizers=lambda: None, target=True, labelled=False):
    def case(spe):
        model = kt.models.DomainAdaptationModel(_dense_features(), _dense_classifier(), alignment=alignment(),
                                                regularizers=regularizers())
        _compile(model, spe, jit_compile=jit_compile)
        data = kt.data.domain_adaptation_dataset(
            source=(VECTORS, LABELS), target=TARGET_VECTORS if target else None, batch_size=BATCH, shuffle=False,
            labelled_target=(TARGET_VECTORS[:12], LABELS[:12]) if labelled else None)
        return model, model.fit(data, epochs=EPOCHS, verbose=0)

    return case


def _mcd(spe):
    model = kt.models.MCDModel(_dense_features(dropout=0.5), _dense_classifier(), generator_steps=2)
    _compile(model, spe)
    data = kt.data.domain_adaptation_dataset(source=(VECTORS, LABELS), target=TARGET_VECTORS, batch_size=BATCH,
                                             shuffle=False)
    return model, model.fit(data, epochs=EPOCHS, verbose=0)


def _fixmatch(spe):
    model = kt.ssl.FixMatch(_image_classifier(), threshold=0.0, unlabeled_ratio=1, seed=0)
    _compile(model, spe, loss="auto")
    return model, model.fit((IMAGES, UNLABELED), LABELS, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0)


def _pssl(spe):
    pseudo = kt.layers.PseudoSSLGenerator(_label_generator(), _image_classifier(), seed=0)
    model = kt.ssl.FixMatch(_image_classifier(), pseudo_generator=pseudo, threshold=0.0, unlabeled_ratio=1, seed=0)
    _compile(model, spe, loss="auto")
    return model, model.fit(IMAGES, LABELS, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0)


def _distiller(label_space):
    def case(spe):
        teacher = _image_classifier(4 if label_space == "auxiliary" else 3)
        model = kt.distill.Distiller(_image_classifier(), teacher, label_space=label_space)
        _compile(model, spe, loss="auto")
        return model, model.fit(IMAGES, LABELS, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0)

    return case


def _pseudo_pretrainer(spe):
    model = kt.generative.PseudoPretrainer(_image_classifier(), _label_generator(), seed=0)
    _compile(model, spe, loss="auto")
    return model, model.fit(batch_size=BATCH, steps_per_epoch=STEPS, epochs=EPOCHS, verbose=0)


def _conditional_vae(spe):
    model = kt.generative.ConditionalVAE((8, 8, 1), 3, latent_dim=2, filters=(4, 4), hidden_units=8, seed=0)
    _compile(model, spe, loss=None, metrics=False)
    return model, model.fit(IMAGES, LABELS, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0)


def _l2sp(spe):
    model = kt.regularizers.apply_l2sp(_small_build_classifier(), alpha=0.01, beta=0.01)
    _compile(model, spe)
    return model, model.fit(IMAGES, LABELS, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0,
                            callbacks=[kt.callbacks.FreezeSchedule({1: "all"})])


def _freeze_schedule_discriminative_lr(spe):
    model = _small_build_classifier()
    _compile(model, spe)
    callbacks = [kt.callbacks.FreezeSchedule({1: "all"}), kt.callbacks.DiscriminativeLR(decay=0.5)]
    history = model.fit(IMAGES, LABELS, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0, callbacks=callbacks)
    assert isinstance(model.optimizer, kt.optimizers.GroupOptimizer)
    return model, history


def _shot(spe):
    model = kt.test_time.SHOT(_dense_features(), _dense_classifier(activation=None))
    model.compile(keras.optimizers.Adam(1e-2), steps_per_execution=spe, jit_compile=False)
    return model, model.fit(TARGET_VECTORS, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0)


def _ssl_learner(cls, **options):
    def case(spe):
        model = cls(_image_classifier(), unlabeled_ratio=1, seed=0, **options)
        _compile(model, spe, loss="auto")
        return model, model.fit((IMAGES, UNLABELED), LABELS, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0)

    return case


def _source_and_target():
    """Two classifiers sharing the `_dense_features` trunk: a 4-class source and a 3-class target."""
    trunk = _dense_features(dropout=0.5)
    source = keras.Sequential([trunk, keras.layers.Dense(4, activation="softmax", name="source_predictions")])
    target = keras.Sequential([trunk, keras.layers.Dense(3, activation="softmax", name="predictions")])
    return source, target


def _penalty_model(kind):
    def case(spe):
        source, target = _source_and_target()
        if kind == "lwf":
            model = kt.models.LwFModel(target, source)
        elif kind == "co_tuning":
            relationship = kt.regularizers.category_relationship(source, VECTORS, LABELS)
            model = kt.models.CoTuningModel(target, source.layers[-1], relationship)
        elif kind == "bss":
            model = kt.models.BSSModel(target, eta=0.01, k=2)
        else:
            model = kt.models.DELTAModel(target, alpha=0.1, beta=0.01)
        _compile(model, spe)
        return model, model.fit(VECTORS, LABELS, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0)

    return case


def _stochnorm(spe):
    model = kt.regularizers.apply_stochnorm(_image_classifier(), p=0.5)
    _compile(model, spe)
    return model, model.fit(IMAGES, LABELS, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0)


def _adversarial(cls, **options):
    """WDGRL or ADDA (the adversary's own optimizer), on the DomainAdaptationModel data."""

    def case(spe):
        model = cls(_dense_features(), _dense_classifier(), **options)
        _compile(model, spe)
        data = kt.data.domain_adaptation_dataset(source=(VECTORS, LABELS), target=TARGET_VECTORS, batch_size=BATCH,
                                                 shuffle=False)
        return model, model.fit(data, epochs=EPOCHS, verbose=0)

    return case


CASES = {
    "DomainAdaptationModel (DANN, dropout)": _domain_adaptation(
        lambda: kt.layers.DomainAdversarialHead((8,), dropout=0.5)),
    "DomainAdaptationModel (DANN, dropout, jit_compile)": _domain_adaptation(
        lambda: kt.layers.DomainAdversarialHead((8,), dropout=0.5), jit_compile=True),
    "DomainAdaptationModel (CDAN)": _domain_adaptation(lambda: kt.layers.ConditionalDomainAdversarialHead((8,))),
    "DomainAdaptationModel (MMD)": _domain_adaptation(kt.losses.MMD),
    "DomainAdaptationModel (CORAL)": _domain_adaptation(kt.losses.CORAL),
    "DomainAdaptationModel (JMMD)": _domain_adaptation(kt.losses.JMMD),
    "DomainAdaptationModel (no alignment; BSP, MCC, AFN, entropy)": _domain_adaptation(
        lambda: None, regularizers=lambda: [kt.losses.BSP(weight=0.01), kt.losses.MCC(), kt.losses.AFN(),
                                            kt.losses.TargetEntropy()]),
    "DomainAdaptationModel (MDD)": _domain_adaptation(lambda: kt.layers.MarginDisparityHead((8,))),
    "MCDModel": _mcd,
    "DomainAdaptationModel (DANN, labelled target)": _domain_adaptation(
        lambda: kt.layers.DomainAdversarialHead((8,)), labelled=True),
    "DomainAdaptationModel (CCSA)": _domain_adaptation(kt.losses.ContrastiveSemanticAlignment, target=False,
                                                       labelled=True),
    "FixMatch (augmentations)": _fixmatch,
    "FixMatch + PseudoSSLGenerator": _pssl,
    "Distiller (shared)": _distiller("shared"),
    "Distiller (auxiliary)": _distiller("auxiliary"),
    "PseudoPretrainer": _pseudo_pretrainer,
    "ConditionalVAE": _conditional_vae,
    "L2SPModel + FreezeSchedule": _l2sp,
    "build_classifier + FreezeSchedule + DiscriminativeLR (GroupOptimizer)": _freeze_schedule_discriminative_lr,
    "SHOT": _shot,
    "PseudoLabel": _ssl_learner(kt.ssl.PseudoLabel, threshold=0.0, rampup_steps=4),
    "MeanTeacher": _ssl_learner(kt.ssl.MeanTeacher, rampup_steps=4),
    "UDA": _ssl_learner(kt.ssl.UDA, threshold=0.0),
    "FlexMatch": _ssl_learner(kt.ssl.FlexMatch, threshold=0.5),
    "LwFModel": _penalty_model("lwf"),
    "CoTuningModel": _penalty_model("co_tuning"),
    "BSSModel": _penalty_model("bss"),
    "DELTAModel": _penalty_model("delta"),
    "apply_stochnorm (StochNorm)": _stochnorm,
    "WDGRL (interpolation weights drawn in the step)": _adversarial(kt.models.WDGRL, critic_steps=2, seed=0),
    "ADDA": _adversarial(kt.models.ADDA),
}


def _run(case, spe):
    keras.backend.clear_session()
    keras.utils.set_random_seed(7)
    model, history = case(spe)
    assert model.steps_per_execution == spe
    assert int(model.optimizer.iterations.numpy()) == EPOCHS * STEPS
    return [np.array(v) for v in model.weights], {k: v[-1] for k, v in history.history.items()}


# `large` (skipped by default), to keep this file under 90 s on 2 cores: variants of models
# the default run covers, drawing their random numbers the same way.
LARGE = {"FixMatch + PseudoSSLGenerator", "Distiller (shared)", "DomainAdaptationModel (MDD)", "FlexMatch", "UDA"}


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.large) if n in LARGE else n for n in CASES])
def test_four_steps_per_execution_train_as_one(name):
    weights_1, logs_1 = _run(CASES[name], 1)
    weights_4, logs_4 = _run(CASES[name], 4)
    assert len(weights_1) == len(weights_4)
    for i, (a, b) in enumerate(zip(weights_1, weights_4)):
        np.testing.assert_allclose(b, a, err_msg=f"weight {i}", **TOLERANCE)
    assert sorted(logs_4) == sorted(logs_1)
    for key in logs_1:
        np.testing.assert_allclose(logs_4[key], logs_1[key], err_msg=key, **TOLERANCE)


def test_tent_predicts_and_adapts_the_same_with_four_steps_per_execution():
    def run(spe):
        keras.backend.clear_session()
        keras.utils.set_random_seed(7)
        tent = kt.test_time.TENT(keras.Sequential([
            keras.Input((6,)), keras.layers.Dense(6), keras.layers.BatchNormalization(), keras.layers.ReLU(),
            keras.layers.Dense(3, activation="softmax"),
        ]), optimizer=keras.optimizers.Adam(0.05), steps=2)
        tent.compile(steps_per_execution=spe, jit_compile=False)
        predictions = tent.predict(3.0 * TARGET_VECTORS, batch_size=BATCH, verbose=0)  # 8 batches
        return predictions, [np.array(v) for v in tent.weights]

    predictions_1, weights_1 = run(1)
    predictions_4, weights_4 = run(4)
    np.testing.assert_allclose(predictions_4, predictions_1, **TOLERANCE)
    for a, b in zip(weights_1, weights_4):
        np.testing.assert_allclose(b, a, **TOLERANCE)


class _StageRecorder(keras.callbacks.Callback):
    def __init__(self, schedule):
        super().__init__()
        self.schedule, self.seen = schedule, []

    def on_train_batch_begin(self, batch, logs=None):
        self.seen.append((int(self.model.optimizer.iterations.numpy()), self.schedule.stage))


def test_a_freeze_schedule_by_steps_acts_once_per_execution():
    # As GradientReversalSchedule (tests/domain_adaptation/test_gradient_reversal_schedule.py,
    # `test_steps_per_execution`): Keras calls batch hooks once per execution, so a stage
    # due at step 5 starts with the execution that begins at step 8.
    keras.utils.set_random_seed(7)
    model = _small_build_classifier()
    _compile(model, 4)
    schedule = kt.callbacks.FreezeSchedule({5: "all"}, unit="step")
    recorder = _StageRecorder(schedule)
    model.fit(IMAGES, LABELS, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0, callbacks=[schedule, recorder])
    assert recorder.seen == [(0, 0), (4, 0), (8, 1), (12, 1)]
