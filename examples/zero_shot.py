"""Zero-shot: recognise handwritten digits from typeset fonts only (offline).

No handwritten example of a class is labelled: each digit class is
described by an embedding of the digit *typeset* in every installed TrueType
font (Debian's fonts-dejavu, fonts-liberation, fonts-freefont), rendered the
way the UCI handwritten digits were digitised (32x32 bitmap, on-pixels
counted in 4x4 blocks). `kt.few_shot.ZeroShotHead` classifies the 1,797
handwritten UCI digits (scikit-learn) against those class embeddings.

1. Ten classes, no label at all, in pixel space.
2. Classes 5-9 "unseen": an embedding CNN trained on handwritten 0-4 embeds
   both the handwritten digits and the typeset ones; compared with pixel
   space on the same unseen classes.
3. The same unseen classes through a linear projection (`projection=True`)
   trained on handwritten 0-4 against their typeset descriptions.

    python examples/zero_shot.py            # under a minute
    python examples/zero_shot.py --quick    # the same, shorter CNN training
"""

import argparse
import glob
import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image, ImageDraw, ImageFont  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

import keras_transfer as kt  # noqa: E402


def render(digit, font_path):
    """An 8x8 map of on-pixel counts (0-16) of `digit` typeset in a font, centred in 32x32."""
    font = ImageFont.truetype(font_path, 28)
    left, top, right, bottom = ImageDraw.Draw(Image.new("L", (1, 1))).textbbox((0, 0), str(digit), font=font)
    glyph = Image.new("L", (right - left + 2, bottom - top + 2), 0)
    ImageDraw.Draw(glyph).text((1 - left, 1 - top), str(digit), fill=255, font=font)
    scale = 28 / max(glyph.size)
    glyph = glyph.resize((max(1, round(glyph.size[0] * scale)), max(1, round(glyph.size[1] * scale))))
    canvas = Image.new("L", (32, 32), 0)
    canvas.paste(glyph, ((32 - glyph.size[0]) // 2, (32 - glyph.size[1]) // 2))
    bitmap = (np.asarray(canvas) > 127).astype("float32")
    return bitmap.reshape(8, 4, 8, 4).sum(axis=(1, 3))


def accuracy(head, x, y):
    return float(np.mean(keras.ops.convert_to_numpy(head(x)).argmax(-1) == y))


def main(argv=None):
    parser = argparse.ArgumentParser(description="Zero-shot digits from typeset fonts")
    parser.add_argument("--quick", action="store_true", help="shorter CNN training")
    args = parser.parse_args(argv)
    fonts = sorted(glob.glob("/usr/share/fonts/**/*.ttf", recursive=True))
    if not fonts:
        print("error: no TrueType font under /usr/share/fonts; run scripts/setup.sh (installs fonts-dejavu-core).")
        return 1
    glyphs = np.array([[render(d, f) for f in fonts] for d in range(10)]) / 16.0  # (10, fonts, 8, 8)
    digits = load_digits()
    x, y = digits.images.astype("float32") / 16.0, digits.target
    print(f"{len(fonts)} fonts render the class descriptions; {len(x)} handwritten digits to classify")

    # 1. Ten classes, zero labels: class embedding = mean typeset glyph.
    class_embeddings = glyphs.reshape(10, len(fonts), 64).mean(axis=1)
    inputs = keras.Input((8, 8), name="digits")
    head = kt.few_shot.ZeroShotHead(class_embeddings, name="typeset_digits")
    model = keras.Model(inputs, head(keras.layers.Flatten()(inputs)))
    path = os.path.join(tempfile.mkdtemp(), "zero_shot.keras")
    model.save(path)
    model = keras.models.load_model(path)  # the class embeddings are saved weights
    predictions = model.predict(x, verbose=0).argmax(-1)
    print(f"10-way zero-shot, pixel space: {np.mean(predictions == y):.3f} accuracy (chance 0.100)")

    # 2. Unseen classes 5-9, with an embedding learned on handwritten 0-4.
    keras.utils.set_random_seed(0)
    image = keras.Input((8, 8, 1))
    h = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(image)
    h = keras.layers.Conv2D(64, 3, padding="same", activation="relu")(h)
    features = keras.layers.Dense(64, activation="relu")(keras.layers.GlobalAveragePooling2D()(h))
    source = keras.Model(image, keras.layers.Dense(5, activation="softmax")(features))
    source.compile("adam", "sparse_categorical_crossentropy")
    seen = y < 5
    source.fit(x[seen][..., None], y[seen], epochs=5 if args.quick else 30, batch_size=64, verbose=0)
    embedder = keras.Model(image, features)
    unseen_x, unseen_y = x[~seen], y[~seen] - 5
    pixel_head = kt.few_shot.ZeroShotHead(class_embeddings[5:])
    cnn_classes = np.stack([embedder.predict(glyphs[d][..., None], verbose=0).mean(0) for d in range(5, 10)])
    cnn_head = kt.few_shot.ZeroShotHead(cnn_classes)
    print(f"5-way zero-shot on unseen 5-9: pixel space {accuracy(pixel_head, unseen_x.reshape(-1, 64), unseen_y):.3f}, "
          f"CNN trained on 0-4 {accuracy(cnn_head, embedder.predict(unseen_x[..., None], verbose=0), unseen_y):.3f} "
          "(chance 0.200)")

    # 3. A projection learned on the seen classes (DeViSE-style), from the identity map.
    flat_x = x.reshape(-1, 64)
    projected = kt.few_shot.ZeroShotHead(class_embeddings[:5], projection=True)
    trainer = keras.Sequential([keras.Input((64,)), projected])
    projected.projection_layer.kernel.assign(np.eye(64, dtype="float32"))
    trainer.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    scores, done = [], 0
    for epochs in (0, 5, 20):
        if epochs > done:
            trainer.fit(flat_x[seen], y[seen], epochs=epochs - done, batch_size=64, verbose=0)
        done = epochs
        unseen_head = projected.with_class_embeddings(class_embeddings[5:])
        scores.append(f"{epochs} epochs {accuracy(unseen_head, flat_x[~seen], unseen_y):.3f}")
    print("5-way zero-shot on unseen 5-9 through a projection trained on 0-4: " + ", ".join(scores))
    return 0


if __name__ == "__main__":
    sys.exit(main())
