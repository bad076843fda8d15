"""Bad input across the public API: a clear error, raised before any training work.

Each case is a malformed call. It must raise the given exception type with a
message that names the argument and shows what was received, and it must do so
before training starts: no train/test/predict function is built, the watched
models' weights are unchanged and their optimizers have taken no step.

Data checks (shapes, NaN/Inf, labels out of range, empty data) cover numpy
arrays only: a `tf.data.Dataset` cannot be scanned without running its
pipeline, so only its emptiness (known cardinality 0) is checked.
"""

import re

import numpy as np
import pytest
import tensorflow as tf

import keras
import keras_transfer as kt
from tests.generative import tiny
from tests.regularizers import nets
from tests.test_case import tiny_classifier, tiny_data

X, Y = tiny_data(16)  # (16, 8, 8, 3) images, 3 classes
CHANNELS_FIRST = np.transpose(X, (0, 3, 1, 2))
X_NAN = X.copy()
X_NAN[5, 2, 2, 1] = np.nan
XS = np.random.default_rng(0).normal(size=(10, 4)).astype("float32")
YS = np.arange(10) % 2
X_L, Y_L = tiny.images(6, seed=1), np.arange(6) % 2  # (8, 8, 1) images, 2 classes
EMPTY_DATASET = tf.data.Dataset.from_tensor_slices((X[:0], Y[:0])).batch(4)


def compiled(model=None, loss="sparse_categorical_crossentropy"):
    model = model or tiny_classifier()
    model.compile("adam", loss)
    return model


def dann_parts():
    features = keras.Sequential([keras.Input((4,)), keras.layers.Dense(6)])
    classifier = keras.Sequential([keras.Input((6,)), keras.layers.Dense(2, activation="softmax")])
    return features, classifier


def fixmatch():
    model = kt.ssl.FixMatch(tiny.classifier(2))
    model.compile(optimizer="adam")
    return model


def distiller():
    model = kt.distill.Distiller(tiny.classifier(3), tiny.classifier(3), label_space="shared")
    model.compile(optimizer="adam")
    return model


def cvae():
    model = tiny.generator()
    model.compile("adam")
    return model


# Each case: (id, public entry point, setup, error, message pattern). `setup()`
# returns the malformed call and the models whose weights must stay unchanged.
def _c(id_, entry, setup, error, pattern):
    return pytest.param(entry, setup, error, pattern, id=id_)


def _bare(call):
    return lambda: (call, [])


def _on(build, call):
    """`build()` gives the model(s); `call(*models)` is the malformed call."""

    def setup():
        models = build()
        models = models if isinstance(models, tuple) else (models,)
        return (lambda: call(*models)), list(models)

    return setup


CASES = [
    # --- build_classifier -------------------------------------------------
    _c("build_classifier-channels-first-input_shape", "build_classifier",
       _bare(lambda: kt.build_classifier("vgg16", 2, weights=None, input_shape=(3, 32, 32))),
       ValueError, r"`input_shape`.*3 channels.*Received: input_shape=\(3, 32, 32\)"),
    _c("build_classifier-hidden-units-zero", "build_classifier",
       _bare(lambda: kt.build_classifier("vgg16", 2, weights=None, input_shape=(32, 32, 3), hidden_units=(0,))),
       ValueError, r"`hidden_units`.*>= 1.*Received: hidden_units=0"),
    _c("build_classifier-unknown-pooling", "build_classifier",
       _bare(lambda: kt.build_classifier("vgg16", 2, weights=None, input_shape=(32, 32, 3), pooling="median")),
       ValueError, r"`pooling`.*'avg', 'max', 'flatten'.*Received: pooling='median'"),
    # --- fit_classifier ---------------------------------------------------
    _c("fit_classifier-channels-first-images", "fit_classifier",
       _on(compiled, lambda m: kt.fit_classifier(m, CHANNELS_FIRST, Y, verbose=0)),
       ValueError, r"`x`.*shape \(n, 8, 8, 3\).*Received: x='an array of shape \(16, 3, 8, 8\)'.*channels-first.*np.transpose"),
    _c("fit_classifier-label-out-of-range", "fit_classifier",
       _on(compiled, lambda m: kt.fit_classifier(m, X, Y + 3, verbose=0)),
       ValueError, r"`y`.*class ids in \[0, 2\].*3 outputs.*Received: y='labels from 3 to 5'"),
    _c("fit_classifier-negative-label", "fit_classifier",
       _on(compiled, lambda m: kt.fit_classifier(m, X, Y - 1, verbose=0)),
       ValueError, r"`y`.*class ids in \[0, 2\].*Received: y='labels from -1 to 1'"),
    _c("fit_classifier-fractional-labels", "fit_classifier",
       _on(compiled, lambda m: kt.fit_classifier(m, X, Y + 0.5, verbose=0)),
       ValueError, r"`y`.*integer class ids.*Received: y='fractional labels such as 0.5'"),
    _c("fit_classifier-nan-image", "fit_classifier",
       _on(compiled, lambda m: kt.fit_classifier(m, X_NAN, Y, verbose=0)),
       ValueError, r"`x`.*finite values.*Received: x='NaN or Inf in example 5'"),
    _c("fit_classifier-label-count", "fit_classifier",
       _on(compiled, lambda m: kt.fit_classifier(m, X, Y[:5], verbose=0)),
       ValueError, r"`y`.*one label per example \(16 examples\).*Received: y='5 labels'"),
    _c("fit_classifier-empty-arrays", "fit_classifier",
       _on(compiled, lambda m: kt.fit_classifier(m, X[:0], Y[:0], verbose=0)),
       ValueError, r"`x`.*at least one example.*Received: x='an array of shape \(0, 8, 8, 3\)'"),
    _c("fit_classifier-empty-dataset", "fit_classifier",
       _on(compiled, lambda m: kt.fit_classifier(m, EMPTY_DATASET, verbose=0)),
       ValueError, r"`x`.*non-empty dataset.*Received: x='a dataset of 0 batches'"),
    _c("fit_classifier-validation-labels", "fit_classifier",
       _on(compiled, lambda m: kt.fit_classifier(m, X, Y, validation_data=(X, Y + 5), verbose=0)),
       ValueError, r"`validation_data\[1\]`.*class ids in \[0, 2\].*Received: validation_data\[1\]='labels from 5 to 7'"),
    _c("fit_classifier-one-hot-width", "fit_classifier",
       _on(lambda: compiled(loss="categorical_crossentropy"), lambda m: kt.fit_classifier(m, X, np.eye(4)[Y], verbose=0)),
       ValueError, r"`y`.*one-hot rows of length 3.*Received: y='shape \(16, 4\)'"),
    _c("fit_classifier-string-x", "fit_classifier",
       _on(compiled, lambda m: kt.fit_classifier(m, "images/", Y, verbose=0)),
       TypeError, r"`x`.*numpy array.*Received: x='images/'"),
    _c("fit_classifier-negative-max-cache-memory", "fit_classifier",
       _on(compiled, lambda m: kt.fit_classifier(m, X, Y, max_cache_memory=-1, verbose=0)),
       ValueError, r"`max_cache_memory`.*>= 0.*Received: max_cache_memory=-1"),
    # --- fine_tune, lr_find -----------------------------------------------
    _c("fine_tune-label-out-of-range", "fine_tune",
       _on(tiny_classifier, lambda m: kt.fine_tune(m, X, Y + 3, epochs=1, verbose=0)),
       ValueError, r"`y`.*class ids in \[0, 2\].*Received: y='labels from 3 to 5'"),
    _c("fine_tune-nan-image", "fine_tune",
       _on(tiny_classifier, lambda m: kt.fine_tune(m, X_NAN, Y, epochs=1, verbose=0)),
       ValueError, r"`x`.*finite.*Received: x='NaN or Inf in example 5'"),
    _c("fine_tune-channels-first-images", "fine_tune",
       _on(tiny_classifier, lambda m: kt.fine_tune(m, CHANNELS_FIRST, Y, epochs=1, verbose=0)),
       ValueError, r"`x`.*\(n, 8, 8, 3\).*\(16, 3, 8, 8\).*channels-first"),
    _c("fine_tune-empty-arrays", "fine_tune",
       _on(tiny_classifier, lambda m: kt.fine_tune(m, X[:0], Y[:0], epochs=1, verbose=0)),
       ValueError, r"`x`.*at least one example.*shape \(0, 8, 8, 3\)"),
    _c("fine_tune-gradual-not-bool", "fine_tune",
       _on(tiny_classifier, lambda m: kt.fine_tune(m, X, Y, epochs=1, gradual="yes", verbose=0)),
       TypeError, r"`gradual`.*a bool.*Received: gradual='yes'"),
    _c("fine_tune-validation-nan", "fine_tune",
       _on(tiny_classifier, lambda m: kt.fine_tune(m, X, Y, epochs=1, validation_data=(X_NAN, Y), verbose=0)),
       ValueError, r"`validation_data\[0\]`.*finite.*Received: validation_data\[0\]='NaN or Inf in example 5'"),
    _c("lr_find-label-out-of-range", "lr_find",
       _on(compiled, lambda m: kt.lr_find(m, X, Y + 3, num_steps=5)),
       ValueError, r"`y`.*class ids in \[0, 2\].*Received: y='labels from 3 to 5'"),
    _c("lr_find-nan-image", "lr_find",
       _on(compiled, lambda m: kt.lr_find(m, X_NAN, Y, num_steps=5)),
       ValueError, r"`x`.*finite.*example 5"),
    _c("lr_find-batch-size-zero", "lr_find",
       _on(compiled, lambda m: kt.lr_find(m, X, Y, num_steps=5, batch_size=0)),
       ValueError, r"`batch_size`.*>= 1.*Received: batch_size=0"),
    # --- schedules, optimizers, groups ------------------------------------
    _c("FreezeSchedule-string-schedule", "FreezeSchedule",
       _bare(lambda: kt.callbacks.FreezeSchedule("all")),
       TypeError, r"`schedule`.*dict.*Received: schedule='all'"),
    _c("FreezeSchedule-verbose-string", "FreezeSchedule",
       _bare(lambda: kt.callbacks.FreezeSchedule({1: "all"}, verbose="loud")),
       TypeError, r"`verbose`.*integer.*Received: verbose='loud'"),
    _c("DiscriminativeLR-multipliers-list", "DiscriminativeLR",
       _bare(lambda: kt.callbacks.DiscriminativeLR(multipliers=[1.0, 0.5])),
       TypeError, r"`multipliers`.*dict.*Received: multipliers=\[1.0, 0.5\]"),
    _c("DiscriminativeLR-decay-zero", "DiscriminativeLR",
       _bare(lambda: kt.callbacks.DiscriminativeLR(decay=0)),
       ValueError, r"`decay`.*> 0.*Received: decay=0"),
    _c("GroupOptimizer-multiplier-nan", "GroupOptimizer",
       _bare(lambda: kt.optimizers.GroupOptimizer(keras.optimizers.Adam(), {"head": float("nan")})),
       ValueError, r"`multipliers\['head'\]`.*finite.*Received: multipliers\['head'\]=nan"),
    _c("GroupOptimizer-ema-momentum", "GroupOptimizer",
       _bare(lambda: kt.optimizers.GroupOptimizer("adam", use_ema=True, ema_momentum=1.5)),
       ValueError, r"`ema_momentum`.*<= 1.*Received: ema_momentum=1.5"),
    # --- robust fine-tuning -----------------------------------------------
    _c("lp_ft-no-validation-data", "lp_ft",
       _on(tiny_classifier, lambda m: kt.robust_fine_tuning.lp_ft(m, X, Y, validation_data=None)),
       ValueError, r"`validation_data`.*linear probe stops.*Received: validation_data=None"),
    _c("lp_ft-epochs-zero", "lp_ft",
       _on(tiny_classifier, lambda m: kt.robust_fine_tuning.lp_ft(m, X, Y, validation_data=(X, Y), epochs=0)),
       ValueError, r"`epochs`.*>= 1.*Received: epochs=0"),
    _c("linear_probe-label-count", "linear_probe",
       _on(tiny_classifier, lambda m: kt.robust_fine_tuning.linear_probe(m, X, Y[:5], validation_data=(X, Y))),
       ValueError, r"`y`.*16.*Received"),
    _c("interpolate_weights-alpha", "interpolate_weights",
       _on(lambda: (tiny_classifier(), tiny_classifier()),
           lambda a, b: kt.robust_fine_tuning.interpolate_weights(a, b, 1.5)),
       ValueError, r"`alpha`.*<= 1.*Received: alpha=1.5"),
    _c("wise_ft-other-architecture", "wise_ft",
       _on(lambda: (tiny_classifier(), tiny_classifier(num_classes=4)),
           lambda a, b: kt.robust_fine_tuning.wise_ft(a, b, (X, Y))),
       ValueError, r"`models\[1\]`.*same architecture.*Received"),
    _c("greedy_soup-validation-lengths", "greedy_soup",
       _on(lambda: (tiny_classifier(), tiny_classifier()),
           lambda a, b: kt.robust_fine_tuning.greedy_soup([a, b], (X, Y[:4]))),
       ValueError, r"`validation_data`.*16 inputs and 4 labels"),
    _c("uniform_soup-not-a-list", "uniform_soup",
       _on(tiny_classifier, lambda m: kt.robust_fine_tuning.uniform_soup(m)),
       TypeError, r"`models`.*list of keras.Model.*Received"),
    _c("layer_groups-not-a-model", "layer_groups",
       _bare(lambda: kt.layer_groups("vgg16")),
       TypeError, r"`model`.*keras.Model.*Received: model='vgg16'"),
    _c("layer_groups-unknown-layer", "layer_groups",
       _on(tiny_classifier, lambda m: kt.layer_groups(m, groups={"mine": ["block9_conv"]})),
       ValueError, r"argument `groups`.*group 'mine'.*'block9_conv'.*Did you mean"),
    _c("set_trainable-unknown-group", "set_trainable",
       _on(tiny_classifier, lambda m: kt.set_trainable(m, ["block9_conv"])),
       ValueError, r"Unknown group 'block9_conv' in argument `trainable`.*Available groups: block1_conv"),
    # --- domain adaptation --------------------------------------------------
    _c("GradientReversal-nan-lambda", "GradientReversal",
       _bare(lambda: kt.layers.GradientReversal(float("nan"))),
       ValueError, r"`lambda_`.*finite.*Received: lambda_=nan"),
    _c("DomainAdversarialHead-hidden-units-string", "DomainAdversarialHead",
       _bare(lambda: kt.layers.DomainAdversarialHead(hidden_units="256")),
       TypeError, r"`hidden_units`.*positive integers.*Received: hidden_units='256'"),
    _c("DomainAdaptationModel-arrays-not-batches", "DomainAdaptationModel",
       _on(lambda: _compiled_dann(), lambda m: m.fit(XS, YS, epochs=1, verbose=0)),
       ValueError, r"`x`.*'source'.*'target'.*Received: x='ndarray of shape \(10, 4\)'.*domain_adaptation_dataset"),
    _c("domain_adaptation_dataset-nan-target", "domain_adaptation_dataset",
       _bare(lambda: kt.data.domain_adaptation_dataset(source=(XS, YS), target=np.where(XS > 1, np.nan, XS), batch_size=4)),
       ValueError, r"`target`.*finite values.*Received: target='NaN or Inf in example \d+'"),
    _c("domain_adaptation_dataset-inf-source", "domain_adaptation_dataset",
       _bare(lambda: kt.data.domain_adaptation_dataset(source=(np.where(XS > 1, np.inf, XS), YS), target=XS, batch_size=4)),
       ValueError, r"`source`.*finite values.*Received: source='NaN or Inf in example \d+'"),
    _c("domain_adaptation_dataset-labels-beyond-num_classes", "domain_adaptation_dataset",
       _bare(lambda: kt.data.domain_adaptation_dataset(source=(XS, YS + 1), target=XS, batch_size=4, num_classes=2)),
       ValueError, r"`source`.*class ids in \[0, 1\].*Received: source='labels from 1 to 2'"),
    _c("MMD-feature-sizes-differ", "MMD",
       _bare(lambda: kt.losses.MMD()(np.zeros((4, 3), "float32"), np.zeros((4, 5), "float32"))),
       ValueError, r"`y_pred`.*same size as the source features `y_true` \(\(3,\)\).*Received: y_pred='target features of shape \(5,\)'"),
    _c("CORAL-feature-sizes-differ", "CORAL",
       _bare(lambda: kt.losses.CORAL()(np.zeros((4, 3), "float32"), np.zeros((4, 2, 3), "float32"))),
       ValueError, r"`y_pred`.*CORAL.*Received: y_pred='target features of shape \(2, 3\)'"),
    _c("DomainAdaptationModel-regularizer-not-a-term", "DomainAdaptationModel",
       _bare(lambda: kt.models.DomainAdaptationModel(*dann_parts(), None, regularizers=[kt.losses.MMD()])),
       TypeError, r"`regularizers`.*DomainRegularizer.*Received: regularizers='a list holding"),
    _c("DomainAdaptationModel-regularizers-same-name", "DomainAdaptationModel",
       _bare(lambda: kt.models.DomainAdaptationModel(*dann_parts(), None, regularizers=[kt.losses.MCC(), kt.losses.MCC()])),
       ValueError, r"`regularizers`.*distinct names.*Received: regularizers=\"names \['mcc', 'mcc'\]\""),
    _c("DomainAdaptationModel-jmmd-unknown-outputs", "DomainAdaptationModel",
       _bare(lambda: kt.models.DomainAdaptationModel(
           dann_parts()[0], keras.Sequential([keras.Input((6,)), keras.layers.Dense(2), keras.layers.Lambda(lambda t: t)]),
           kt.losses.JMMD())),
       ValueError, r"`from_logits`.*True or False.*Received: from_logits=None"),
    _c("JMMD-not-a-pair", "JMMD",
       _bare(lambda: kt.losses.JMMD()(np.zeros((4, 3), "float32"), np.zeros((4, 3), "float32"))),
       TypeError, r"`source`.*pair \[features, class probabilities\].*Received: source="),
    _c("JMMD-sigma-zero", "JMMD", _bare(lambda: kt.losses.JMMD(prediction_sigma=0)),
       ValueError, r"`prediction_sigma`.*Received: prediction_sigma=0"),
    _c("BSP-k-zero", "BSP", _bare(lambda: kt.losses.BSP(k=0)), ValueError, r"`k`.*>= 1.*Received: k=0"),
    _c("MCC-temperature-negative", "MCC", _bare(lambda: kt.losses.MCC(temperature=-1.0)),
       ValueError, r"`temperature`.*Received: temperature=-1.0"),
    _c("AFN-radius-zero", "AFN", _bare(lambda: kt.losses.AFN(radius=0.0)), ValueError, r"`radius`.*Received: radius=0.0"),
    _c("TargetEntropy-weight-negative", "TargetEntropy", _bare(lambda: kt.losses.TargetEntropy(weight=-1)),
       ValueError, r"`weight`.*>= 0.*Received: weight=-1"),
    _c("DomainRegularizer-name-not-identifier", "DomainRegularizer",
       _bare(lambda: kt.losses.AFN(name="my term")), ValueError, r"`name`.*identifier.*Received: name='my term'"),
    _c("WDGRL-critic-sigmoid", "WDGRL",
       _bare(lambda: kt.models.WDGRL(*dann_parts(), critic=keras.Sequential([keras.layers.Dense(1, activation="sigmoid")]))),
       ValueError, r"`critic`.*one unbounded score.*Received: critic=.*sigmoid"),
    _c("WDGRL-critic-batchnorm", "WDGRL",
       _bare(lambda: kt.models.WDGRL(*dann_parts(), critic=keras.Sequential(
           [keras.layers.Dense(4), keras.layers.BatchNormalization(), keras.layers.Dense(1)]))),
       ValueError, r"`critic`.*each example on its own.*BatchNormalization"),
    _c("WDGRL-critic-steps-zero", "WDGRL", _bare(lambda: kt.models.WDGRL(*dann_parts(), critic_steps=0)),
       ValueError, r"`critic_steps`.*>= 1.*Received: critic_steps=0"),
    _c("WDGRL-negative-sample-weight", "WDGRL",
       _on(lambda: _compiled(kt.models.WDGRL(*dann_parts())),
           lambda m: m.fit({"source": XS, "target": XS}, YS, sample_weight=-np.ones(10), verbose=0)),
       ValueError, r"`sample_weight`.*non-negative.*Received: sample_weight='weights from -1.0'"),
    _c("ADDA-untrained-feature-extractor", "ADDA",
       _bare(lambda: kt.models.ADDA(keras.Sequential([keras.layers.Dense(6)]), dann_parts()[1])),
       ValueError, r"`feature_extractor`.*trained on the source task.*built=False"),
    _c("ADDA-discriminator-softmax", "ADDA",
       _bare(lambda: kt.models.ADDA(*dann_parts(), discriminator=keras.Sequential(
           [keras.layers.Dense(2, activation="softmax")]))),
       ValueError, r"`discriminator`.*one unbounded score"),
    _c("ADDA-target-missing", "ADDA",
       _on(lambda: _compiled(kt.models.ADDA(*dann_parts())), lambda m: m.fit(XS, YS, verbose=0)),
       ValueError, r"`x`.*'source'.*'target'.*Received: x='ndarray of shape \(10, 4\)'"),
    _c("ADDA-sample-weight-length", "ADDA",
       _on(lambda: _compiled(kt.models.ADDA(*dann_parts())),
           lambda m: m.fit({"source": XS, "target": XS}, YS, sample_weight=np.ones(7), verbose=0)),
       ValueError, r"`sample_weight`.*one weight per source example \(10\).*Received: sample_weight='7 weights'"),
    _c("ImportanceWeightedValidation-weights-wrong-length", "ImportanceWeightedValidation",
       _bare(lambda: kt.callbacks.ImportanceWeightedValidation((XS, YS), np.ones(3))),
       ValueError, r"`weights`.*one weight per validation example \(10\).*Received: weights='3 weights'"),
    _c("ImportanceWeightedValidation-negative-weights", "ImportanceWeightedValidation",
       _bare(lambda: kt.callbacks.ImportanceWeightedValidation((XS, YS), -np.ones(10))),
       ValueError, r"`weights`.*non-negative.*Received: weights='weights from -1 to -1'"),
    _c("GradientReversalSchedule-total-steps-zero", "GradientReversalSchedule",
       _bare(lambda: kt.callbacks.GradientReversalSchedule(total_steps=0)),
       ValueError, r"`total_steps`.*>= 1.*Received: total_steps=0"),
    _c("GradientReversalSchedule-max-value-string", "GradientReversalSchedule",
       _bare(lambda: kt.callbacks.GradientReversalSchedule(max_value="1")),
       TypeError, r"`max_value`.*a number.*Received: max_value='1'"),
    _c("MCDModel-generator-steps-zero", "MCDModel",
       _bare(lambda: kt.models.MCDModel(*dann_parts(), generator_steps=0)),
       ValueError, r"`generator_steps`.*>= 1.*Received: generator_steps=0"),
    _c("MCDModel-second-classifier-is-the-classifier", "MCDModel",
       _bare(lambda: (lambda f, c: kt.models.MCDModel(f, c, second_classifier=c))(*dann_parts())),
       ValueError, r"`second_classifier`.*weights of its own.*Received: second_classifier="),
    _c("MCDModel-arrays-not-batches", "MCDModel",
       _on(lambda: _compiled_mcd(), lambda m: m.fit(XS, YS, epochs=1, verbose=0)),
       ValueError, r"`x`.*'source'.*'target'.*Received: x='ndarray of shape \(10, 4\)'.*domain_adaptation_dataset"),
    _c("MCDModel-negative-sample-weight", "MCDModel",
       _on(lambda: _compiled_mcd(),
           lambda m: m.fit({"source": XS, "target": XS}, YS, sample_weight=-np.ones(10), epochs=1, verbose=0)),
       ValueError, r"`sample_weight`.*non-negative.*Received: sample_weight='weights from -1.0'"),
    _c("MarginDisparityHead-margin-negative", "MarginDisparityHead",
       _bare(lambda: kt.layers.MarginDisparityHead(margin=-1.0)),
       ValueError, r"`margin`.*>= 0.*Received: margin=-1.0"),
    _c("DomainAdaptationModel-sample-weight-wrong-length", "DomainAdaptationModel",
       _on(lambda: _compiled_dann(),
           lambda m: m.fit({"source": XS, "target": XS}, YS, sample_weight=np.ones(3), epochs=1, verbose=0)),
       ValueError, r"`sample_weight`.*one weight per source example \(10\).*Received: sample_weight='3 weights'"),
    _c("ContrastiveSemanticAlignment-margin-zero", "ContrastiveSemanticAlignment",
       _bare(lambda: kt.losses.ContrastiveSemanticAlignment(margin=0.0)),
       ValueError, r"`margin`.*> 0.*Received: margin=0.0"),
    _c("DomainAdaptationModel-ccsa-without-labelled-target", "DomainAdaptationModel",
       _on(lambda: _compiled(kt.models.DomainAdaptationModel(*dann_parts(), kt.losses.ContrastiveSemanticAlignment())),
           lambda m: m.fit({"source": XS, "target": XS}, YS, epochs=1, verbose=0)),
       ValueError, r"`x`.*labelled target examples.*Received: x=\['source', 'target'\]"),
    _c("domain_adaptation_dataset-labelled-target-one-hot", "domain_adaptation_dataset",
       _bare(lambda: kt.data.domain_adaptation_dataset(source=(XS, YS), target=None, batch_size=4,
                                                       labelled_target=(XS[:2], np.eye(2)[YS[:2]]))),
       ValueError, r"`labelled_target`.*format of the source labels.*Received: labelled_target='labels of shape"),
    _c("CORALTransform-negative-regularization", "CORALTransform",
       _bare(lambda: kt.domain_adaptation.CORALTransform(regularization=-1.0)),
       ValueError, r"`regularization`.*>= 0.*Received: regularization=-1.0"),
    _c("SubspaceAlignment-too-many-components", "SubspaceAlignment",
       _bare(lambda: kt.domain_adaptation.SubspaceAlignment(n_components=5).fit(XS, XS)),
       ValueError, r"`n_components`.*at most 4.*Received: n_components=5"),
    _c("MMDFeatureSelection-too-many-features", "MMDFeatureSelection",
       _bare(lambda: kt.domain_adaptation.MMDFeatureSelection(n_features=5).fit(XS, XS)),
       ValueError, r"`n_features`.*at most 4.*Received: n_features=5"),
    _c("TCA-too-many-examples", "TCA",
       _bare(lambda: kt.domain_adaptation.TCA().fit(np.zeros((4000, 2)), np.zeros((1001, 2)))),
       ValueError, r"`x_source`.*at most 5,000.*Received: x_source='4000 \+ 1001 examples'"),
    _c("FeatureAugmentation-features-differ", "FeatureAugmentation",
       _bare(lambda: kt.domain_adaptation.FeatureAugmentation().fit(XS, XS[:, :3])),
       ValueError, r"`x_target`.*4 features per example.*Received: x_target='3 features'"),
    # --- generative, SSL, distillation ------------------------------------
    _c("ConditionalVAE-image-shape-not-divisible", "ConditionalVAE",
       _bare(lambda: kt.generative.ConditionalVAE((30, 30, 1), 3)),
       ValueError, r"`image_shape`.*divisible by 4.*Received: image_shape=\(30, 30, 1\)"),
    _c("ConditionalVAE-fit-label-out-of-range", "ConditionalVAE",
       _on(cvae, lambda m: m.fit(tiny.images(4), np.array([0, 1, 2, 7]), verbose=0)),
       ValueError, r"`y`.*class ids in \[0, 2\].*Received: y='labels from 0 to 7'"),
    _c("ConditionalVAE-fit-nan-images", "ConditionalVAE",
       _on(cvae, lambda m: m.fit(np.full((4, 8, 8, 1), np.nan, "float32"), np.arange(4) % 3, verbose=0)),
       ValueError, r"`x`.*finite.*Received: x='NaN or Inf in example 0'"),
    _c("ConditionalVAE-generate-negative-label", "ConditionalVAE",
       _on(tiny.generator, lambda m: m.generate([-1, 0])),
       ValueError, r"`labels`.*class ids in \[0, 2\].*Received: labels='labels from -1 to 0'"),
    _c("ConditionalVAE-generate-z-shape", "ConditionalVAE",
       _on(tiny.generator, lambda m: m.generate([0, 1], z=np.zeros((2, 7)))),
       ValueError, r"`z`.*shape \(2, 4\).*Received: z='shape \(2, 7\)'"),
    _c("PseudoSSLGenerator-generator-string", "PseudoSSLGenerator",
       _bare(lambda: kt.layers.PseudoSSLGenerator("generator.keras", tiny.classifier())),
       TypeError, r"`generator`.*Keras model or callable.*Received: generator='generator.keras'"),
    _c("PseudoSSLGenerator-temperature-zero", "PseudoSSLGenerator",
       _bare(lambda: kt.layers.PseudoSSLGenerator(tiny.generator(), tiny.classifier(), temperature=0)),
       ValueError, r"`temperature`.*> 0.*Received: temperature=0"),
    _c("PseudoPretrainer-batch-size-zero", "PseudoPretrainer",
       _on(lambda: _compiled_pretrainer(), lambda m: m.fit(steps_per_epoch=2, batch_size=0, verbose=0)),
       ValueError, r"`batch_size`.*>= 1.*Received: batch_size=0"),
    _c("PseudoPretrainer-model-string", "PseudoPretrainer",
       _bare(lambda: kt.generative.PseudoPretrainer("model", tiny.generator())),
       TypeError, r"`model`.*Keras model.*Received: model='model'"),
    _c("FixMatch-fit-label-out-of-range", "FixMatch",
       _on(fixmatch, lambda m: m.fit((X_L, X_L), Y_L + 4, batch_size=2, verbose=0)),
       ValueError, r"`y`.*class ids in \[0, 1\].*2 outputs.*Received: y='labels from 4 to 5'"),
    _c("FixMatch-fit-channels-first-unlabelled", "FixMatch",
       _on(fixmatch, lambda m: m.fit({"labeled": X_L, "unlabeled": np.transpose(X_L, (0, 3, 1, 2))}, Y_L, verbose=0)),
       ValueError, r"`x\['unlabeled'\]`.*\(n, 8, 8, 1\).*\(6, 1, 8, 8\).*channels-first"),
    _c("FixMatch-fit-nan-labelled", "FixMatch",
       _on(fixmatch, lambda m: m.fit((np.full_like(X_L, np.nan), X_L), Y_L, verbose=0)),
       ValueError, r"`x\[0\]`.*finite.*Received: x\[0\]='NaN or Inf in example 0'"),
    _c("ssl_dataset-negative-labels", "ssl_dataset",
       _bare(lambda: kt.ssl.ssl_dataset((X_L, Y_L - 2), tiny.images(28), batch_size=2)),
       ValueError, r"`labeled`.*class ids >= 0.*Received: labeled='labels from -2 to -1'"),
    _c("ssl_dataset-unlabelled-shape", "ssl_dataset",
       _bare(lambda: kt.ssl.ssl_dataset((X_L, Y_L), tiny.images(28, shape=(8, 8, 3)), batch_size=2)),
       ValueError, r"`unlabeled`.*\(n, 8, 8, 1\).*Received: unlabeled='an array of shape \(28, 8, 8, 3\)'"),
    _c("ssl_dataset-nan-unlabelled", "ssl_dataset",
       _bare(lambda: kt.ssl.ssl_dataset((X_L, Y_L), np.full((28, 8, 8, 1), np.nan, "float32"), batch_size=2)),
       ValueError, r"`unlabeled`.*finite.*Received: unlabeled='NaN or Inf in example 0'"),
    _c("Distiller-fit-label-out-of-range", "Distiller",
       _on(distiller, lambda m: m.fit(tiny.images(6), np.arange(6), verbose=0)),
       ValueError, r"`y`.*class ids in \[0, 2\].*Received: y='labels from 0 to 5'"),
    _c("Distiller-fit-channels-first", "Distiller",
       _on(distiller, lambda m: m.fit(np.zeros((6, 1, 8, 8), "float32"), np.arange(6) % 3, verbose=0)),
       ValueError, r"`x`.*\(n, 8, 8, 1\).*Received: x='an array of shape \(6, 1, 8, 8\)'.*channels-first"),
    _c("Distiller-temperature-zero", "Distiller",
       _bare(lambda: kt.distill.Distiller(tiny.classifier(3), tiny.classifier(3), label_space="shared", temperature=0)),
       ValueError, r"`temperature`.*> 0.*Received: temperature=0"),
    _c("PseudoLabel-negative-rampup", "PseudoLabel",
       _bare(lambda: kt.ssl.PseudoLabel(tiny.classifier(2), rampup_steps=-1)),
       ValueError, r"`rampup_steps`.*>= 0.*Received: rampup_steps=-1"),
    _c("PseudoLabel-fit-no-unlabelled", "PseudoLabel",
       _on(lambda: compiled(kt.ssl.PseudoLabel(tiny.classifier(2))), lambda m: m.fit(X_L, Y_L, batch_size=2, verbose=0)),
       ValueError, r"`x`.*PseudoLabel needs unlabelled images.*Received: x=.labelled images alone"),
    _c("MeanTeacher-decay-one", "MeanTeacher",
       _bare(lambda: kt.ssl.MeanTeacher(tiny.classifier(2), ema_decay=1.0)),
       ValueError, r"`ema_decay`.*\[0, 1\).*Received: ema_decay=1.0"),
    _c("UDA-temperature-zero", "UDA",
       _bare(lambda: kt.ssl.UDA(tiny.classifier(2), temperature=0)),
       ValueError, r"`temperature`.*> 0.*Received: temperature=0"),
    _c("FlexMatch-unknown-mapping", "FlexMatch",
       _bare(lambda: kt.ssl.FlexMatch(tiny.classifier(2), mapping="concave")),
       ValueError, r"`mapping`.*'convex', 'linear'.*Received: mapping='concave'. Did you mean 'convex'"),
    _c("FlexMatch-fit-label-out-of-range", "FlexMatch",
       _on(lambda: compiled(kt.ssl.FlexMatch(tiny.classifier(2))), lambda m: m.fit((X_L, X_L), Y_L + 4, verbose=0)),
       ValueError, r"`y`.*class ids in \[0, 1\].*Received: y='labels from 4 to 5'"),
    # --- fine-tuning regularisers -------------------------------------------
    _c("LwFModel-source-string", "LwFModel",
       _bare(lambda: kt.models.LwFModel(nets.trunk_and_heads()[1], "source")),
       TypeError, r"`source_model`.*functional or Sequential.*Received: source_model='source'"),
    _c("LwFModel-fit-label-out-of-range", "LwFModel",
       _on(lambda: compiled(kt.models.LwFModel(*reversed(nets.trunk_and_heads()))),
           lambda m: m.fit(nets.X, nets.Y + 3, verbose=0)),
       ValueError, r"`y`.*class ids in \[0, 2\].*Received: y='labels from 3 to 5'"),
    _c("BSSModel-k-above-width", "BSSModel",
       _bare(lambda: kt.models.BSSModel(nets.trunk_and_heads()[1], k=9)),
       ValueError, r"`k`.*<= 8 \(the feature width\).*Received: k=9"),
    _c("DELTAModel-attention-length", "DELTAModel",
       _bare(lambda: kt.models.DELTAModel(nets.trunk_and_heads()[1], attention=np.ones(3))),
       ValueError, r"`attention`.*8 non-negative channel weights.*Received: attention='an array of shape \(3,\)'"),
    _c("delta_attention-label-count", "delta_attention",
       _bare(lambda: kt.regularizers.delta_attention(nets.trunk_and_heads()[1], nets.X, nets.Y[:5])),
       ValueError, r"`y`.*one label per input \(32 inputs\).*Received: y='5 labels'"),
    _c("CoTuningModel-relationship-shape", "CoTuningModel",
       _bare(lambda: kt.models.CoTuningModel(nets.trunk_and_heads()[1], nets.trunk_and_heads()[0].layers[-1],
                                             np.ones((2, 5)) / 5)),
       ValueError, r"`relationship`.*3 target classes.*Received: relationship='an array of shape \(2, 5\)'"),
    _c("category_relationship-missing-class", "category_relationship",
       _bare(lambda: kt.regularizers.category_relationship(nets.trunk_and_heads()[0], nets.X, np.zeros(32, int),
                                                           num_classes=3)),
       ValueError, r"`y`.*every class 0..2.*Received: y='labels without classes \[1, 2\]'"),
    _c("apply_stochnorm-no-batchnorm", "apply_stochnorm",
       _bare(lambda: kt.regularizers.apply_stochnorm(nets.trunk_and_heads()[1])),
       ValueError, r"`model`.*BatchNormalization layers.*Received: model='target'"),
    _c("StochNorm-p-above-one", "StochNorm",
       _bare(lambda: kt.layers.StochNorm(p=1.5)),
       ValueError, r"`p`.*Received: p=1.5"),
    # --- parameter-efficient tuning: adapters -------------------------------
    _c("add_adapters-reduction-factor-zero", "add_adapters",
       _on(tiny_classifier, lambda m: kt.peft.add_adapters(m, reduction_factor=0)),
       ValueError, r"`reduction_factor`.*> 0.*Received: reduction_factor=0"),
    _c("add_adapters-no-feature-maps", "add_adapters",
       _bare(lambda: kt.peft.add_adapters(nets.trunk_and_heads()[1])),
       ValueError, r"`model`.*feature maps.*Received: model='target'"),
    _c("add_adapters-unknown-layer", "add_adapters",
       _on(tiny_classifier, lambda m: kt.peft.add_adapters(m, where=["block9_conv"])),
       ValueError, r"`where`.*No layer 'block9_conv'.*Did you mean"),
    _c("BottleneckAdapter-units-zero", "BottleneckAdapter",
       _bare(lambda: kt.layers.BottleneckAdapter(0)),
       ValueError, r"`units`.*>= 1.*Received: units=0"),
    # --- few-shot, L2-SP ---------------------------------------------------
    _c("evaluate_episodes-nan-embeddings", "evaluate_episodes",
       _bare(lambda: kt.few_shot.evaluate_episodes(
           lambda a: a, np.full((40, 4), np.nan, "float32"), np.arange(40) % 4, n_way=2, k_shot=1, queries=1, episodes=2)),
       ValueError, r"`embeddings`.*finite.*Received: embeddings='array with \d+ non-finite values'"),
    _c("evaluate_episodes-label-count", "evaluate_episodes",
       _bare(lambda: kt.few_shot.evaluate_episodes(
           lambda a: a, np.zeros((40, 4), "float32"), np.arange(30) % 4, n_way=2, k_shot=1, queries=1, episodes=2)),
       ValueError, r"`y`.*one label per example \(40 examples\).*Received: y='30 labels'"),
    _c("CosineClassifierHead-scale-zero", "few_shot heads",
       _bare(lambda: kt.few_shot.CosineClassifierHead(3, scale=0)),
       ValueError, r"`scale`.*> 0.*Received: scale=0"),
    _c("ZeroShotHead-nan-class-embeddings", "few_shot heads",
       _bare(lambda: kt.few_shot.ZeroShotHead(np.full((3, 4), np.nan))),
       ValueError, r"`class_embeddings`.*finite.*Received: class_embeddings='array with 12 non-finite values'"),
    _c("L2SP-anchored-string", "L2SP",
       _bare(lambda: kt.regularizers.L2SP(0.1, anchored="yes")),
       TypeError, r"`anchored`.*bool or None.*Received: anchored='yes'"),
    _c("apply_l2sp-negative-beta", "apply_l2sp",
       _on(tiny_classifier, lambda m: kt.regularizers.apply_l2sp(m, beta=-1)),
       ValueError, r"`beta`.*>= 0.*Received: beta=-1"),
    # --- parameter-efficient fine-tuning ---------------------------------------
    _c("lora-rank-zero", "peft.lora",
       _on(tiny_classifier, lambda m: kt.peft.lora(m, rank=0)),
       ValueError, r"`rank`.*>= 1.*Received: rank=0"),
    _c("dora-negative-alpha", "peft.dora",
       _on(tiny_classifier, lambda m: kt.peft.dora(m, alpha=-1.0)),
       ValueError, r"`alpha`.*> 0.*Received: alpha=-1.0"),
    _c("rslora-unknown-target", "peft.rslora",
       _on(tiny_classifier, lambda m: kt.peft.rslora(m, targets=["block9_conv"])),
       ValueError, r"`targets`.*Received: targets='block9_conv'.*Did you mean"),
    _c("ia3-no-layer-to-adapt", "peft.ia3",
       _bare(lambda: kt.peft.ia3(keras.Sequential([keras.Input((8, 8, 3)), keras.layers.DepthwiseConv2D(3),
                                                   keras.layers.Flatten(), keras.layers.Dense(2)]))),
       ValueError, r"`model`.*Dense, EinsumDense, Conv1D or Conv2D.*DepthwiseConv2D"),
    _c("merge-nothing-to-merge", "peft.merge",
       _on(tiny_classifier, lambda m: kt.peft.merge(m)),
       ValueError, r"`model`.*with PEFT layers.*nothing to merge"),
    _c("lora_plus_optimizer-ratio-zero", "peft.lora_plus_optimizer",
       _bare(lambda: kt.peft.lora_plus_optimizer(ratio=0)),
       ValueError, r"`ratio`.*> 0.*Received: ratio=0"),
    _c("PeftDense-lora-rank-zero", "PEFT layers",
       _bare(lambda: kt.layers.PeftDense(4, lora_rank=0)),
       ValueError, r"`lora_rank`.*>= 1.*Received: lora_rank=0"),
    # --- export, text, data ------------------------------------------------
    _c("export_saved_model-overwrite-string", "export_saved_model",
       _on(tiny_classifier, lambda m: kt.export.export_saved_model(m, "/nonexistent/reliability/export", overwrite="yes")),
       TypeError, r"`overwrite`.*a bool.*Received: overwrite='yes'"),
    _c("export_saved_model-path-int", "export_saved_model",
       _on(tiny_classifier, lambda m: kt.export.export_saved_model(m, 3)),
       TypeError, r"`path`.*str or os.PathLike.*Received: path=3"),
    _c("save_model-h5-path", "save_model",
       _on(tiny_classifier, lambda m: kt.export.save_model(m, "/nonexistent/reliability/model.h5")),
       ValueError, r"`path`.*\.keras.*Received: path='/nonexistent/reliability/model.h5'"),
    _c("build_text_classifier-num-classes-zero", "build_text_classifier",
       _bare(lambda: kt.build_text_classifier("bert_tiny_en_uncased", 0)),
       ValueError, r"`num_classes`.*>= 1.*Received: num_classes=0"),
    _c("build_text_classifier-sequence-length", "build_text_classifier",
       _bare(lambda: kt.build_text_classifier("bert_tiny_en_uncased", 2, sequence_length=1)),
       ValueError, r"`sequence_length`.*>= 2.*Received: sequence_length=1"),
    _c("image_dataset-label-out-of-range", "image_dataset",
       _bare(lambda: kt.data.image_dataset(X[:4], labels=[0, 1, 2, 3], num_classes=2)),
       ValueError, r"`labels`.*\[0, 2\).*Received: labels='labels from 0 to 3'"),
    _c("per_class_split-counts-int", "per_class_split",
       _bare(lambda: kt.data.per_class_split(np.arange(10) % 2, 9)),
       TypeError, r"`counts`.*tuple.*Received: counts=9"),
    _c("load_fashion_mnist-directory-int", "load_fashion_mnist",
       _bare(lambda: kt.data.load_fashion_mnist(3, download=False)),
       TypeError, r"`directory`.*path.*Received: directory=3"),
]


def _compiled_dann():
    features, classifier = dann_parts()
    model = kt.models.DomainAdaptationModel(features, classifier, kt.layers.DomainAdversarialHead((4,)))
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


def _compiled_mcd():
    model = kt.models.MCDModel(*dann_parts())
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


def _compiled(model):
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


def _compiled_pretrainer():
    model = kt.generative.PseudoPretrainer(tiny.classifier(3), tiny.generator())
    model.compile("adam")
    return model


# The entry points the battery covers: `docs/reliability.md` lists each of them.
ENTRY_POINTS = sorted({case.values[0] for case in CASES})


@pytest.fixture
def no_training_work(monkeypatch):
    """Records every train/test/predict function Keras builds during the call."""
    from keras.src.backend.tensorflow.trainer import TensorFlowTrainer

    built = []
    for name in ("make_train_function", "make_test_function", "make_predict_function"):
        original = getattr(TensorFlowTrainer, name)

        def record(self, *args, _name=name, _original=original, **kwargs):
            built.append(f"{_name} of {self.name}")
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(TensorFlowTrainer, name, record)
    return built


def _state(model):
    weights = [v.numpy().copy() for v in model.weights]
    optimizer = getattr(model, "optimizer", None)
    steps = int(optimizer.iterations.numpy()) if optimizer is not None and optimizer.built else 0
    return weights, steps


def test_battery_size():
    assert len(CASES) >= 40
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("entry, setup, error, pattern", CASES)
def test_bad_input_is_refused_before_training(entry, setup, error, pattern, no_training_work):
    call, watched = setup()
    before = [_state(model) for model in watched]
    with pytest.raises(error, match=pattern) as info:
        call()
    assert type(info.value) is error, f"{entry}: {type(info.value).__name__}: {info.value}"
    message = str(info.value)
    assert re.search(r"`[\w\[\]']+`", message), f"{entry}: the message names no argument: {message}"
    assert no_training_work == [], f"{entry}: training work started before the error: {no_training_work}"
    for model, (weights, steps) in zip(watched, before):
        after, after_steps = _state(model)
        assert after_steps == steps == 0, f"{entry}: optimizer of {model.name} stepped"
        for a, b in zip(weights, after):
            np.testing.assert_array_equal(a, b)


def test_docs_table_lists_every_entry_point_of_the_battery():
    import os

    path = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "reliability.md")
    with open(path) as handle:
        rows = [line for line in handle if line.startswith("| `")]
    listed = {name for row in rows for name in re.findall(r"`([^`]+)`", row.split("|")[1])}
    missing = [entry for entry in ENTRY_POINTS if entry not in listed]
    assert not missing, f"docs/reliability.md does not list: {missing}"
