"""`TransferModel`: what every model of the package shares.

One class holds what the package's models need beyond `keras.Model`, so a
new method writes its `train_step` and its config, nothing else:

- `compile` and `fit` check the `tf.distribute` scope first (a model built
  under one strategy and compiled under another fails deep inside
  TensorFlow otherwise); `fit` on a `tf.data.Dataset` does not pass Keras's
  default `shuffle=True` (ignored for datasets, with a warning);
- the loss of a custom `train_step`: `_replica_loss` divides a loss computed
  on one replica's batch by the replica count (gradients are summed across
  replicas), `_track_loss` feeds the `"loss"` log the unscaled loss averaged
  over examples, `_apply_gradients` applies the gradients of the
  `optimizer.scale_loss`-ed loss (mixed precision);
- wrappers that hold frozen helpers (a teacher, a generator) train only the
  layers named in `_trained_attributes`, without mutating the user's models;
- `compile(loss="auto")` for wrappers whose loss is known
  (`_auto_loss = True`): sparse cross-entropy on the trained model's output,
  `from_logits` as `_loss_from_logits` says; `load_model` compiles again from
  the saved compile config (Keras skips it when `compile` is overridden);
- the state of the model's own `keras.random.SeedGenerator`s is saved with
  its weights (`BackupAndRestore` and `load_model` continue the stream);
- one config round trip: `get_config` starts from `name` and `trainable`,
  `from_config` deserialises the keys listed in `_nested_config` and
  restores `trainable`.

It is a mixin, put before `keras.Model`: Keras rewrites the base classes of
a `keras.Model` subclass built the functional way (`inputs=`, `outputs=`),
so a shared `keras.Model` subclass could not serve both functional models
(`TransferClassifier`, `L2SPModel`) and subclassed ones.
"""

import inspect
import warnings

import keras

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.models import _class_names
from keras_transfer.models import _replicas
from keras_transfer.models import _scope
from keras_transfer.models._seeds import SavesSeedState

_COMPILE = inspect.signature(keras.Model.compile)
# `keras.Model.fit(x, y, batch_size, epochs, verbose, callbacks, validation_split,
# validation_data, shuffle, ...)`: `shuffle` is the argument at this index.
_FIT_SHUFFLE_POSITION = 8


def _is_dataset(x):
    import tensorflow as tf

    return isinstance(x, tf.data.Dataset)


@keras_transfer_export("keras_transfer.models.TransferModel")
class TransferModel(SavesSeedState):
    """The base of every keras_transfer model: put it before `keras.Model`.

    `class MyMethod(keras_transfer.models.TransferModel, keras.Model)` gets
    what the package's own models rely on (see the module docstring of
    `keras_transfer/models/transfer_model.py`): distribution-scope checks at
    `compile` and `fit`, per-replica loss scaling for a custom `train_step`
    (`_replica_loss`, `_track_loss`, `_apply_gradients`), training only the
    attributes named in `_trained_attributes`, `compile(loss="auto")` when
    `_auto_loss` is set, seed state saved with the weights, and `from_config`
    for the keys in `_nested_config`.

    Example:

    >>> import keras, keras_transfer
    >>> from keras import ops
    >>> class Regressor(keras_transfer.models.TransferModel, keras.Model):
    ...     _nested_config = ("model",)
    ...     def __init__(self, model, **kwargs):
    ...         super().__init__(**kwargs)
    ...         self.model = model
    ...     def call(self, x, training=False):
    ...         return self.model(x, training=training)
    ...     def train_step(self, data):
    ...         import tensorflow as tf
    ...         x, y = data
    ...         with tf.GradientTape() as tape:
    ...             loss = self._replica_loss(ops.mean(ops.square(self(x, training=True) - y)))
    ...             self._track_loss(loss, ops.shape(x)[0])
    ...             scaled = self.optimizer.scale_loss(loss)
    ...         self._apply_gradients(tape, scaled, self.trainable_variables)
    ...         return {"loss": self._loss_tracker.result()}
    ...     def get_config(self):
    ...         config = super().get_config()
    ...         config["model"] = keras.saving.serialize_keras_object(self.model)
    ...         return config
    >>> model = Regressor(keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]))
    >>> model.compile("sgd")
    >>> history = model.fit(ops.ones((4, 2)), ops.ones((4, 1)), epochs=1, verbose=0)
    >>> sorted(history.history)
    ['loss']
    """

    # === Settings of subclasses ===
    _trained_attributes = None  # e.g. ("student",): only these layers train; None: Keras's own rule
    _auto_loss = False  # compile(loss="auto") -> sparse cross-entropy on the trained model's output
    _loss_from_logits = False  # read by the "auto" loss
    _nested_config = ()  # config keys holding serialised Keras objects
    # True: `fit` on one device builds the optimizer, compiled loss and metrics from the first
    # batch before the step is traced (one trace instead of two: less time before the first step)
    _build_before_tracing = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not issubclass(cls, keras.Model):
            raise TypeError(
                f"{cls.__name__} subclasses keras_transfer.models.TransferModel without keras.Model: "
                f"declare `class {cls.__name__}(TransferModel, keras.Model)`."
            )

    # === Compiling ===

    def compile(self, *args, **kwargs):
        """`keras.Model.compile`, after checking the distribution scope.

        Models with a known loss also take `loss="auto"` (their default).
        """
        _scope.check_strategy_scope(self, "compile")
        if self._auto_loss:
            bound = _COMPILE.bind_partial(self, *args, **kwargs).arguments
            bound.pop("self")
            extra = bound.pop("kwargs", {})
            bound.setdefault("optimizer", "adam")
            loss = bound.get("loss", "auto")
            if isinstance(loss, str) and loss == "auto":
                loss = keras.losses.SparseCategoricalCrossentropy(from_logits=self._loss_from_logits)
            bound["loss"] = loss
            args, kwargs = (), {**bound, **extra}
        return super().compile(*args, **kwargs)

    def compile_from_config(self, config):
        # Keras skips compiling on load when `compile` is overridden: compile
        # from the saved config (it holds the resolved loss), then build the
        # optimizer so that `load_model` restores its state.
        self.compile(**keras.saving.deserialize_keras_object(config))
        if getattr(self, "optimizer", None) is not None and self.built:
            self.optimizer.build(self.trainable_variables)

    # === Fitting ===

    def fit(self, *args, **kwargs):
        _scope.check_strategy_scope(self, "fit")
        x = args[0] if args else kwargs.get("x")
        if len(args) <= _FIT_SHUFFLE_POSITION and _is_dataset(x):
            # Keras ignores `shuffle` for datasets and warns about its default `True`;
            # the package's pipelines shuffle themselves.
            kwargs.setdefault("shuffle", False)
        return super().fit(*args, **kwargs)

    # === The loss of a custom train step ===

    def _replica_loss(self, loss):
        """Divides a loss computed on one replica's batch by the replica count."""
        replicas = _replicas.num_replicas()
        return loss if replicas == 1 else loss * (1.0 / replicas)

    def _track_loss(self, loss, batch_size):
        """Updates the `"loss"` log with a `_replica_loss`-scaled `loss`, weighted by `batch_size`."""
        tracker = getattr(self, "_loss_tracker", None)  # created by `compile`
        if tracker is not None:
            replicas = _replicas.num_replicas()
            tracker.update_state(loss if replicas == 1 else loss * replicas, sample_weight=batch_size)

    def _apply_gradients(self, tape, scaled_loss, variables):
        """Applies the gradients of `scaled_loss` (already `optimizer.scale_loss`-ed) to `variables`."""
        if not variables:
            warnings.warn(f"{self.name} has no trainable weights: this step updates nothing.", stacklevel=2)
            return
        gradients = tape.gradient(scaled_loss, variables)
        self.optimizer.apply_gradients(zip(gradients, variables))

    # === Which variables train ===

    def _trained_variables(self):
        if not self.trainable:
            return []
        seen, variables = set(), []
        for name in self._trained_attributes:
            layer = getattr(self, name, None)
            for variable in [] if layer is None else layer.trainable_weights:
                if id(variable) not in seen:
                    seen.add(id(variable))
                    variables.append(variable)
        return variables

    @property
    def trainable_weights(self):
        if self._trained_attributes is None:
            return super().trainable_weights
        return self._trained_variables()

    @property
    def trainable_variables(self):
        if self._trained_attributes is None:
            return super().trainable_variables
        return self._trained_variables()

    @property
    def non_trainable_weights(self):
        if self._trained_attributes is None:
            return super().non_trainable_weights
        trained = {id(v) for v in self._trained_variables()}
        return [v for v in self.weights if id(v) not in trained]

    @property
    def non_trainable_variables(self):
        if self._trained_attributes is None:
            return super().non_trainable_variables
        trained = {id(v) for v in self._trained_variables()}
        return [v for v in self.variables if id(v) not in trained]

    # === Config ===

    # === Class names (saved in the config) ===

    @property
    def class_names(self):
        """The names of the output classes, in output order, or `None`; saved in the `.keras` config."""
        return getattr(self, "_class_names", None)

    @class_names.setter
    def class_names(self, names):
        self._class_names = _class_names.check(names, self)

    def get_config(self):
        """`name` and `trainable` (and `class_names` when set); subclasses add their constructor arguments."""
        config = {"name": self.name, "trainable": self.trainable}
        if self.class_names is not None:
            config["class_names"] = list(self.class_names)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for key in cls._nested_config:
            if isinstance(config.get(key), dict):
                config[key] = keras.saving.deserialize_keras_object(config[key], custom_objects=custom_objects)
        trainable = config.pop("trainable", True)
        class_names = config.pop("class_names", None)
        model = cls(**config)
        if not trainable:  # `trainable = True` would cascade and unfreeze frozen layers
            model.trainable = False
        if class_names is not None:
            model.class_names = class_names
        return model

    # === Multi-worker fixes (Keras 3.15) ===
    # Keras builds a model's metrics on the first batch, which it averages over
    # the replicas with `strategy.reduce`; under `MultiWorkerMirroredStrategy`
    # that call fails for every Keras model ("Attempt to convert a value
    # (PerReplica...)"), and under `MirroredStrategy` when the first batch splits
    # unevenly. Only the batch's shapes are needed, so the first replica's part
    # of it is used. Keras also averages the logs of each step over the workers
    # with `strategy.reduce("MEAN", value, axis=0)`, which fails for scalar logs:
    # under a multi-worker strategy the step returns each scalar as a vector.

    def _make_function(self, step_function):
        if not _scope.multi_worker(self.distribute_strategy):
            return super()._make_function(step_function)

        def step_with_vector_logs(data):
            logs = step_function(data)
            return keras.tree.map_structure(
                lambda v: keras.ops.reshape(v, (1,)) if len(getattr(v, "shape", (0,))) == 0 else v, logs
            )

        return super()._make_function(step_with_vector_logs)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        distributed = getattr(self, "_distribute_strategy", None) is not None
        if iterator is None or not (distributed or self._build_before_tracing):
            return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)
        import tensorflow as tf

        strategy = self.distribute_strategy
        if not distributed:
            # One device: Keras defers building to the first trace of the step, whose new
            # variables (optimizer slots, compiled metrics) make TensorFlow trace it twice.
            # The element spec gives the shapes without taking a batch from the iterator.
            for _, _, it in iterator:
                spec = it.element_spec
                break
            with strategy.scope():
                self._symbolic_build(data_batch=spec)
            return None
        for _, _, it in iterator:  # as Keras does: the first batch of the epoch iterator
            batch = next(it)
            data_batch = keras.tree.map_structure(
                lambda v: strategy.experimental_local_results(v)[0]
                if isinstance(v, tf.distribute.DistributedValues) else v,
                batch,
            )
            break
        return super()._maybe_symbolic_build(data_batch=data_batch)


def check_model(name, value, kind=keras.Model):
    """`value` if it is a `kind` (a Keras model by default), else a `TypeError` naming `name`."""
    if not isinstance(value, kind):
        what = "a Keras model" if kind is keras.Model else "a Keras layer or model"
        raise _checks.invalid(name, what, value, error=TypeError)
    return value
