"""Few-shot transfer to classes the source model never saw (Fashion-MNIST, offline).

1. Pretrain a small CNN on Fashion-MNIST classes 0-4 (T-shirt, trouser,
   pullover, dress, coat): the source model.
2. Classes 5-9 (sandal, shirt, sneaker, bag, ankle boot) are new. Take 5
   labelled images of each, embed them with the frozen source backbone and
   build a classifier for the new classes with a prototype head: no
   gradient step, one call. Save it, load it back, evaluate it on the 5,000
   test images of the new classes.
3. Compare heads on 5-way 5-shot episodes (mean accuracy, 95% interval):
   the prototype head and a linear head trained on the same shots.

    python examples/few_shot.py            # a few minutes on 2 CPU cores
    python examples/few_shot.py --quick    # under a minute (smaller, fewer episodes)
"""

import argparse
import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_transfer as kt  # noqa: E402
from keras_transfer.cli.demo import pretrain_source  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description="Few-shot transfer on Fashion-MNIST")
    parser.add_argument("--quick", action="store_true", help="small pretraining, few episodes")
    args = parser.parse_args(argv)
    source_images, source_epochs, episodes = (6000, 1, 30) if args.quick else (30000, 3, 600)

    (x_train, y_train), (x_test, y_test) = kt.data.load_fashion_mnist()
    x_train, x_test = x_train[..., None].astype("float32"), x_test[..., None].astype("float32")
    names = kt.data.FASHION_MNIST_CLASSES

    # 1. The source model: classes 0-4 only.
    source = pretrain_source(x_train, y_train, images=source_images, epochs=source_epochs, seed=0)
    print(f"source model: {source.evaluate(x_test[y_test < 5], y_test[y_test < 5], verbose=0)[1]:.3f} accuracy on classes 0-4")

    # 2. Five labelled images of each new class -> a classifier, no training.
    rng = np.random.default_rng(0)
    new_train, new_test = np.flatnonzero(y_train >= 5), y_test >= 5
    shots = np.concatenate([rng.choice(new_train[y_train[new_train] == c], 5, replace=False) for c in range(5, 10)])
    embedder = source.feature_extractor  # frozen pooled features, 128-d
    head = kt.few_shot.PrototypeHead(5, metric="cosine", name="prototypes")  # cosine: see docs/few_shot.md
    head.fit_prototypes(embedder.predict(x_train[shots], verbose=0), y_train[shots] - 5)
    classifier = keras.Model(embedder.inputs, head(embedder.outputs[0]), name="few_shot_classifier")

    path = os.path.join(tempfile.mkdtemp(), "few_shot.keras")
    classifier.save(path)
    classifier = keras.models.load_model(path)  # prototypes are saved weights
    predictions = classifier.predict(x_test[new_test], verbose=0).argmax(-1)
    accuracy = np.mean(predictions == y_test[new_test] - 5)
    print(f"prototype classifier for {', '.join(names[5:])}: {accuracy:.3f} accuracy "
          f"on {int(new_test.sum())} test images (5 labels per class, reloaded from {os.path.basename(path)})")

    # 3. Episodes: prototype head vs a linear head on the same shots.
    target_x, target_y = x_test[new_test], y_test[new_test] - 5
    for head_name, options in (("prototype", {"metric": "cosine"}), ("linear", None)):
        result = kt.few_shot.evaluate_episodes(
            source, target_x, target_y, n_way=5, k_shot=5, queries=15, episodes=episodes, head=head_name,
            head_options=options, seed=0,
        )
        print(f"5-way 5-shot, {head_name:>9} head: {result.mean:.3f} ± {result.ci95:.3f} (95% CI, {result.episodes} episodes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
