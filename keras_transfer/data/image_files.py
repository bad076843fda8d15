"""Checking image files before they are batched: unreadable or oversized ones are named, then skipped or refused.

`keras.utils.image_dataset_from_directory` fails on the first file it cannot
decode, inside `fit`, without naming it, and `tf.data`'s `ignore_errors()`
would drop a whole batch. So every file is decoded once up front, in a
parallel `tf.data` pass whose surviving indices say which files decode; the
others are decoded again one by one for the reason. A file whose header
announces more than `MAX_PIXELS` pixels is set aside before any decoding (a
small file can expand to gigabytes: a decompression bomb).
"""

import re
import struct
import warnings

MAX_PIXELS = 89_478_485  # Pillow's decompression-bomb limit (about 89.5 megapixels)
SHOWN = 10


class UnreadableImagesError(ValueError):
    """Raised with `on_unreadable="raise"` when some files cannot be used; `problems` lists `(path, reason)`."""

    def __init__(self, argument, problems, total):
        self.problems, self.total = problems, total
        super().__init__(
            f"Invalid value received for argument `{argument}`: {describe(problems, total)}. "
            "Remove or fix them, or let them be skipped with a warning."
        )


def header_size(head):
    """`(width, height)` read from the first bytes of a PNG, GIF, BMP or JPEG file, or `None`."""
    if head[:8] == b"\x89PNG\r\n\x1a\n" and len(head) >= 24:
        return struct.unpack(">II", head[16:24])
    if head[:6] in (b"GIF87a", b"GIF89a") and len(head) >= 10:
        return struct.unpack("<HH", head[6:10])
    if head[:2] == b"BM" and len(head) >= 26:
        width, height = struct.unpack("<ii", head[18:26])
        return abs(width), abs(height)
    if head[:2] == b"\xff\xd8":
        return _jpeg_size(head)
    return None


def _jpeg_size(data):
    position = 2
    while position + 9 < len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        length = struct.unpack(">H", data[position + 2:position + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # start of frame
            height, width = struct.unpack(">HH", data[position + 5:position + 9])
            return width, height
        position += 2 + length
    return None


def _oversized(path, max_pixels):
    try:
        with open(path, "rb") as handle:
            head = handle.read(65536)
    except OSError as error:
        return f"cannot be read ({error.strerror or error})"
    size = header_size(head)
    if size and size[0] * size[1] > max_pixels:
        return f"{size[0]}x{size[1]} pixels, more than the {max_pixels:,} allowed (a decompression-bomb guard)"
    return None


def _decodes(paths, channels):
    """The indices of `paths` that TensorFlow decodes, from a parallel pass that drops the failures."""
    import tensorflow as tf

    def decode(index):
        image = tf.io.decode_image(tf.io.read_file(tf.gather(paths, index)), channels=channels, expand_animations=False)
        return index, tf.shape(image)[0]

    dataset = tf.data.Dataset.range(len(paths)).map(decode, num_parallel_calls=tf.data.AUTOTUNE)
    dataset = dataset.ignore_errors()
    return {int(index) for index, _ in dataset.as_numpy_iterator()}


def _reason(path, channels):
    import tensorflow as tf

    try:
        tf.io.decode_image(tf.io.read_file(path), channels=channels, expand_animations=False)
    except Exception as error:  # the first line of TensorFlow's message
        text = getattr(error, "message", None) or str(error)
        text = re.sub(r"\s*\[Op:\w+\].*$", "", re.sub(r"\{\{[^}]*\}\}\s*", "", text.strip()))
        return text.splitlines()[0].rstrip(".") if text else type(error).__name__
    return "cannot be decoded"


def check_files(paths, *, channels=3, max_pixels=MAX_PIXELS):
    """`(usable, problems)`: a boolean per path, and `(path, reason)` for each file that cannot be used."""
    paths = [str(path) for path in paths]
    problems, candidates = {}, []
    for index, path in enumerate(paths):
        reason = _oversized(path, max_pixels)
        if reason:
            problems[index] = reason
        else:
            candidates.append(index)
    if candidates:
        decoded = _decodes([paths[i] for i in candidates], channels)
        for position, index in enumerate(candidates):
            if position not in decoded:
                problems[index] = _reason(paths[index], channels)
    usable = [index not in problems for index in range(len(paths))]
    return usable, [(paths[index], problems[index]) for index in sorted(problems)]


def describe(problems, total):
    """`3 of 120 images cannot be used: a.png (reason), ...` (the first `SHOWN` named, then a count)."""
    shown = "; ".join(f"{path} ({reason})" for path, reason in problems[:SHOWN])
    more = f"; and {len(problems) - SHOWN} more" if len(problems) > SHOWN else ""
    noun = "image" if total == 1 else "images"
    return f"{len(problems)} of {total} {noun} cannot be used: {shown}{more}"


def report(problems, total, *, argument, on_unreadable):
    """Warns about (`"warn"`) or refuses (`"raise"`) the files of `problems`; nothing if there are none."""
    if not problems:
        return
    if on_unreadable == "raise":
        raise UnreadableImagesError(argument, problems, total)
    warnings.warn(f"{argument}: {describe(problems, total)}; skipped.", UserWarning, stacklevel=3)
