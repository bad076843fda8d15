"""`AdapterTransformerEncoder`: a transformer encoder layer with Houlsby adapters inside."""

import keras
from keras import ops

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.peft.adapter import BottleneckAdapter
from keras_transfer.peft.adapter import check_activation

POSITIONS = ("attention", "feedforward")


def check_positions(name, positions):
    """A non-empty subset of `("attention", "feedforward")`, as a tuple in that order."""
    if isinstance(positions, str):
        positions = (positions,)
    if not isinstance(positions, (tuple, list)) or not positions:
        raise _checks.invalid(name, f"a non-empty list of {POSITIONS}", positions, error=TypeError)
    for position in positions:
        _checks.check_choice(name, position, POSITIONS)
    return tuple(p for p in POSITIONS if p in positions)


def _attention_mask(inputs, padding_mask, attention_mask):
    """The `(batch, 1 or queries, keys)` mask of self-attention, or `None`."""
    mask = padding_mask if padding_mask is not None else getattr(inputs, "_keras_mask", None)
    if mask is not None:
        mask = ops.cast(ops.expand_dims(mask, axis=1), "int32")
    if attention_mask is not None:
        attention_mask = ops.cast(attention_mask, "int32")
        mask = attention_mask if mask is None else ops.minimum(mask, attention_mask)
    return mask


@keras_transfer_export("keras_transfer.layers.AdapterTransformerEncoder")
class AdapterTransformerEncoder(keras.layers.Layer):
    """A transformer encoder layer with bottleneck adapters, its own weights frozen.

    Computes what `keras_hub.layers.TransformerEncoder` computes with the same
    arguments and weights (self-attention, then a feed-forward block, each
    with a residual connection and a LayerNorm, after it or, with
    `normalize_first=True`, before it), plus a
    `keras_transfer.layers.BottleneckAdapter` applied to the output of the
    attention block and of the feed-forward block before each residual
    addition, as in Houlsby et al. (2019). The adapters start as the
    identity, so the layer starts equal to the encoder it replaces.

    Only the adapters train (and the two LayerNorms, with
    `train_layer_norm=True`, as in the paper): the attention and feed-forward
    weights are frozen variable by variable, like the kernel of Keras's own
    LoRA (`Dense.enable_lora`), so dropout inside the layer still acts during
    training. They stay frozen whatever `trainable` is set to (`trainable`
    switches the adapters on and off), also in a loaded model; to fine-tune
    them, fine-tune the original encoder instead.
    `keras_transfer.peft.add_adapters` rebuilds a keras-hub backbone
    with these layers and copies the pretrained weights in: a built keras-hub
    layer takes no new sublayers.

    Args:
        intermediate_dim: hidden size of the feed-forward block.
        num_heads: number of attention heads.
        adapter_units: bottleneck size of each adapter (an int >= 1).
        adapter_activation: the adapters' nonlinearity. Defaults to `"relu"`.
        adapter_positions: where adapters go, among `"attention"` and
            `"feedforward"`. Defaults to both (Houlsby); `("feedforward",)` is
            the single-adapter placement of Pfeiffer et al. (2021).
        train_layer_norm: whether the layer's LayerNorms train. Defaults to
            `True`.
        dropout: dropout rate of attention and feed-forward outputs.
            Defaults to `0.0`.
        activation: the feed-forward activation. Defaults to `"relu"`.
        layer_norm_epsilon: LayerNorm epsilon. Defaults to `1e-5`.
        kernel_initializer: initializer of the attention and feed-forward
            kernels. Defaults to `"glorot_uniform"`.
        bias_initializer: initializer of their biases. Defaults to `"zeros"`.
        normalize_first: pre-LayerNorm (GPT-2 style) instead of post
            (BERT style). Defaults to `False`.
        **kwargs: `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: `(batch, sequence, hidden)` token states.
        padding_mask: optional `(batch, sequence)` mask, 1 for real tokens.
        attention_mask: optional `(batch, sequence, sequence)` mask.
        training: whether dropout acts.

    Example:

    >>> import numpy as np, keras_transfer
    >>> layer = keras_transfer.layers.AdapterTransformerEncoder(
    ...     intermediate_dim=16, num_heads=2, adapter_units=2)
    >>> tuple(layer(np.zeros((1, 4, 8), "float32")).shape)
    (1, 4, 8)
    >>> [w.path.split("/", 1)[1] for w in layer.trainable_weights][:2]
    ['self_attention_layer_norm/gamma', 'self_attention_layer_norm/beta']

    Reference:
        Houlsby et al., "Parameter-Efficient Transfer Learning for NLP",
        ICML 2019 (https://arxiv.org/abs/1902.00751).
    """

    def __init__(
        self,
        intermediate_dim,
        num_heads,
        adapter_units,
        adapter_activation="relu",
        adapter_positions=POSITIONS,
        train_layer_norm=True,
        dropout=0.0,
        activation="relu",
        layer_norm_epsilon=1e-5,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        normalize_first=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.intermediate_dim = _checks.check_int("intermediate_dim", intermediate_dim, minimum=1)
        self.num_heads = _checks.check_int("num_heads", num_heads, minimum=1)
        self.adapter_units = _checks.check_int("adapter_units", adapter_units, minimum=1)
        self.adapter_activation = check_activation("adapter_activation", adapter_activation)
        self.adapter_positions = check_positions("adapter_positions", adapter_positions)
        if not isinstance(train_layer_norm, bool):
            raise _checks.invalid("train_layer_norm", "a bool", train_layer_norm, error=TypeError)
        self.train_layer_norm = train_layer_norm
        self.dropout = _checks.check_float("dropout", dropout, minimum=0.0, maximum=1.0)
        if "keras_hub" in str(activation):  # keras-hub's own activations (BERT's gelu) register on import
            import keras_hub  # noqa: F401
        self.activation = keras.activations.get(activation)
        self.layer_norm_epsilon = layer_norm_epsilon
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.normalize_first = bool(normalize_first)
        self.supports_masking = True

    def _initializers(self):
        return dict(
            kernel_initializer=keras.initializers.get(keras.initializers.serialize(self.kernel_initializer)),
            bias_initializer=keras.initializers.get(keras.initializers.serialize(self.bias_initializer)),
            dtype=self.dtype_policy,
        )

    def build(self, inputs_shape):
        hidden_dim = int(inputs_shape[-1])
        if hidden_dim < self.num_heads:
            raise _checks.invalid("inputs", f"a hidden size >= num_heads={self.num_heads}", inputs_shape)
        # Sublayer names are keras-hub's, so that its weights map one to one.
        self.self_attention_layer = keras.layers.MultiHeadAttention(
            self.num_heads, hidden_dim // self.num_heads, dropout=self.dropout, name="self_attention_layer",
            **self._initializers(),
        )
        self.self_attention_layer.build(query_shape=inputs_shape, value_shape=inputs_shape)
        norm = dict(epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy)
        self.self_attention_layer_norm = keras.layers.LayerNormalization(name="self_attention_layer_norm", **norm)
        self.self_attention_layer_norm.build(inputs_shape)
        self.self_attention_dropout = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy,
                                                           name="self_attention_dropout")
        self.feedforward_layer_norm = keras.layers.LayerNormalization(name="feedforward_layer_norm", **norm)
        self.feedforward_layer_norm.build(inputs_shape)
        self.feedforward_intermediate_dense = keras.layers.Dense(
            self.intermediate_dim, activation=self.activation, name="feedforward_intermediate_dense",
            **self._initializers(),
        )
        self.feedforward_intermediate_dense.build(inputs_shape)
        self.feedforward_output_dense = keras.layers.Dense(
            hidden_dim, name="feedforward_output_dense", **self._initializers()
        )
        self.feedforward_output_dense.build((*inputs_shape[:-1], self.intermediate_dim))
        self.feedforward_dropout = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy,
                                                        name="feedforward_dropout")
        for position in POSITIONS:
            adapter = None
            if position in self.adapter_positions:
                adapter = BottleneckAdapter(
                    self.adapter_units, self.adapter_activation, dtype=self.dtype_policy, name=f"{position}_adapter"
                )
                adapter.build(inputs_shape)
            setattr(self, f"{position}_adapter", adapter)
        self._freeze_base()

    def base_layers(self):
        """The sublayers holding the encoder's own (pretrained) weights."""
        layers = [self.self_attention_layer, self.feedforward_intermediate_dense, self.feedforward_output_dense]
        if not self.train_layer_norm:
            layers += [self.self_attention_layer_norm, self.feedforward_layer_norm]
        return layers

    @property
    def trainable(self):
        return keras.layers.Layer.trainable.fget(self)

    @trainable.setter
    def trainable(self, value):
        keras.layers.Layer.trainable.fset(self, value)  # cascades to the sublayers and their variables
        if self.built:
            self._freeze_base()

    def _freeze_base(self):
        for layer in self.base_layers():
            for variable in layer.weights:
                variable.trainable = False

    def _block(self, position, x, residual, layer_norm, training):
        """Dropout, the adapter (if any), the residual and the post-LayerNorm of one block."""
        dropout = self.self_attention_dropout if position == "attention" else self.feedforward_dropout
        x = dropout(x, training=training)
        adapter = getattr(self, f"{position}_adapter")
        if adapter is not None:
            x = adapter(x)
        x = x + residual
        return x if self.normalize_first else layer_norm(x)

    def call(self, inputs, padding_mask=None, attention_mask=None, training=None):
        mask = _attention_mask(inputs, padding_mask, attention_mask)
        x = self.self_attention_layer_norm(inputs) if self.normalize_first else inputs
        x = self.self_attention_layer(query=x, value=x, attention_mask=mask, training=training)
        x = self._block("attention", x, inputs, self.self_attention_layer_norm, training)
        residual = x
        if self.normalize_first:
            x = self.feedforward_layer_norm(x)
        x = self.feedforward_output_dense(self.feedforward_intermediate_dense(x))
        return self._block("feedforward", x, residual, self.feedforward_layer_norm, training)

    def compute_output_shape(self, inputs_shape):
        return inputs_shape

    def get_config(self):
        config = super().get_config()
        config.update({
            "intermediate_dim": self.intermediate_dim,
            "num_heads": self.num_heads,
            "adapter_units": self.adapter_units,
            "adapter_activation": self.adapter_activation,
            "adapter_positions": list(self.adapter_positions),
            "train_layer_norm": self.train_layer_norm,
            "dropout": self.dropout,
            "activation": keras.activations.serialize(self.activation),
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            "normalize_first": self.normalize_first,
        })
        return config
