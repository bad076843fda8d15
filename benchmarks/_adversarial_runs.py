"""ADDA and WDGRL in `benchmarks/domain_adaptation.py` (the same data, encoder, steps and selection as the others).

- `adda`: stage 1 is the `source_only` run (the same SGD schedule, `epochs` x
  `steps`), stage 2 `kt.models.ADDA` for `epochs` x `steps` more with Adam
  (beta_1 = 0.5, the paper's) at the grid's learning rate, for both players;
  the epoch is selected among the stage-2 epochs.
- `wdgrl`: `kt.models.WDGRL` at the grid's `alignment_weight`, the default
  critic (100 hidden units), `critic_steps=5`, `gradient_penalty_weight=10`,
  the benchmark's SGD schedule for the features and for the critic.
"""

import keras
import tensorflow as tf

import keras_transfer as kt

METHODS = ("adda", "wdgrl")
GRID = {"adda": (2e-4, 1e-3), "wdgrl": (0.1, 1.0)}  # ADDA: stage-2 learning rate; WDGRL: alignment_weight


def fit(method, weight, seed, data, config, features, head, optimizer, evaluate_cls):
    """Trains `method` on `data`; returns the `Evaluate` callback holding the per-epoch records."""
    steps, epochs, batch = config["steps"], config["epochs"], config["batch"]
    train = kt.data.domain_adaptation_dataset(source=(data["x_source"], data["y_source"]), target=data["x_target"],
                                              batch_size=batch, seed=seed).repeat()
    if method == "wdgrl":
        model = kt.models.WDGRL(features, head, alignment_weight=weight, seed=seed)
        model.compile(optimizer, "sparse_categorical_crossentropy")
    else:
        source_model = keras.Sequential([features, head])
        source_model.compile(optimizer, "sparse_categorical_crossentropy")
        source = (tf.data.Dataset.from_tensor_slices((data["x_source"], data["y_source"]))
                  .shuffle(len(data["y_source"]), seed=seed).repeat().batch(batch).prefetch(-1))
        source_model.fit(source, epochs=epochs, steps_per_epoch=steps, verbose=0)
        model = kt.models.ADDA(features, head)
        model.compile(keras.optimizers.Adam(weight, beta_1=0.5), "sparse_categorical_crossentropy")
    evaluate = evaluate_cls(data, lambda x: model.predict(x, batch_size=1024, verbose=0))
    model.fit(train, epochs=epochs, steps_per_epoch=steps, callbacks=[evaluate], verbose=0)
    return evaluate
