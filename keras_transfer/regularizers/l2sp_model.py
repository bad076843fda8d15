"""`L2SPModel` and `apply_l2sp`: fine-tuning pulled toward the pretrained weights."""

import keras
import numpy as np

from keras_transfer import _checks
from keras_transfer.groups.naming import check_group_names
from keras_transfer.groups.naming import layer_groups
from keras_transfer.groups.variables import trainable_capable_variables
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.models.transfer_model import TransferModel
from keras_transfer.regularizers.l2sp import L2SP


class _Sum:
    """Two weight regularisers on one variable (the user's and L2-SP)."""

    def __init__(self, first, second):
        self.first = first
        self.second = second

    def __call__(self, x):
        return self.first(x) + self.second(x)


def _input_structure(model):
    """The symbolic inputs of a functional or Sequential model, in their structure."""
    structure = getattr(model, "_inputs_struct", None)
    if structure is None and isinstance(model, keras.Sequential):
        try:
            inputs = model.inputs
        except (AttributeError, ValueError):
            return None
        structure = inputs[0] if len(inputs) == 1 else inputs
    return structure


def _check_new_groups(new_groups, mapping):
    if isinstance(new_groups, str):
        new_groups = [new_groups]
    if not isinstance(new_groups, (list, tuple)):
        raise _checks.invalid("new_groups", "a group name or a list of group names", new_groups, error=TypeError)
    if not new_groups:
        return []
    return check_group_names("new_groups", list(new_groups), mapping)


@keras_transfer_export("keras_transfer.models.L2SPModel")
class L2SPModel(TransferModel, keras.Model):
    """Wraps a model so that fine-tuning it is regularised by L2-SP.

    Usually built with `keras_transfer.regularizers.apply_l2sp`. At
    construction the current weights of `model` become the *anchor*: every
    variable of the pretrained groups gets a `keras_transfer.regularizers.L2SP`
    regulariser `alpha / 2 * ||w - w0||^2`, and every variable of the new
    groups (the head) `beta / 2 * ||w||^2`. The penalties are Keras weight
    regularisers, so they are part of the loss `fit` minimises and reports
    (with `jit_compile=True`, mixed precision and distribution strategies
    alike), and only variables that currently train contribute: frozen
    groups add nothing until a `keras_transfer.callbacks.FreezeSchedule`
    unfreezes them.

    The wrapper calls `model` (sharing its layers and weights) and exposes
    its `layer_groups`, so `FreezeSchedule`, `DiscriminativeLR`,
    `keras_transfer.set_trainable` and `describe_groups` address the same
    groups. The anchors are saved with it: `model.save` /
    `keras.models.load_model` (and `save_weights` / `load_weights`) restore
    them, so training can resume toward the original pretrained values.

    Args:
        model: a functional `keras.Model` holding the pretrained weights
            (e.g. from `keras_transfer.build_classifier`).
        alpha: strength of the pull toward the pretrained values (>= 0).
            Defaults to `0.1`, the paper's value.
        beta: L2 strength on the new groups' weights (>= 0). Defaults to
            `0.01`, the paper's value.
        new_groups: names of the groups that are new (not pretrained), read
            from `keras_transfer.layer_groups(model, groups)`. Defaults to
            `"head"`.
        groups: explicit groups `{name: [layer names or regexes]}`.
        **kwargs: `name`, `trainable`.

    Example:

    >>> import numpy as np, keras, keras_transfer
    >>> inputs = keras.Input((3,))
    >>> features = keras.layers.Dense(4, name="body")(inputs)
    >>> outputs = keras.layers.Dense(2, name="head")(features)
    >>> model = keras_transfer.models.L2SPModel(
    ...     keras.Model(inputs, outputs), alpha=0.1, beta=0.0,
    ...     groups={"body": ["body"], "head": ["head"]})
    >>> round(float(model.l2sp_penalty()), 6)   # at the anchor
    0.0
    >>> body = model.model.get_layer("body")
    >>> _ = body.kernel.assign(body.kernel + 1.0)
    >>> round(float(model.l2sp_penalty()), 6)   # 0.1 / 2 * 12 ones
    0.6

    Reference:
        Li, Grandvalet & Davoine, Explicit Inductive Bias for Transfer
        Learning with Convolutional Networks (ICML 2018).
    """

    _nested_config = ("model",)

    def __init__(self, model, *, alpha=0.1, beta=0.01, new_groups="head", groups=None, **kwargs):
        if isinstance(model, L2SPModel):
            raise _checks.invalid("model", "a model without L2-SP (this one already has it)", model, error=TypeError)
        structure = _input_structure(model) if isinstance(model, keras.Model) else None
        if structure is None:
            raise _checks.invalid("model", "a functional keras.Model (or Sequential with an Input)", model, error=TypeError)
        alpha = _checks.check_float("alpha", alpha, minimum=0.0)
        beta = _checks.check_float("beta", beta, minimum=0.0)
        if groups is not None and not isinstance(groups, dict):
            raise _checks.invalid("groups", "a dict {group name: [layer names or regexes]}", groups, error=TypeError)
        mapping = layer_groups(model, groups)
        new = _check_new_groups(new_groups, mapping)

        # === Functional Model ===
        inputs = keras.tree.map_structure(lambda t: keras.Input(batch_shape=t.shape, dtype=t.dtype, name=t.name), structure)
        outputs = model(inputs)
        kwargs.setdefault("name", f"{model.name}_l2sp")
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.model = model
        self.alpha = alpha
        self.beta = beta
        self.new_groups = list(new) if not isinstance(new_groups, str) else new_groups
        self.groups = groups

        # === Regularisers (anchors are saved through this list) ===
        new_ids = {id(v) for v in trainable_capable_variables([layer for name in new for layer in mapping[name]])}
        self.l2sp_regularizers = []
        for variable in trainable_capable_variables([model]):
            if id(variable) in new_ids:
                regularizer = L2SP(beta)
            else:
                regularizer = L2SP(alpha, anchor=variable)
            existing = variable.regularizer
            if isinstance(existing, (L2SP, _Sum)):
                raise ValueError(f"Variable {variable.path!r} already has an L2-SP regulariser; apply L2-SP once.")
            variable.regularizer = regularizer if existing is None else _Sum(existing, regularizer)
            self.l2sp_regularizers.append(regularizer)

    @property
    def feature_extractor(self):
        """The wrapped model's `feature_extractor` (shares weights), if it has one."""
        extractor = getattr(self.model, "feature_extractor", None)
        if extractor is None:
            raise AttributeError(f"The wrapped model {self.model.name!r} has no `feature_extractor`.")
        return extractor

    def _pairs(self):
        # Recomputed, not stored: a list of variables set on a Keras model
        # would be tracked (and saved) as the model's own variables.
        return list(zip(trainable_capable_variables([self.model]), self.l2sp_regularizers))

    @property
    def layer_groups(self):
        """The wrapped model's groups (`keras_transfer.layer_groups(model, groups)`)."""
        return layer_groups(self.model, self.groups)

    def l2sp_penalty(self, trainable_only=True):
        """The current L2-SP penalty (a scalar), over trainable variables by default."""
        total = keras.ops.zeros((), "float32")
        training = {id(v) for v in self.trainable_weights}
        for variable, regularizer in self._pairs():
            if id(variable) in training or not trainable_only:
                total = total + regularizer(variable)
        return total

    def anchors(self):
        """`{variable path: pretrained value}` of every anchored variable."""
        return {
            variable.path: np.asarray(regularizer.anchor.numpy())
            for variable, regularizer in self._pairs()
            if regularizer.anchor is not None
        }

    def get_config(self):
        config = super().get_config()
        config.update({
            "model": keras.saving.serialize_keras_object(self.model),
            "alpha": self.alpha,
            "beta": self.beta,
            "new_groups": self.new_groups,
            "groups": self.groups,
        })
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        model = super().from_config(config, custom_objects=custom_objects)
        # The anchors (pretrained values) come from the file being loaded, not from
        # the freshly built weights: one that is not loaded refuses to run.
        for regularizer in model.l2sp_regularizers:
            if regularizer.anchored:
                regularizer.await_anchor()
        return model


@keras_transfer_export("keras_transfer.regularizers.apply_l2sp")
def apply_l2sp(model, alpha=0.1, beta=0.01, *, new_groups="head", groups=None):
    """Regularises fine-tuning toward the model's current (pretrained) weights.

    Snapshots the weights of `model` as the anchor and returns a
    `keras_transfer.models.L2SPModel` around it: fitting the returned model
    minimises the task loss plus `alpha / 2 * ||w - w0||^2` on the
    pretrained groups and `beta / 2 * ||w||^2` on the new ones (the head).
    Call it right after loading the pretrained weights, before training. If
    `model` was compiled, the returned model is compiled the same way (a
    fresh optimizer from the same config); otherwise compile it.

    It composes with `keras_transfer.callbacks.FreezeSchedule` and
    `DiscriminativeLR` (same groups), runs under `jit_compile=True`, mixed
    precision and `tf.distribute` strategies, and the anchors are saved with
    the model.

    Args:
        model: a functional `keras.Model`, e.g. from
            `keras_transfer.build_classifier`.
        alpha: pull toward the pretrained values (>= 0). Defaults to `0.1`.
        beta: L2 on the new groups (>= 0). Defaults to `0.01`.
        new_groups: the groups that are not pretrained. Defaults to
            `"head"`.
        groups: explicit groups `{name: [layer names or regexes]}`.

    Returns:
        A `keras_transfer.models.L2SPModel` sharing the layers of `model`.

    Example:

    >>> import numpy as np, keras, keras_transfer
    >>> model = keras_transfer.build_classifier(
    ...     "vgg16", 2, weights=None, input_shape=(32, 32, 3), freeze=False)
    >>> model = keras_transfer.regularizers.apply_l2sp(model, alpha=0.1, beta=0.01)
    >>> model.compile("adam", "sparse_categorical_crossentropy", jit_compile=False)
    >>> _ = model.fit(np.zeros((2, 32, 32, 3)), np.array([0, 1]), verbose=0)
    >>> list(model.layer_groups)[-1]
    'head'

    Reference:
        Li, Grandvalet & Davoine, Explicit Inductive Bias for Transfer
        Learning with Convolutional Networks (ICML 2018).
    """
    if not isinstance(model, keras.Model):
        raise _checks.invalid("model", "a keras.Model", model, error=TypeError)
    wrapped = L2SPModel(model, alpha=alpha, beta=beta, new_groups=new_groups, groups=groups)
    if getattr(model, "compiled", False):
        config = model.get_compile_config()
        if config:
            wrapped.compile_from_config(config)
    return wrapped
