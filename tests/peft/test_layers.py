"""The PEFT layers: their kernel is the formula of their method, their base stays frozen, they save unmerged."""

import keras
import numpy as np
import pytest

import keras_transfer as kt
from tests.test_case import TestCase

RNG = np.random.default_rng(0)
X = RNG.normal(size=(3, 5)).astype("float32")


def _dense(**options):
    layer = kt.layers.PeftDense(4, **options)
    layer.build((None, 5))
    if layer.lora_rank:
        layer.lora_kernel_b.assign(RNG.normal(size=layer.lora_kernel_b.shape))
    return layer


class TestKernelFormula(TestCase):
    @pytest.mark.parametrize("rank_stabilized", [False, True])
    def test_lora_and_rslora_scale(self, rank_stabilized):
        layer = _dense(lora_rank=4, lora_alpha=2.0, rank_stabilized=rank_stabilized)
        scale = 2.0 / (2.0 if rank_stabilized else 4.0)  # alpha / sqrt(r) or alpha / r
        assert layer.scale == scale
        a, b = layer.lora_kernel_a.numpy(), layer.lora_kernel_b.numpy()
        expected = layer._kernel.numpy() + scale * a @ b
        self.assertAllClose(layer.kernel, expected, atol=1e-6)
        self.assertAllClose(layer(X), X @ expected + layer.bias.numpy(), atol=1e-5)

    def test_dora_is_magnitude_times_direction(self):
        layer = _dense(lora_rank=2, dora=True)
        layer.magnitude.assign(RNG.uniform(0.5, 2.0, size=(1, 4)))
        v = layer._kernel.numpy() + layer.lora_kernel_a.numpy() @ layer.lora_kernel_b.numpy()
        expected = layer.magnitude.numpy() * v / np.linalg.norm(v, axis=0, keepdims=True)
        self.assertAllClose(layer.kernel, expected, atol=1e-6)
        # The column norms of the kernel are the magnitudes.
        self.assertAllClose(np.linalg.norm(layer.kernel.numpy(), axis=0), layer.magnitude.numpy()[0], atol=1e-5)

    @pytest.mark.parametrize("axis", ["output", "input"])
    def test_ia3_scales_output_or_input_units_and_starts_at_ones(self, axis):
        layer = _dense(ia3=axis)
        assert layer.ia3_scale.shape == ((1, 4) if axis == "output" else (5, 1))
        self.assertAllEqual(layer.ia3_scale.numpy(), np.ones(layer.ia3_scale.shape))
        self.assertAllClose(layer(X), X @ layer._kernel.numpy() + layer.bias.numpy(), atol=1e-6)
        scale = RNG.uniform(0.5, 2.0, size=layer.ia3_scale.shape).astype("float32")
        layer.ia3_scale.assign(scale)
        if axis == "output":
            expected = (X @ layer._kernel.numpy()) * scale + layer.bias.numpy()
        else:
            expected = (X * scale[:, 0]) @ layer._kernel.numpy() + layer.bias.numpy()
        self.assertAllClose(layer(X), expected, atol=1e-5)

    def test_einsum_and_convolutions_start_as_the_plain_layer_with_one_magnitude_per_output_unit(self):
        cases = [
            (kt.layers.PeftEinsumDense, keras.layers.EinsumDense, ("abc,cde->abde",), {"output_shape": (None, 2, 3)},
             (2, 4, 6), (1, 2, 3)),
            (kt.layers.PeftEinsumDense, keras.layers.EinsumDense, ("abcd,cde->abe",), {"output_shape": (None, 5)},
             (2, 4, 2, 3), (1, 1, 5)),
            (kt.layers.PeftConv1D, keras.layers.Conv1D, (4, 3), {}, (2, 8, 3), (1, 1, 4)),
            (kt.layers.PeftConv2D, keras.layers.Conv2D, (4, 3), {}, (2, 6, 6, 3), (1, 1, 1, 4)),
        ]
        for peft_cls, keras_cls, args, kwargs, shape, magnitude_shape in cases:
            x = RNG.normal(size=shape).astype("float32")
            plain = keras_cls(*args, **kwargs)
            expected = plain(x)
            layer = peft_cls(*args, lora_rank=2, dora=True, **kwargs)
            layer.build(shape)
            for variable, value in zip(layer._base_variables(), plain.weights):  # kernel (and bias)
                variable.assign(value)
            layer.reset_peft()
            assert layer.magnitude.shape == magnitude_shape, peft_cls
            self.assertAllClose(layer(x), expected, atol=1e-5)
            self.run_serialization_test(layer)


class TestTrainingState(TestCase):
    def test_kernel_and_bias_stay_frozen_when_the_layer_is_unfrozen(self):
        layer = _dense(lora_rank=2, dora=True)
        layer.trainable = False
        assert not layer.trainable_weights
        layer.trainable = True
        assert [v.name for v in layer.trainable_weights] == ["lora_kernel_a", "lora_kernel_b", "magnitude"]
        assert [v.name for v in layer.non_trainable_weights] == ["kernel", "bias"]

    def test_saves_its_factors_unmerged_and_loads_a_keras_merged_kernel(self):
        inputs = keras.Input((5,))
        model = keras.Model(inputs, kt.layers.PeftDense(4, lora_rank=2, lora_alpha=6, name="p")(inputs))
        layer = model.get_layer("p")
        layer.lora_kernel_b.assign(RNG.normal(size=(2, 4)))
        revived = self.run_model_saving_test(model, X, atol=1e-6).get_layer("p")
        # Keras's own LoRA layers save K + s * A @ B and zero both factors on load (they cannot train
        # again); these keep K, A and B as they were, and the alpha Keras's Dense drops when rebuilt.
        self.assertAllEqual(revived._kernel.numpy(), layer._kernel.numpy())
        self.assertAllEqual(revived.lora_kernel_b.numpy(), layer.lora_kernel_b.numpy())
        assert revived.scale == 3.0
        # A Keras-merged save (kernel and bias only) restarts the method from that kernel.
        merged = layer.kernel.numpy()
        revived.load_own_variables({"0": merged, "1": layer.bias.numpy()})
        self.assertAllEqual(revived.lora_kernel_b.numpy(), np.zeros((2, 4)))
        self.assertAllClose(revived(X), layer(X), atol=1e-5)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match=r"`lora_rank`.*>= 1.*Received: lora_rank=0"):
        kt.layers.PeftDense(3, lora_rank=0)
    with pytest.raises(ValueError, match=r"`lora_alpha`.*> 0.*Received: lora_alpha=-1"):
        kt.layers.PeftDense(3, lora_rank=2, lora_alpha=-1)
    with pytest.raises(ValueError, match=r"`ia3`.*'output'.*Received: ia3='middle'"):
        kt.layers.PeftDense(3, ia3="middle")
    with pytest.raises(ValueError, match=r"`lora_rank`.*`dora`.*Received: lora_rank=None"):
        kt.layers.PeftConv2D(3, 3, dora=True)
    with pytest.raises(ValueError, match=r"`lora_rank`.*would add nothing"):
        kt.layers.PeftEinsumDense("ab,bc->ac", output_shape=3)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_trains_the_float32_factors(policy):
    keras.config.set_dtype_policy(policy)
    inputs = keras.Input((6, 6, 3))
    x = kt.layers.PeftConv2D(4, 3, lora_rank=2, dora=True, name="conv")(inputs)
    x = kt.layers.PeftDense(3, ia3="output", name="dense")(keras.layers.Flatten()(x))
    model = keras.Model(inputs, keras.layers.Activation("softmax", dtype="float32")(x))
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy", jit_compile=True)
    layer = model.get_layer("conv")
    assert layer.lora_kernel_b.dtype == layer.magnitude.dtype == "float32"
    before = [v.numpy().copy() for v in model.trainable_variables]
    history = model.fit(RNG.normal(size=(8, 6, 6, 3)), np.arange(8) % 3, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert all(not np.array_equal(b, v.numpy()) for b, v in zip(before, model.trainable_variables))
