"""Every strategy trained under `MirroredStrategy` (two logical CPUs) matches one device.

Each check creates and compiles the model inside `strategy.scope()` (fit is
called outside it, as Keras allows), trains it on a small deterministic case
with the same global batch as a single-device run, and compares every
weight. Two replicas see one half of each batch each, so a loss that is
averaged per replica and then summed, or normalised by a per-replica count,
shows here as a weight difference.

Not duplicated here (already on main): FreezeSchedule + DiscriminativeLR
(`tests/fine_tuning/test_distributed.py`), L2-SP
(`tests/regularizers/test_distributed.py`), DANN
(`tests/domain_adaptation/test_distributed.py`), few-shot heads
(`tests/few_shot/test_distributed.py`).

The parity cases have no Dropout and no BatchNormalization in training mode
(per-replica statistics: see `test_per_replica_statistics.py`). Random
augmentation and generator noise are included: the package's layers draw
one slice of a `(replicas, batch, ...)` draw per replica
(`keras_transfer/models/_replicas.py`), which for an evenly split batch is the same
numbers as one device drawing the whole batch.
"""

import textwrap

import pytest

from tests.distributed import run_distributed

# Shared by the bodies below: trains `make()` (created and compiled in `scope`)
# with `fit(model)`, on two replicas and on one device, from the same seed.
HELPERS = """
import contextlib
import time

def weights_of(model):
    return [v.numpy() for v in model.weights]

def max_difference(a, b):
    assert len(a) == len(b), (len(a), len(b))
    return max(float(np.abs(x - y).max()) for x, y in zip(a, b))

def parity(name, make, fit, compile_kwargs=None, tolerance=1e-5):
    # `compile_kwargs`: a function returning `compile`'s arguments (a fresh optimizer per run).
    runs, start = [], time.time()
    for scope in (strategy.scope(), contextlib.nullcontext()):
        keras.utils.set_random_seed(7)
        with scope:
            model = make()
            model.compile(**(compile_kwargs() if compile_kwargs else {"optimizer": keras.optimizers.SGD(0.1)}),
                          jit_compile=False)
        before = weights_of(model)
        history = fit(model).history
        runs.append((model, before, weights_of(model), history))
    (mirrored, before, after, history), (_, _, single_after, single_history) = runs
    worst = max_difference(after, single_after)
    moved = max_difference(after, before)
    print(name, "max weight difference", worst, "moved", moved, "seconds", round(time.time() - start, 1))
    assert moved > 1e-3, (name, "training changed nothing", moved)
    assert worst < tolerance, (name, worst)
    for key, values in history.items():
        assert np.allclose(values, single_history[key], rtol=1e-4, atol=1e-6), (name, key, values, single_history[key])
    return mirrored, history

CHECKS = {}

def check(function):
    CHECKS[function.__name__] = function
    return function
"""


CLASSIFIER = """
from tests.test_case import tiny_classifier, tiny_data
x, y = tiny_data(n=32)
adam = lambda: {"optimizer": keras.optimizers.Adam(1e-2), "loss": "sparse_categorical_crossentropy",
                "metrics": ["accuracy"]}

@check
def frozen():  # build_classifier + fit: frozen backbone (BatchNorm in inference mode), trained head
    model, _ = parity("frozen", tiny_classifier,
                      lambda m: m.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0), adam)
    assert isinstance(model, kt.models.TransferClassifier) and model.distribute_strategy is strategy

@check
def fine_tune():  # head epoch, then all groups with discriminative rates (GroupOptimizer)
    def recipe(m):
        history = kt.fine_tune(m, x, y, epochs=2, freeze_epochs=1, base_lr=1e-2, batch_size=8, shuffle=False,
                               verbose=0, jit_compile=False)
        assert isinstance(m.optimizer, kt.optimizers.GroupOptimizer), type(m.optimizer)
        assert history.history["freeze_stage"] == [0.0, 1.0, 1.0], history.history
        return history
    parity("fine_tune", tiny_classifier, recipe, adam)

@check
def fit_classifier():  # features cached once (memory), the head trains on them
    def cached(m):
        history = kt.fit_classifier(m, x, y, batch_size=8, epochs=3, shuffle=False, verbose=0,
                                    validation_data=(x[:8], y[:8]))
        assert history.feature_cache["mode"] == "memory", history.feature_cache
        return history
    parity("fit_classifier", tiny_classifier, cached, adam)
"""

DOMAIN_ADAPTATION = """
rng = np.random.default_rng(0)
xs, ys = rng.normal(size=(32, 5)).astype("float32"), rng.integers(0, 3, 32)
xt = rng.normal(1.0, 1.0, size=(32, 5)).astype("float32")

def model_with(alignment, **kwargs):
    def make():
        features = keras.Sequential([keras.Input((5,)), keras.layers.Dense(6, activation="tanh")])
        classifier = keras.Sequential([keras.Input((6,)), keras.layers.Dense(3, activation="softmax")])
        return kt.models.DomainAdaptationModel(features, classifier, alignment(), **kwargs)
    return make

def fit(model):
    data = kt.data.domain_adaptation_dataset(source=(xs, ys), target=xt, batch_size=8, shuffle=False)
    return model.fit(data, epochs=2, verbose=0)

compiled = lambda: {"optimizer": keras.optimizers.SGD(0.2), "loss": "sparse_categorical_crossentropy",
                    "metrics": ["accuracy"]}

@check
def mmd():  # computed on the gathered global batch (MMD does not split into per-replica terms)
    parity("mmd", model_with(kt.losses.MMD, alignment_weight=2.0), fit, compiled)

@check
def coral():  # idem
    parity("coral", model_with(kt.losses.CORAL, alignment_weight=50.0), fit, compiled)

@check
def cdan_e():  # entropy weights normalised over the global batch
    _, history = parity("cdan+e", model_with(lambda: kt.layers.ConditionalDomainAdversarialHead((4,))), fit, compiled)
    assert "domain_accuracy" in history

@check
def cdan_random_multilinear():  # the seeded random projection is the same on every replica
    parity("cdan-random-multilinear",
           model_with(lambda: kt.layers.ConditionalDomainAdversarialHead((4,), multilinear_dim=8)), fit, compiled)

@check
def jan():  # the joint kernel on the gathered features and class probabilities
    parity("jan", model_with(kt.losses.JMMD, alignment_weight=2.0), fit, compiled)

@check
def regularizers():  # BSP, MCC, AFN and the entropy on the gathered global batch, without and with an alignment
    terms = lambda: [kt.losses.BSP(weight=0.01), kt.losses.MCC(), kt.losses.AFN(), kt.losses.TargetEntropy(weight=1.0)]
    _, history = parity("regularizers", model_with(lambda: None, regularizers=terms()), fit, compiled)
    assert {"bsp_loss", "mcc_loss", "afn_loss", "entropy_loss"} <= set(history), sorted(history)
    parity("dann+bsp", model_with(lambda: kt.layers.DomainAdversarialHead((4,)), regularizers=[kt.losses.BSP(weight=0.01)]),
           fit, compiled)

@check
def dann_two_passes():
    parity("dann-two-passes", model_with(lambda: kt.layers.DomainAdversarialHead((4,)), joint_forward=False),
           fit, compiled)
"""

SSL = """
from tests.generative import tiny
x, y = tiny.images(16), np.arange(16) % 2
x_unlabeled = tiny.images(16, seed=1)
adam = lambda: {"optimizer": keras.optimizers.Adam(1e-2), "metrics": ["accuracy"]}
fit = lambda m: m.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)

@check
def fixmatch():  # real unlabelled images, default (seeded, random) augmentations
    _, history = parity(
        "fixmatch", lambda: kt.ssl.FixMatch(tiny.classifier(2), threshold=0.52, seed=0),
        lambda m: m.fit((x, x_unlabeled), y, batch_size=8, epochs=2, shuffle=False, verbose=0), adam)
    assert 0.0 < history["mask_rate"][0] < 1.0, history["mask_rate"]  # the threshold masks some images

@check
def pseudo_pretrainer():  # labels and generator noise sampled in the step
    parity("pseudo_pretrainer",
           lambda: kt.generative.PseudoPretrainer(tiny.classifier(3), tiny.generator(classes=3), seed=0),
           lambda m: m.fit(batch_size=8, steps_per_epoch=3, epochs=2, verbose=0), adam)

@check
def distiller_auxiliary():
    parity("distiller-auxiliary",
           lambda: kt.distill.Distiller(tiny.classifier(2), tiny.classifier(3), label_space="auxiliary"), fit, adam)

@check
def distiller_shared():
    parity("distiller-shared",
           lambda: kt.distill.Distiller(tiny.classifier(2), tiny.classifier(2), label_space="shared", alpha=0.5),
           fit, adam)

@check
def fixmatch_pssl():  # P-SSL: unlabelled images generated from the labelled batch, noise drawn per replica
    def make():
        generator = kt.layers.PseudoSSLGenerator(tiny.generator(classes=3), tiny.classifier(3), seed=0)
        return kt.ssl.FixMatch(tiny.classifier(2), pseudo_generator=generator, threshold=0.0, unlabeled_ratio=2, seed=0)
    parity("fixmatch-pssl", make, fit, adam)

fit_ssl = lambda m: m.fit((x, x_unlabeled), y, batch_size=8, epochs=2, shuffle=False, verbose=0)

@check
def pseudo_label():
    parity("pseudo_label", lambda: kt.ssl.PseudoLabel(tiny.classifier(2), threshold=0.52, rampup_steps=2, seed=0),
           fit_ssl, adam)

@check
def mean_teacher():  # the teacher's average is assigned from the replica context (a merge call)
    model, _ = parity("mean_teacher",
                      lambda: kt.ssl.MeanTeacher(tiny.classifier(2), ema_decay=0.5, rampup_steps=2, seed=0), fit_ssl, adam)
    assert max(float(np.abs(a.numpy() - b.numpy()).max()) for a, b in zip(model.teacher.weights, model.model.weights)) > 1e-4

@check
def uda():
    parity("uda", lambda: kt.ssl.UDA(tiny.classifier(2), threshold=0.52, seed=0), fit_ssl, adam)

@check
def flexmatch():  # the learning status counts the global batch
    model, _ = parity("flexmatch", lambda: kt.ssl.FlexMatch(tiny.classifier(2), threshold=0.52, status_momentum=0.5,
                                                            seed=0), fit_ssl, adam)
    assert float(np.sum(model.class_status.numpy())) > 0
"""


def _run(group, names):
    calls = "".join(f"CHECKS[{name!r}]()\n" for name in names)
    return run_distributed(HELPERS + textwrap.dedent(group) + calls + 'print("OK")\n')


@pytest.mark.large  # slow (10-25 s); the feature keeps default tests
def test_classifier_strategies_match_a_single_device_run():
    _run(CLASSIFIER, ["frozen", "fine_tune"])


@pytest.mark.large  # slow (10-25 s); the feature keeps default tests
def test_domain_adaptation_alignments_match_a_single_device_run():
    _run(DOMAIN_ADAPTATION, ["mmd", "coral", "cdan_e", "jan", "regularizers"])


@pytest.mark.large  # slow (10-25 s); the feature keeps default tests
def test_ssl_generative_and_distillation_match_a_single_device_run():
    _run(SSL, ["fixmatch", "pseudo_pretrainer", "distiller_auxiliary"])


@pytest.mark.large
@pytest.mark.parametrize(
    "group,names",
    [
        pytest.param(CLASSIFIER, ["fit_classifier"], id="fit_classifier"),
        pytest.param(DOMAIN_ADAPTATION, ["cdan_random_multilinear", "dann_two_passes"], id="domain_adaptation"),
        pytest.param(SSL, ["fixmatch_pssl", "distiller_shared"], id="pssl-distiller"),
        pytest.param(SSL, ["pseudo_label", "mean_teacher", "uda", "flexmatch"], id="ssl-learners"),
    ],
)
def test_more_strategies_match_a_single_device_run(group, names):
    _run(group, names)
