"""LoRA, rsLoRA, DoRA, IA3 and LoRA+ on an image classifier: start as the base, train only their variables."""

import keras
import numpy as np
import pytest

import keras_transfer as kt
from tests.distributed import run_distributed
from tests.test_case import TestCase, tiny_classifier, tiny_data

X, Y = tiny_data(n=16)
CONVS = ("block1_conv", "block2_conv", "block3_conv")
METHODS = {
    "lora": (kt.peft.lora, ("lora_kernel_a", "lora_kernel_b")),
    "rslora": (kt.peft.rslora, ("lora_kernel_a", "lora_kernel_b")),
    "dora": (kt.peft.dora, ("lora_kernel_a", "lora_kernel_b", "magnitude")),
    "ia3": (kt.peft.ia3, ("ia3_scale",)),
}
PEFT_NAMES = {"lora_kernel_a", "lora_kernel_b", "magnitude", "ia3_scale"}


def _base():
    keras.utils.set_random_seed(3)
    return tiny_classifier(3)


def _layer(model, name):
    return next(layer for layer in model._flatten_layers() if layer.name == name)


class TestMethods(TestCase):
    @pytest.mark.parametrize(
        "name", ["lora", "dora", pytest.param("rslora", marks=pytest.mark.large), pytest.param("ia3", marks=pytest.mark.large)]
    )
    def test_starts_as_the_base_trains_only_its_variables_saves_and_merges(self, name):
        method, variables = METHODS[name]
        base = _base()
        base_weights = [w.numpy().copy() for w in base.weights]
        model = method(base, **({} if name == "ia3" else {"rank": 2}))
        expected = base.predict(X, verbose=0)
        self.assertAllClose(model.predict(X, verbose=0), expected, atol=1e-6)
        trainable = {v.path for v in model.trainable_variables}
        assert trainable == {f"{c}/{v}" for c in CONVS for v in variables} | {"predictions/kernel", "predictions/bias"}
        if name == "ia3":  # IA3's vectors start at ones
            for conv in CONVS:
                self.assertAllEqual(_layer(model, conv).ia3_scale.numpy(), np.ones((1, 1, 1, _layer(base, conv).filters)))

        model.compile(keras.optimizers.Adam(0.02), "sparse_categorical_crossentropy", jit_compile=True)
        before = {v.path: v.numpy().copy() for v in model.weights}
        model.fit(X, Y, batch_size=8, epochs=2, verbose=0)
        moved = {v.path for v in model.weights if not np.array_equal(before[v.path], v.numpy())}
        assert moved == trainable  # the base kernels, biases and BatchNorm statistics are bitwise unchanged
        assert not np.allclose(model.predict(X, verbose=0), expected, atol=1e-4)
        for w, value in zip(base.weights, base_weights):  # the given model is untouched
            self.assertAllEqual(w.numpy(), value)

        revived = self.run_model_saving_test(model, X, atol=1e-6)
        assert {v.path for v in revived.trainable_variables} == trainable
        merged = kt.peft.merge(model)
        self.assertAllClose(merged.predict(X, verbose=0), model.predict(X, verbose=0), atol=1e-5)
        assert not {v.name for v in merged.weights} & PEFT_NAMES
        assert {type(_layer(merged, conv)) for conv in CONVS} == {keras.layers.Conv2D}
        assert len(merged.weights) == len(base.weights)

    def test_rslora_scales_by_the_square_root_of_the_rank(self):
        base = _base()
        lora = _layer(kt.peft.lora(base, rank=4, alpha=2), "block2_conv")
        rs = _layer(kt.peft.rslora(base, rank=4, alpha=2), "block2_conv")
        assert (lora.scale, rs.scale) == (0.5, 1.0)
        for layer in (lora, rs):
            layer.lora_kernel_b.assign(np.ones(layer.lora_kernel_b.shape))
            delta = layer.kernel.numpy() - layer._kernel.numpy()
            self.assertAllClose(delta, layer.scale * layer.lora_kernel_a.numpy() @ layer.lora_kernel_b.numpy(), atol=1e-5)

    def test_dora_magnitude_is_the_norm_of_the_trained_kernel(self):
        model = kt.peft.dora(_base(), rank=2)
        model.compile(keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy")
        model.fit(X, Y, batch_size=8, epochs=2, verbose=0)
        layer = _layer(model, "block3_conv")
        assert not np.allclose(layer.magnitude.numpy(), np.linalg.norm(layer._kernel.numpy().reshape(-1, 8), axis=0))
        norms = np.linalg.norm(layer.kernel.numpy().reshape(-1, 8), axis=0)
        self.assertAllClose(norms, layer.magnitude.numpy().ravel(), atol=1e-5)

    def test_lora_plus_moves_the_b_factors_ratio_times_further(self):
        base = _base()
        models = [kt.peft.lora(base, rank=2) for _ in range(2)]
        for variable, twin in zip(models[0].weights, models[1].weights):
            twin.assign(variable)  # same A in both
        steps = []
        for model, ratio in zip(models, (1.0, 16.0)):
            model.compile(kt.peft.lora_plus_optimizer(keras.optimizers.Adam(1e-3), ratio=ratio),
                          "sparse_categorical_crossentropy")
            before = {v.path: v.numpy().copy() for v in model.trainable_variables}
            model.train_on_batch(X, Y)
            steps.append({v.path: v.numpy() - before[v.path] for v in model.trainable_variables})
        plain, plus = steps
        for path in plain:
            factor = 16.0 if path.endswith("lora_kernel_b") else 1.0
            self.assertAllClose(plus[path], factor * plain[path], atol=1e-7, rtol=1e-4)
        assert all(np.abs(plain[f"{c}/lora_kernel_b"]).max() > 0 for c in CONVS)

    def test_describe_groups_counts_the_trained_parameters(self):
        model = kt.peft.lora(_base(), rank=2)
        rows = {line.split()[0]: line.split() for line in kt.describe_groups(model, print_fn=None).splitlines()[2:]}
        factors = {"block1_conv": 3 * 3 * 3 * 2 + 2 * 4, "block2_conv": 3 * 3 * 4 * 2 + 2 * 6,
                   "block3_conv": 3 * 3 * 6 * 2 + 2 * 8}
        for group, count in factors.items():
            assert rows[group][3] == str(count) and rows[group][4] == "partial", rows[group]
        total = sum(int(v.numpy().size) for v in model.trainable_variables)
        assert rows["total"][2] == f"{total:,}"


class TestBadInput:
    def test_arguments_are_named(self):
        base = _base()
        with pytest.raises(ValueError, match=r"`rank`.*>= 1.*Received: rank=0"):
            kt.peft.lora(base, rank=0)
        with pytest.raises(ValueError, match=r"`alpha`.*> 0.*Received: alpha=-2"):
            kt.peft.dora(base, alpha=-2)
        with pytest.raises(ValueError, match=r"`targets`.*Received: targets='blockX'.*block1_conv"):
            kt.peft.rslora(base, targets=["blockX"])
        with pytest.raises(ValueError, match=r"`targets\[.block1_conv.\]`.*Received: targets\[.block1_conv.\]=.sideways."):
            kt.peft.ia3(base, targets={"block1_conv": "sideways"})
        with pytest.raises(TypeError, match=r"`model`.*keras.Model"):
            kt.peft.lora("model")
        with pytest.raises(ValueError, match=r"`ratio`.*> 0"):
            kt.peft.lora_plus_optimizer(ratio=0)

    def test_a_model_with_nothing_to_adapt_and_double_application_are_refused(self):
        depthwise = keras.Sequential([
            keras.Input((8, 8, 3)), keras.layers.DepthwiseConv2D(3, name="dw"),
            keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(2, name="head"),
        ])
        with pytest.raises(ValueError, match=r"`model`.*DepthwiseConv2D.*Received: model='sequential"):
            kt.peft.lora(depthwise)
        adapted = kt.peft.lora(_base())
        with pytest.raises(ValueError, match=r"`model`.*without PEFT layers.*merge"):
            kt.peft.dora(adapted)
        with pytest.raises(ValueError, match=r"`model`.*with PEFT layers.*nothing to merge"):
            kt.peft.merge(_base())


@pytest.mark.large  # slow (15-45 s); the default run stays under its budget
def test_dora_with_lora_plus_under_mirrored_strategy_matches_one_device():
    run_distributed(
        """
        from tests.test_case import tiny_classifier, tiny_data
        x, y = tiny_data(n=16)

        def train(scope):
            keras.utils.set_random_seed(5)
            with scope:
                model = kt.peft.dora(tiny_classifier(3), rank=2)
                model.compile(kt.peft.lora_plus_optimizer(keras.optimizers.Adam(0.01)),
                              "sparse_categorical_crossentropy", jit_compile=False)
            model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
            return [v.numpy() for v in model.weights]

        import contextlib
        mirrored, single = train(strategy.scope()), train(contextlib.nullcontext())
        worst = max(float(np.abs(a - b).max()) for a, b in zip(mirrored, single))
        assert worst < 1e-4, worst
        print("OK")
        """
    )
