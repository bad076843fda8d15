"""Parameter-efficient fine-tuning: LoRA, DoRA and IA3 on a pretrained CNN, merged for serving (offline).

1. Pretrain a small CNN on Fashion-MNIST classes 0-4 (the source task).
2. On classes 5-9 with 20 labelled images per class, train a new head on the
   frozen backbone, then LoRA, DoRA and IA3 (`kt.peft`): each starts as the
   frozen model and trains a few added variables and the head.
3. Print test accuracy and trainable parameters; save the DoRA model and load
   it back (its factors unmerged, so it keeps training); merge it and export
   a SavedModel that predicts the same without any of DoRA's variables.

    python examples/peft.py            # a few minutes on 2 CPU cores
    python examples/peft.py --quick    # about a minute
"""

import argparse
import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_transfer as kt  # noqa: E402
from keras_transfer.cli.demo import fashion_target_task, pretrain_source, small_cnn  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description="LoRA, DoRA and IA3 on Fashion-MNIST")
    parser.add_argument("--quick", action="store_true", help="small pretraining, short training")
    args = parser.parse_args(argv)
    source_images, source_epochs, epochs = (6000, 1, 5) if args.quick else (30000, 3, 30)

    (x_train, y_train), (x_test, y_test) = kt.data.load_fashion_mnist()
    x_train, x_test = x_train[..., None].astype("float32"), x_test[..., None].astype("float32")
    source = pretrain_source(x_train, y_train, images=source_images, epochs=source_epochs, seed=0)

    (x_few, y_few), (x_eval, y_eval) = fashion_target_task(x_train, y_train, x_test, y_test, per_class=20, seed=0)

    keras.utils.set_random_seed(1)
    frozen = kt.build_classifier(small_cnn(), 5, input_shape=(28, 28, 1), preprocessing="unit",
                                 weights=source.backbone, freeze=True)
    models = {
        "frozen backbone": frozen,
        "LoRA (rank 8)": kt.peft.lora(frozen, rank=8),
        "DoRA (rank 8)": kt.peft.dora(frozen, rank=8),
        "IA3": kt.peft.ia3(frozen),
    }
    for name, model in models.items():
        model.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(x_few, y_few, epochs=epochs, batch_size=25, verbose=0)
        accuracy = model.evaluate(x_eval, y_eval, verbose=0, batch_size=1000)[1]
        trained = sum(int(np.prod(v.shape)) for v in model.trainable_variables)
        print(f"{name:<16} test accuracy {accuracy:.3f}, {trained:,} trained parameters")

    dora = models["DoRA (rank 8)"]
    kt.describe_groups(dora)
    directory = tempfile.mkdtemp()
    dora.save(os.path.join(directory, "dora.keras"))
    revived = keras.models.load_model(os.path.join(directory, "dora.keras"))
    revived.fit(x_few, y_few, epochs=1, batch_size=25, verbose=0)  # the factors keep training
    expected = dora.predict(x_eval[:64], verbose=0)
    path = kt.export.export_saved_model(dora, os.path.join(directory, "served"))  # merged by default
    served = tf.saved_model.load(path)
    names = {v.name.split(":")[0].split("/")[-1] for v in served.variables}
    difference = np.abs(served.signatures["serving_default"](images=tf.constant(x_eval[:64]))["probabilities"] - expected).max()
    print(f"exported merged: DoRA variables in the SavedModel: {sorted(names & {'lora_kernel_a', 'lora_kernel_b', 'magnitude'})}, "
          f"largest difference to the Keras model {difference:.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
