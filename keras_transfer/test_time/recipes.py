"""The `"bn_adapt"`, `"tent"` and `"shot"` strategies: a trained source classifier adapts to `target`."""

import keras

from keras_transfer import _checks
from keras_transfer.strategies.registry import register_strategy
from keras_transfer.strategies.strategy import Strategy
from keras_transfer.test_time.bn_adapt import BNAdapt
from keras_transfer.test_time.shot import SHOT
from keras_transfer.test_time.tent import TENT


def _stream_history(model, target, batch_size, verbose, entropy_of=None):
    """Predicts the whole target stream once (adapting, for TENT); logs its mean entropy when known."""
    probabilities = model.predict(target, batch_size=batch_size, verbose=verbose)
    history = keras.callbacks.History()
    history.set_model(model)
    history.epoch = [0]
    history.history = {} if entropy_of is None else {"entropy": [float(entropy_of(probabilities))]}
    return history, probabilities


def bn_adapt(context, *, prior=0.0):
    """Predicts with test-batch BatchNorm statistics; no training."""
    model = BNAdapt(context.source_model, prior=prior)
    history, probabilities = _stream_history(model, context.target, context.batch_size, context.verbose)
    return model, history, {"target_probabilities": probabilities}


def tent(context, *, steps=1, episodic=False):
    """Adapts while predicting the target stream (`epochs` passes); the returned model goes on adapting."""
    model = TENT(context.source_model, optimizer=keras.optimizers.Adam(context.learning_rate), steps=steps, episodic=episodic)
    if context.jit_compile is True:
        model.compile(jit_compile=True)
    entropies = []
    for _ in range(context.epochs):
        history, probabilities = _stream_history(model, context.target, context.batch_size, context.verbose, model.entropy)
        entropies += history.history["entropy"]
    history.epoch, history.history = list(range(context.epochs)), {"entropy": entropies}
    return model, history, {"target_probabilities": probabilities}


def _split(source_model, feature_layer):
    """`(feature_extractor, classifier)`: split before the last layer, or after `feature_layer`."""
    if not getattr(source_model, "inputs", None):
        raise _checks.invalid("source_model", "a functional or Sequential Keras model (SHOT splits its graph)", source_model)
    if feature_layer is None:
        classifier = source_model.layers[-1]
        features = classifier._inbound_nodes[0].input_tensors[0]  # its input in this model's graph
        return keras.Model(source_model.inputs, features, name="feature_extractor"), classifier
    names = [layer.name for layer in source_model.layers]
    if feature_layer not in names:
        raise _checks.invalid("feature_layer", "the name of a top-level layer of `source_model`", feature_layer,
                              _checks.suggest(feature_layer, names))
    features = source_model.get_layer(feature_layer).output
    return (keras.Model(source_model.inputs, features, name="feature_extractor"),
            keras.Model(features, source_model.outputs[0], name="classifier"))


def shot(context, *, feature_layer=None, pseudo_label_weight=0.3, diversity_weight=1.0):
    """SHOT on a copy of the source model split at `feature_layer` (default: before its last layer)."""
    copy = keras.models.clone_model(context.source_model)
    copy.set_weights(context.source_model.get_weights())
    feature_extractor, classifier = _split(copy, feature_layer)
    model = SHOT(feature_extractor, classifier, pseudo_label_weight=pseudo_label_weight, diversity_weight=diversity_weight)
    model.compile(optimizer=keras.optimizers.Adam(context.learning_rate), jit_compile=context.jit_compile)
    history = model.fit(
        context.target, epochs=context.epochs, batch_size=context.batch_size, verbose=context.verbose,
        callbacks=list(context.callbacks), validation_data=context.validation_data,
    )
    return model, history, {"feature_extractor": feature_extractor, "classifier": classifier}


register_strategy(Strategy(
    "bn_adapt", bn_adapt, requires=("target",), starts_from="source_model", trains=False,
    paper='Schneider et al., "Improving robustness against common corruptions by covariate shift adaptation", NeurIPS 2020',
    when="A trained model with BatchNorm and shifted test images (noise, blur, contrast): test-batch statistics, no training.",
    options={"prior": 0.0}, page="test_time.md", builds=(BNAdapt,),
))
register_strategy(Strategy(
    "tent", tent, requires=("target",), starts_from="source_model", epochs=1,
    paper='Wang et al., "Tent: Fully Test-Time Adaptation by Entropy Minimization", ICLR 2021',
    when="As bn_adapt, adapting further while predicting: entropy minimisation of the normalization parameters.",
    options={"steps": 1, "episodic": False}, page="test_time.md", builds=(TENT,),  # epochs: passes over target
))
register_strategy(Strategy(
    "shot", shot, requires=("target",), accepts=("target",), starts_from="source_model", learning_rate=1e-4, epochs=10,
    paper='Liang, Hu & Feng, "Do We Really Need to Access the Source Data?" (SHOT), ICML 2020',
    when="A trained source model but no source data, and many unlabelled target images: adapt the features, keep the classifier.",
    options={"feature_layer": None, "pseudo_label_weight": 0.3, "diversity_weight": 1.0},
    page="test_time.md", section="shot", builds=(SHOT,),
))
