"""JAN's joint MMD and the add-on terms BSP, MCC, AFN and TargetEntropy: each against an independent numpy
computation, each moving what it penalises when trained, under `jit_compile`, through save/load, bad input named."""

import keras
import numpy as np
import pytest

import keras_transfer as kt
from tests.domain_adaptation.test_alignment_losses import mmd_reference
from tests.test_case import TestCase

RNG = np.random.default_rng(0)
XS, YS = RNG.normal(size=(64, 4)).astype("float32"), RNG.integers(0, 3, 64)
XT = RNG.normal(1.0, 1.0, size=(64, 4)).astype("float32")


def softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def jmmd_reference(fs, ps, ft, pt, multipliers=(0.25, 0.5, 1, 2, 4), sigma=0.92):
    d2 = lambda u, v: ((u[:, None, :] - v[None, :, :]) ** 2).sum(-1)
    joint = np.concatenate([fs, ft])
    base = d2(joint, joint).sum() / (len(joint) * (len(joint) - 1))
    k = lambda a, b, pa, pb: (np.mean([np.exp(-d2(a, b) / (m * base)) for m in multipliers], axis=0)
                              * np.exp(-d2(pa, pb) / (2 * sigma ** 2)))
    return k(fs, fs, ps, ps).mean() + k(ft, ft, pt, pt).mean() - 2 * k(fs, ft, ps, pt).mean()


def mcc_reference(logits, temperature=2.5):
    p = softmax(logits / temperature)
    h = -(p * np.log(p + 1e-5)).sum(-1)
    w = 1 + np.exp(-h)
    w = len(w) * w / w.sum()
    c = (p * w[:, None]).T @ p
    c = c / c.sum(1, keepdims=True)
    return (c.sum() - np.trace(c)) / c.shape[0]


def model(alignment=None, regularizers=None, logits=False, seed=0):
    keras.utils.set_random_seed(seed)
    features = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="tanh")])
    classifier = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3, activation=None if logits else "softmax")])
    return kt.models.DomainAdaptationModel(features, classifier, alignment, regularizers=regularizers)


def train(m, epochs=3, jit_compile=False, logits=False):
    m.compile(keras.optimizers.Adam(1e-2), keras.losses.SparseCategoricalCrossentropy(from_logits=logits),
              jit_compile=jit_compile)
    data = kt.data.domain_adaptation_dataset(source=(XS, YS), target=XT, batch_size=16, shuffle=False)
    return m.fit(data, epochs=epochs, verbose=0).history


def target_features(m):
    return m.feature_extractor.predict(XT, verbose=0)


class TestTerms(TestCase):
    def test_jmmd_matches_the_reference_and_needs_the_predictions(self):
        fs, ft = RNG.normal(size=(10, 3)), RNG.normal(0.5, 1.0, size=(7, 3))
        ps, pt = RNG.dirichlet(np.ones(4), 10), RNG.dirichlet(np.ones(4), 7)
        self.assertAllClose(kt.losses.JMMD()([fs, ps], [ft, pt]), jmmd_reference(fs, ps, ft, pt), atol=1e-5, rtol=1e-4)
        # a very wide prediction kernel ignores the predictions: MMD of the features
        wide = kt.losses.JMMD(prediction_sigma=1e4)([fs, ps], [ft, pt])
        self.assertAllClose(wide, mmd_reference(fs, ft, (0.25, 0.5, 1, 2, 4)), atol=1e-5, rtol=1e-4)

    def test_bsp_is_the_largest_singular_values_of_each_domain(self):
        fs, ft = RNG.normal(size=(9, 5)), RNG.normal(size=(6, 5))
        expected = sum((np.linalg.svd(f, compute_uv=False)[:2] ** 2).sum() for f in (fs, ft))
        self.assertAllClose(kt.losses.BSP(k=2)(fs, ft, None, None), expected, rtol=1e-4)

    def test_mcc_matches_the_reference(self):
        logits = RNG.normal(0, 3, size=(12, 4))
        self.assertAllClose(kt.losses.MCC()(None, None, None, logits), mcc_reference(logits), atol=1e-6, rtol=1e-4)
        self.assertAllClose(kt.losses.MCC(temperature=1.0)(None, None, None, logits), mcc_reference(logits, 1.0),
                            atol=1e-6, rtol=1e-4)

    def test_afn_and_entropy(self):
        fs, ft = RNG.normal(size=(5, 3)), RNG.normal(size=(4, 3))
        norms = lambda f: np.linalg.norm(f, axis=1)
        hard = np.mean((norms(fs) - 2.0) ** 2) + np.mean((norms(ft) - 2.0) ** 2)
        self.assertAllClose(kt.losses.AFN(radius=2.0)(fs, ft, None, None), hard, rtol=1e-5)
        self.assertAllClose(kt.losses.AFN(step=0.3)(fs, ft, None, None), 2 * 0.09, rtol=1e-5)
        logits = RNG.normal(size=(6, 3))
        p = softmax(logits)
        self.assertAllClose(kt.losses.TargetEntropy()(None, None, None, logits), -(p * np.log(p)).sum(-1).mean(),
                            rtol=1e-5)


class TestTraining(TestCase):
    def test_each_term_moves_what_it_penalises(self):
        """Against the same run without the term: a stub (a constant) would not change the weights' path."""
        def trained(terms, logits=False):
            m = model(regularizers=terms, logits=logits)
            train(m, epochs=4, logits=logits)
            return m

        plain = trained([])
        feats, plain_feats = target_features(trained([kt.losses.AFN(weight=0.5)])), target_features(plain)
        assert np.linalg.norm(feats, axis=1).mean() > np.linalg.norm(plain_feats, axis=1).mean() + 0.1
        probs = lambda m: m.predict(XT, verbose=0)
        entropy = lambda p: -(p * np.log(p + 1e-9)).sum(-1).mean()
        assert entropy(probs(trained([kt.losses.TargetEntropy(weight=2.0)]))) < entropy(probs(plain)) - 0.05
        # the class confusion of each training batch of 16 target examples, at temperature 1
        confusion = lambda m: np.mean([mcc_reference(np.log(probs(m)[i:i + 16] + 1e-9), 1.0) for i in (0, 16, 32, 48)])
        assert confusion(trained([kt.losses.MCC(weight=10.0, temperature=1.0)])) < confusion(plain) - 0.03
        top = lambda m: np.linalg.svd(target_features(m), compute_uv=False)[0]
        assert top(trained([kt.losses.BSP(weight=0.05)])) < top(plain) - 0.1

    def test_logs_sum_to_the_loss_under_jit_for_logits_and_probabilities(self):
        for logits in (False, True):
            terms = [kt.losses.MCC(), kt.losses.AFN(), kt.losses.TargetEntropy(), kt.losses.BSP()]
            m = model(kt.losses.JMMD(), terms, logits=logits)
            assert m.from_logits is logits
            history = train(m, epochs=1, jit_compile=True, logits=logits)
            logs = {k: v[-1] for k, v in history.items()}
            assert {"task_loss", "alignment_loss", "mcc_loss", "afn_loss", "entropy_loss", "bsp_loss"} <= set(logs)
            assert np.isfinite(list(logs.values())).all()

    def test_without_alignment_there_is_no_alignment_log(self):
        history = train(model(regularizers=[kt.losses.MCC()]), epochs=1)
        assert sorted(history) == ["loss", "mcc_loss", "task_loss"]
        history = train(model(), epochs=1)  # source only
        assert sorted(history) == ["loss", "task_loss"]

    def test_save_and_load_keep_alignment_and_terms(self):
        terms = [kt.losses.BSP(k=2, weight=0.01), kt.losses.MCC(temperature=2.0, name="confusion")]
        m = model(kt.losses.JMMD(prediction_sigma=0.5), terms)
        train(m, epochs=1)
        path = self.tmp_path_str("jan.keras")
        m.save(path)
        loaded = keras.models.load_model(path)
        assert isinstance(loaded.alignment, kt.losses.JMMD) and loaded.alignment.prediction_sigma == 0.5
        assert [type(t).__name__ for t in loaded.regularizers] == ["BSP", "MCC"]
        assert loaded.regularizers[0].k == 2 and loaded.regularizers[1].name == "confusion"
        self.assertAllClose(loaded.predict(XT, verbose=0), m.predict(XT, verbose=0), atol=1e-6)
        history = train(loaded, epochs=1)  # trains on after loading
        assert "confusion_loss" in history


class TestBadInput(TestCase):
    def test_named_before_training(self):
        with pytest.raises(TypeError, match="regularizers"):
            model(regularizers=[kt.losses.MMD()])
        with pytest.raises(TypeError, match="regularizers"):
            model(regularizers="mcc")
        with pytest.raises(ValueError, match="regularizers"):
            model(regularizers=[kt.losses.MCC(), kt.losses.MCC()])
        with pytest.raises(ValueError, match="regularizers"):
            model(regularizers=[kt.losses.MCC(name="alignment")])
        with pytest.raises(TypeError, match="alignment"):
            model(alignment=kt.losses.MCC())
        with pytest.raises(ValueError, match="k"):
            kt.losses.BSP(k=0)
        with pytest.raises(ValueError, match="temperature"):
            kt.losses.MCC(temperature=0.0)
        with pytest.raises(ValueError, match="radius"):
            kt.losses.AFN(radius=-1.0)
        with pytest.raises(ValueError, match="weight"):
            kt.losses.TargetEntropy(weight=-0.1)
        with pytest.raises(ValueError, match="prediction_sigma"):
            kt.losses.JMMD(prediction_sigma=0.0)
        with pytest.raises(TypeError, match="source"):
            kt.losses.JMMD()(XS, XT)

    def test_predictions_of_unknown_kind_need_from_logits(self):
        features = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8)])
        classifier = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3), keras.layers.Lambda(lambda t: t * 2.0)])
        with pytest.raises(ValueError, match="from_logits"):
            kt.models.DomainAdaptationModel(features, classifier, kt.losses.JMMD())
        m = kt.models.DomainAdaptationModel(features, classifier, kt.losses.JMMD(), from_logits=True)
        assert m.from_logits is True
        kt.models.DomainAdaptationModel(features, classifier, kt.losses.MMD())  # MMD does not read predictions


@pytest.mark.parametrize("strategy, option", [("bsp", "bsp_weight"), ("mcc", "mcc_weight"), ("afn", "afn_weight"),
                                              ("entropy", "entropy_weight")])
def test_strategy_options_are_named_in_errors(strategy, option):
    """`kt.transfer(...)` with a bad term weight names the strategy's option, not the term's `weight`."""
    from tests.strategies.test_transfer import X, X_TARGET, Y
    from tests.test_case import tiny_backbone

    with pytest.raises(ValueError, match=f"`{option}`.*Received: {option}=-1.0"):
        kt.transfer(strategy, tiny_backbone(), source=(X, Y), target=X_TARGET, epochs=1, **{option: -1.0})
