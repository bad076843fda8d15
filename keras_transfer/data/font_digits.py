"""Printed digits rendered from the installed fonts, in the UCI digits format."""

import glob
import os

import numpy as np

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export

FONT_DIRECTORIES = ("/usr/share/fonts", "/usr/local/share/fonts", os.path.expanduser("~/.fonts"))
_CANVAS = 96


def available_fonts(directories=FONT_DIRECTORIES):
    """Sorted paths of the TrueType/OpenType fonts found under `directories`."""
    found = set()
    for directory in directories:
        for pattern in ("**/*.ttf", "**/*.otf", "**/*.TTF", "**/*.OTF"):
            found.update(glob.glob(os.path.join(directory, pattern), recursive=True))
    return sorted(found)


def _bitmap(font, digit, rng):
    from PIL import Image, ImageDraw

    canvas = Image.new("L", (_CANVAS, _CANVAS), 0)
    ImageDraw.Draw(canvas).text((_CANVAS // 2, _CANVAS // 2), str(digit), fill=255, font=font, anchor="mm")
    canvas = canvas.rotate(float(rng.uniform(-12, 12)), resample=Image.BILINEAR)
    pixels = np.asarray(canvas) > 127
    rows, cols = np.nonzero(pixels)
    if rows.size == 0:
        return None
    glyph = Image.fromarray((pixels[rows.min():rows.max() + 1, cols.min():cols.max() + 1] * 255).astype("uint8"))
    # Size-normalise into the 32x32 frame as the UCI preprocessing did, with some jitter.
    target = 32 * float(rng.uniform(0.8, 1.0))
    scale = target / max(glyph.size)
    width = max(1, min(32, int(round(glyph.size[0] * scale * rng.uniform(0.85, 1.15)))))
    height = max(1, min(32, int(round(glyph.size[1] * scale))))
    glyph = np.asarray(glyph.resize((width, height), Image.BILINEAR)) > 127
    frame = np.zeros((32, 32), bool)
    top = (32 - height) // 2 + int(rng.integers(-1, 2))
    left = (32 - width) // 2 + int(rng.integers(-1, 2))
    top, left = min(max(top, 0), 32 - height), min(max(left, 0), 32 - width)
    frame[top:top + height, left:left + width] = glyph
    return frame


@keras_transfer_export("keras_transfer.data.render_font_digits")
def render_font_digits(samples_per_class=200, *, fonts=None, seed=0):
    """Renders printed digits 0-9 from fonts, in the format of the UCI digits.

    Each sample draws a digit with a random font among `fonts`, rotates it
    (up to 12 degrees), binarises it, scales its bounding box into a 32x32
    bitmap (with size, aspect and position jitter) and counts the set pixels
    of each 4x4 block, the preprocessing of the UCI handwritten digits
    (`keras_transfer.data.load_uci_digits`): printed -> handwritten digits is
    a real domain shift at matching sizes. Deterministic for a given `seed`
    and font list.

    Args:
        samples_per_class: int, images per digit.
        fonts: list of font file paths, or `None` for every TrueType/OpenType
            font under `/usr/share/fonts` (Debian's `fonts-dejavu-core`,
            `fonts-liberation`, `fonts-freefont-ttf`, ... packages).
        seed: int.

    Returns:
        `(x, y)`: images `(10 * samples_per_class, 8, 8)` uint8 in 0..16,
        labels uint8, classes interleaved.

    Example:

    >>> import keras_transfer
    >>> x, y = keras_transfer.data.render_font_digits(2, seed=0)
    >>> x.shape, int(x.max()) <= 16, y[:10].tolist()
    ((20, 8, 8), True, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    """
    from PIL import ImageFont

    samples_per_class = _checks.check_int("samples_per_class", samples_per_class, minimum=1)
    seed = _checks.check_int("seed", seed)
    paths = available_fonts() if fonts is None else [os.fspath(f) for f in fonts]
    if not paths:
        raise _checks.invalid(
            "fonts", "at least one TrueType/OpenType font file", fonts,
            hint="Install fonts, e.g. `apt-get install fonts-dejavu-core fonts-liberation fonts-freefont-ttf`.",
        )
    loaded = []
    for path in paths:
        try:
            loaded.append(ImageFont.truetype(path, 64))
        except OSError as error:
            raise _checks.invalid("fonts", "readable font files", path) from error
    rng = np.random.default_rng(seed)
    n = 10 * samples_per_class
    x = np.zeros((n, 8, 8), "uint8")
    y = np.tile(np.arange(10, dtype="uint8"), samples_per_class)
    for i in range(n):
        frame = None
        while frame is None:
            frame = _bitmap(loaded[int(rng.integers(len(loaded)))], int(y[i]), rng)
        x[i] = frame.reshape(8, 4, 8, 4).sum(axis=(1, 3))
    return x, y
