"""Distributed transfer learning with `tf.distribute.MirroredStrategy`: Fashion-MNIST.

A small CNN is pre-trained on Fashion-MNIST classes 0-4 (the "source task"),
then transferred to classes 5-9 with the `fine_tune` recipe (head first, then
every layer group with discriminative learning rates), all of it created and
compiled inside `strategy.scope()`. On a machine with GPUs the strategy uses
all of them; on a CPU-only machine the CPU is split into two logical devices
(before TensorFlow initialises), which exercises the same code paths. The
global batch is `--batch-per-replica` x replicas and the learning rate is
scaled linearly with it (see docs/distributed.md). The BatchNormalization
layers of the backbone are `synchronized=True`: they normalise with the
statistics of the global batch and keep one set of moving statistics. Offline:

    python examples/distributed.py            # a few minutes on two CPU cores
    python examples/distributed.py --quick    # about a minute (smoke test)
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def make_strategy(logical_cpus=2):
    """All GPUs, or `logical_cpus` logical CPU devices; call before TensorFlow initialises."""
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        return tf.distribute.MirroredStrategy()
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * logical_cpus)
    return tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(logical_cpus)])


def backbone():
    import keras

    inputs = keras.Input((28, 28, 1))
    x = inputs
    for i, filters in enumerate((16, 32), start=1):
        x = keras.layers.Conv2D(filters, 3, padding="same", name=f"block{i}_conv")(x)
        x = keras.layers.BatchNormalization(synchronized=True, name=f"block{i}_bn")(x)
        x = keras.layers.ReLU(name=f"block{i}_relu")(x)
        x = keras.layers.MaxPooling2D(name=f"block{i}_pool")(x)
    return keras.Model(inputs, x, name="fashion_cnn")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-per-replica", type=int, default=32)
    args = parser.parse_args(argv)
    strategy = make_strategy()  # before anything initialises TensorFlow's devices

    import keras

    import keras_transfer as kt

    keras.utils.set_random_seed(args.seed)
    replicas = strategy.num_replicas_in_sync
    global_batch = args.batch_per_replica * replicas
    base_lr = 4e-3 * global_batch / 32  # linear scaling from a rate that works at batch 32
    n_source, n_target, epochs = (1500, 1000, 1) if args.quick else (12000, 3000, 3)

    (x_train, y_train), (x_test, y_test) = kt.data.load_fashion_mnist(download=False)
    x_train, x_test = x_train[..., None].astype("float32"), x_test[..., None].astype("float32")
    rng = np.random.default_rng(args.seed)
    source = rng.permutation(np.flatnonzero(y_train < 5))[:n_source]
    target = rng.permutation(np.flatnonzero(y_train >= 5))[:n_target]
    test = np.flatnonzero(y_test >= 5)

    # 1. Pre-train the backbone on the source classes, inside the scope.
    with strategy.scope():
        cnn = backbone()
        pretrain = kt.build_classifier(cnn, 5, freeze=False, preprocessing="unit", pooling="flatten")
        pretrain.compile(keras.optimizers.Adam(base_lr), "sparse_categorical_crossentropy", metrics=["accuracy"])
    pretrain.fit(x_train[source], y_train[source], batch_size=global_batch, epochs=epochs + 1, verbose=0)

    # 2. Transfer to the target classes: a new head on the pre-trained backbone, fine_tune.
    with strategy.scope():
        model = kt.build_classifier(cnn, 5, preprocessing="unit", pooling="flatten", name="fashion_transfer")
        model.compile(keras.optimizers.Adam(base_lr), "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = kt.fine_tune(model, x_train[target], y_train[target] - 5, epochs=epochs, freeze_epochs=1,
                           base_lr=base_lr, batch_size=global_batch, verbose=0)
    _, accuracy = model.evaluate(x_test[test], y_test[test] - 5, batch_size=global_batch, verbose=0)

    print(f"replicas: {replicas} ({', '.join(strategy.extended.worker_devices)})")
    print(f"global batch {global_batch} = {args.batch_per_replica} per replica x {replicas}; base_lr {base_lr:g}")
    print(f"optimizer during fine-tuning: {type(model.optimizer).__name__}; "
          f"freeze stages {history.history['freeze_stage']}")
    print(f"target classes 5-9 test accuracy after transfer: {accuracy:.3f} "
          f"({len(target)} labelled target images)")
    return {"accuracy": accuracy, "replicas": replicas, "history": history.history}


if __name__ == "__main__":
    main()
