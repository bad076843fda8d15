"""The reparametrised kernel the PEFT layers share.

A PEFT layer is a Keras `Dense`, `EinsumDense`, `Conv1D` or `Conv2D` whose
kernel `K` stays frozen and whose computation uses

    K' = l * dora(K + s * A @ B)

- `A @ B`, `s`: Keras's own LoRA factors (`enable_lora`: `lora_kernel_a`
  of shape `K.shape[:-1] + (r,)`, `lora_kernel_b` of shape `(r, K.shape[-1])`,
  `B` zero at the start) scaled by `s = lora_alpha / r` (LoRA, Keras's own
  scale) or `lora_alpha / sqrt(r)` (rsLoRA, `rank_stabilized=True`);
- `dora(V) = m * V / ||V||`: DoRA's magnitude `m` (one per output unit,
  trainable, started at `||K||`) times the direction of `V`, the norm taken
  over the kernel's input axes and treated as a constant in the gradient
  (the paper's Section 4.3);
- `l`: IA3's scaling vector, ones at the start, over the kernel's output
  units (`ia3="output"`: the layer's pre-activation outputs, bias aside) or
  its input units (`ia3="input"`: the layer's inputs, e.g. the activations
  of a transformer's feed-forward block).

Each term is linear in `K`, so `K'` folds into a plain kernel
(`keras_transfer.peft.merge`). The kernel and bias are frozen variables;
only `A`, `B`, `m` and `l` train. The layer saves its variables unmerged
(Keras's own LoRA layers save the merged kernel and zero both factors on
load, so a reloaded model's LoRA cannot train again).
"""

import keras
from keras import ops

from keras_transfer import _checks

IA3_AXES = (None, "output", "input")
_EPSILON = 1e-12


def check_options(lora_rank, lora_alpha, rank_stabilized, dora, ia3):
    """The checked PEFT options of a layer."""
    rank, alpha = lora_rank, lora_alpha
    if rank is not None:
        rank = _checks.check_int("lora_rank", rank, minimum=1)
    if alpha is not None:
        alpha = _checks.check_float("lora_alpha", alpha, minimum=0.0, exclusive_minimum=True)
    if not isinstance(rank_stabilized, bool):
        raise _checks.invalid("rank_stabilized", "a bool", rank_stabilized, error=TypeError)
    if not isinstance(dora, bool):
        raise _checks.invalid("dora", "a bool", dora, error=TypeError)
    _checks.check_choice("ia3", ia3, IA3_AXES)
    if rank is None and (dora or alpha is not None or rank_stabilized):
        raise _checks.invalid("lora_rank", "an integer >= 1 with `lora_alpha`, `rank_stabilized` or `dora`", rank)
    if rank is None and ia3 is None:
        raise _checks.invalid("lora_rank", "an integer >= 1, or `ia3` set (the layer would add nothing)", rank)
    return rank, alpha, rank_stabilized, dora, ia3


class PeftKernel:
    """Mixin put before a Keras layer class that computes with `self.kernel`."""

    def __init__(
        self, *args, lora_rank=None, lora_alpha=None, rank_stabilized=False, dora=False, ia3=None, **kwargs
    ):
        options = check_options(lora_rank, lora_alpha, rank_stabilized, dora, ia3)
        super().__init__(*args, **kwargs)
        self._set_peft_options(*options)

    def _set_peft_options(self, lora_rank=None, lora_alpha=None, rank_stabilized=False, dora=False, ia3=None):
        self.lora_rank, self.lora_alpha, self.rank_stabilized, self.dora, self.ia3 = check_options(
            lora_rank, lora_alpha, rank_stabilized, dora, ia3
        )
        self.peft_enabled = False

    def build(self, input_shape):
        rank, self.lora_rank = self.lora_rank, None  # Keras's build would enable LoRA itself (losing Dense's alpha)
        super().build(input_shape)
        self.lora_rank = rank
        self._enable_peft()

    # === Shapes ===

    def _input_axes(self):
        """The kernel axes that the inputs contract with (Dense, convolutions: all but the last)."""
        return tuple(range(len(self._kernel.shape) - 1))

    def _kept_shape(self, reduced_axes):
        return tuple(1 if i in reduced_axes else int(d) for i, d in enumerate(self._kernel.shape))

    def _output_axes(self):
        return tuple(i for i in range(len(self._kernel.shape)) if i not in self._input_axes())

    @property
    def trainable(self):
        return keras.layers.Layer.trainable.fget(self)

    @trainable.setter
    def trainable(self, value):
        # Keras sets every variable of the layer; the kernel and bias stay frozen.
        keras.layers.Layer.trainable.fset(self, value)
        if getattr(self, "peft_enabled", False):
            for variable in self._base_variables():
                variable.trainable = False

    @property
    def scale(self):
        """The LoRA scale `s`: `lora_alpha / lora_rank`, or `lora_alpha / sqrt(lora_rank)` when rank-stabilised."""
        if not self.lora_rank:
            return None
        alpha = float(self.lora_rank if self.lora_alpha is None else self.lora_alpha)
        return alpha / (self.lora_rank**0.5 if self.rank_stabilized else self.lora_rank)

    # === Variables ===

    def _enable_peft(self):
        """Adds the method's variables to the built layer and freezes its kernel and bias."""
        if getattr(self, "quantization_mode", None) is not None:
            raise ValueError(f"Layer {self.name!r} is quantized ({self.quantization_mode}); PEFT needs a float kernel.")
        if getattr(self, "kernel_constraint", None) is not None:
            raise ValueError(f"Layer {self.name!r} has a kernel constraint, which PEFT layers do not support.")
        if self.lora_rank:
            # Keras's LoRA (which locks the layer's tracker again when done).
            self.enable_lora(self.lora_rank, lora_alpha=self.lora_alpha)
        self._tracker.unlock()
        if self.dora:
            self.magnitude = self.add_weight(
                name="magnitude", shape=self._kept_shape(self._input_axes()), initializer="ones", dtype="float32"
            )
        if self.ia3:
            reduced = self._input_axes() if self.ia3 == "output" else self._output_axes()
            self.ia3_scale = self.add_weight(
                name="ia3_scale", shape=self._kept_shape(reduced), initializer="ones", dtype="float32"
            )
        self._tracker.lock()
        if self.dora:  # m = ||K||: the layer starts as the plain layer
            self.magnitude.assign(self._column_norm(ops.cast(self._kernel, "float32")))
        self._kernel.trainable = False
        if getattr(self, "bias", None) is not None:
            self.bias.trainable = False
        self.peft_enabled = True

    def reset_peft(self):
        """Restarts the method from the current kernel: `B = 0`, `m = ||K||`, `l = 1` (output = base output)."""
        if self.lora_rank:
            self.lora_kernel_b.assign(ops.zeros(self.lora_kernel_b.shape))
        if self.dora:
            self.magnitude.assign(self._column_norm(ops.cast(self._kernel, "float32")))
        if self.ia3:
            self.ia3_scale.assign(ops.ones(self.ia3_scale.shape))

    @property
    def peft_variables(self):
        """The variables the method trains, in a fixed order."""
        variables = []
        if self.lora_rank:
            variables += [self.lora_kernel_a, self.lora_kernel_b]
        if self.dora:
            variables.append(self.magnitude)
        if self.ia3:
            variables.append(self.ia3_scale)
        return variables

    def _base_variables(self):
        return [self._kernel] + ([self.bias] if getattr(self, "bias", None) is not None else [])

    # === The kernel ===

    def _column_norm(self, kernel):
        squares = ops.sum(ops.square(kernel), axis=self._input_axes(), keepdims=True)
        return ops.sqrt(ops.maximum(squares, _EPSILON))

    def merged_kernel(self):
        """`K'` in float32: the plain kernel that computes what this layer computes."""

        def read(variable):  # under a mixed policy, `call` reads variables in the compute dtype
            return ops.cast(variable, "float32")

        kernel = read(self._kernel)
        if self.lora_rank:
            kernel = kernel + self.scale * ops.matmul(read(self.lora_kernel_a), read(self.lora_kernel_b))
        if self.dora:
            kernel = read(self.magnitude) * kernel / ops.stop_gradient(self._column_norm(kernel))
        if self.ia3:
            kernel = kernel * read(self.ia3_scale)
        return kernel

    @property
    def kernel(self):
        if not getattr(self, "peft_enabled", False):
            return super().kernel
        return ops.cast(self.merged_kernel(), self.compute_dtype)

    # === Saving (unmerged) ===

    def save_own_variables(self, store):
        if not self.built:
            return
        for i, variable in enumerate(self._base_variables() + self.peft_variables):
            store[str(i)] = variable

    def load_own_variables(self, store):
        if not self.built:
            return
        base, extra = self._base_variables(), self.peft_variables
        if len(store) == len(base):  # saved by Keras's own LoRA (merged kernel): the method restarts from it
            targets = base
        elif len(store) == len(base) + len(extra):
            targets = base + extra
        else:
            raise ValueError(
                f"Layer {self.name!r} expected {len(base) + len(extra)} variables to load (kernel, bias and the "
                f"PEFT variables), got {len(store)}."
            )
        for i, variable in enumerate(targets):
            variable.assign(store[str(i)])
        if targets is base:
            self.reset_peft()

    # === Config ===

    def get_config(self):
        config = super().get_config()
        config.update({
            "lora_rank": self.lora_rank,
            "lora_alpha": self.lora_alpha,
            "rank_stabilized": self.rank_stabilized,
            "dora": self.dora,
            "ia3": self.ia3,
        })
        return config


def peft_options(config):
    """Splits a PEFT layer config into (Keras layer config, PEFT options)."""
    config = dict(config)
    options = {key: config.pop(key) for key in ("lora_rank", "lora_alpha", "rank_stabilized", "dora", "ia3") if key in config}
    return config, options


KERAS_LINEAR = (keras.layers.Dense, keras.layers.EinsumDense, keras.layers.Conv1D, keras.layers.Conv2D)
