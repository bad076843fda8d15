"""`TransferModel`, the base of every model of the package."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

import keras_transfer as kt


@keras.saving.register_keras_serializable(package="tests")
class Wrapper(kt.models.TransferModel, keras.Model):
    """Trains `student` towards a frozen `helper`'s outputs: the shape of a distiller."""

    _trained_attributes = ("student",)
    _auto_loss = True
    _nested_config = ("student", "helper")

    def __init__(self, student, helper, **kwargs):
        super().__init__(**kwargs)
        self.student = student
        self.helper = helper
        self.built = True  # both parts are built: `load_model` then restores the optimizer state

    def call(self, x, training=False):
        return self.student(x, training=training)

    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            y_pred = self.student(x, training=True)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred, training=True)
            loss = loss + self._replica_loss(ops.mean(ops.square(y_pred - self.helper(x))))
            self._track_loss(loss, ops.shape(x)[0])
            scaled = self.optimizer.scale_loss(loss)
        self._apply_gradients(tape, scaled, self.trainable_variables)
        return self.compute_metrics(x, y, y_pred)

    def get_config(self):
        config = super().get_config()
        config.update(
            student=keras.saving.serialize_keras_object(self.student),
            helper=keras.saving.serialize_keras_object(self.helper),
        )
        return config


def net(name):
    return keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")], name=name)


def test_a_subclass_without_keras_model_is_refused():
    with pytest.raises(TypeError, match=r"class Lonely\(TransferModel, keras.Model\)"):
        class Lonely(kt.models.TransferModel):  # noqa: F841
            pass


def test_only_the_trained_attributes_train_and_the_helper_is_not_mutated():
    student, helper = net("student"), net("helper")
    model = Wrapper(student, helper)
    assert [v.path for v in model.trainable_variables] == [v.path for v in student.trainable_variables]
    assert all(v.trainable for v in helper.weights), "the helper's own flags are left as the user set them"
    before = [np.array(v) for v in helper.weights]
    model.compile(optimizer="sgd", metrics=["accuracy"])  # loss="auto": sparse cross-entropy
    assert isinstance(model.loss, keras.losses.SparseCategoricalCrossentropy)
    x, y = np.random.default_rng(0).normal(size=(8, 3)).astype("float32"), np.arange(8) % 2
    history = model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    assert sorted(history.history) == ["accuracy", "loss"]
    assert all(np.array_equal(b, np.array(v)) for b, v in zip(before, helper.weights))


def test_config_round_trip_restores_nested_models_and_trainable(tmp_path):
    model = Wrapper(net("student"), net("helper"), name="wrapper")
    model.compile(optimizer="adam")
    x, y = np.ones((4, 3), "float32"), np.array([0, 1, 0, 1])
    model.fit(x, y, epochs=1, verbose=0)
    path = str(tmp_path / "wrapper.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, Wrapper) and loaded.name == "wrapper" and loaded.trainable
    assert isinstance(loaded.student, keras.Sequential) and loaded.student.name == "student"
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert isinstance(loaded.loss, keras.losses.SparseCategoricalCrossentropy), "compiled again on load"
    assert int(loaded.optimizer.iterations) == int(model.optimizer.iterations) == 1
    for saved, restored in zip(model.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_array_equal(np.array(saved), np.array(restored))


def test_compile_and_fit_refuse_a_model_built_under_another_strategy():
    model = Wrapper(net("student"), net("helper"))
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    with strategy.scope():
        with pytest.raises(ValueError, match="Cannot compile"):
            model.compile(optimizer="sgd")


def test_from_config_keeps_a_frozen_wrapper_frozen():
    model = Wrapper(net("student"), net("helper"))
    model.trainable = False
    revived = Wrapper.from_config(model.get_config())
    assert not revived.trainable and revived.trainable_variables == []
