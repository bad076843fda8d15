"""L2-SP: fine-tune toward the pretrained weights (Fashion-MNIST, offline).

1. Pretrain a small CNN on Fashion-MNIST classes 0-4 (the source task).
2. Fine-tune every layer on classes 5-9 with 20 labelled images per class,
   twice from the same start: plain fine-tuning, and with L2-SP
   (`kt.regularizers.apply_l2sp`: a pull toward the pretrained weights on the
   backbone, L2 on the new head), together with gradual unfreezing
   (`FreezeSchedule`) and per-group learning rates (`DiscriminativeLR`).
3. Compare test accuracy and how far the backbone moved; save the L2-SP
   model, load it back (the pretrained anchors come with it) and continue.

    python examples/l2sp.py            # a few minutes on 2 CPU cores
    python examples/l2sp.py --quick    # under a minute
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


def fine_tune(source, x, y, *, alpha, epochs, steps):
    keras.utils.set_random_seed(1)
    model = kt.build_classifier(small_cnn(), 5, input_shape=(28, 28, 1), preprocessing="unit", weights=source.backbone)
    backbone = model.backbone
    pretrained = [w.numpy().copy() for w in backbone.weights]
    if alpha:
        model = kt.regularizers.apply_l2sp(model, alpha=alpha, beta=0.01)
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    callbacks = [kt.callbacks.FreezeSchedule({1: "all"}), kt.callbacks.DiscriminativeLR(decay=0.5)]
    data = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=1).repeat().batch(32)
    model.fit(data, epochs=epochs, steps_per_epoch=steps, callbacks=callbacks, shuffle=False, verbose=0)
    moved = np.sqrt(sum(((w.numpy() - p) ** 2).sum() for w, p in zip(backbone.weights, pretrained)))
    return model, moved / np.sqrt(sum((p**2).sum() for p in pretrained))


def main(argv=None):
    parser = argparse.ArgumentParser(description="L2-SP fine-tuning on Fashion-MNIST")
    parser.add_argument("--quick", action="store_true", help="small pretraining, short fine-tuning")
    parser.add_argument("--alpha", type=float, default=0.01, help="L2-SP strength (default 0.01)")
    args = parser.parse_args(argv)
    source_images, source_epochs, epochs, steps = (6000, 1, 3, 10) if args.quick else (30000, 3, 6, 50)

    (x_train, y_train), (x_test, y_test) = kt.data.load_fashion_mnist()
    x_train, x_test = x_train[..., None].astype("float32"), x_test[..., None].astype("float32")

    source = pretrain_source(x_train, y_train, images=source_images, epochs=source_epochs, seed=0)

    (x_few, y_few), (x_eval, y_eval) = fashion_target_task(x_train, y_train, x_test, y_test, per_class=20, seed=0)

    results = {}
    for name, alpha in (("plain fine-tuning", 0.0), (f"L2-SP (alpha={args.alpha})", args.alpha)):
        model, moved = fine_tune(source, x_few, y_few, alpha=alpha, epochs=epochs, steps=steps)
        accuracy = model.evaluate(x_eval, y_eval, verbose=0, batch_size=1000)[1]
        results[name] = model
        print(f"{name:<24} test accuracy {accuracy:.3f}, backbone moved {moved:.3f} of its norm")

    model = results[f"L2-SP (alpha={args.alpha})"]
    path = os.path.join(tempfile.mkdtemp(), "l2sp.keras")
    model.save(path)
    revived = keras.models.load_model(path)
    same = all(np.array_equal(a, b) for a, b in zip(model.anchors().values(), revived.anchors().values()))
    print(f"reloaded {os.path.basename(path)}: anchors restored {same}, penalty {float(revived.l2sp_penalty()):.4f}")
    revived.fit(x_few, y_few, epochs=1, batch_size=32, verbose=0)  # continues toward the same anchors
    return 0


if __name__ == "__main__":
    sys.exit(main())
