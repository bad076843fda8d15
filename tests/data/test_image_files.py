"""The data-loading battery: every kind of image file a user may have, with its documented outcome.

Outcomes (docs/reliability.md, "Image folders"): loaded, skipped with one
warning naming the file, or refused with an error naming the file or the
argument; never a traceback from inside `fit`.
"""

import os
import warnings

import numpy as np
import pytest
from PIL import Image

import keras_transfer as kt
from keras_transfer.data import image_files
from keras_transfer.data import sources

RNG = np.random.default_rng(0)


def rgb(h=10, w=12):
    return RNG.integers(0, 255, (h, w, 3), dtype=np.uint8)


def _truncated(path, source):
    data = open(source, "rb").read()
    with open(path, "wb") as handle:
        handle.write(data[: len(data) // 2])


# Each case: file name -> how to write it, and whether it loads.
LOADED = {
    "plain.png": lambda p: Image.fromarray(rgb()).save(p),
    "grayscale.png": lambda p: Image.fromarray(rgb()[..., 0]).save(p),
    "rgba.png": lambda p: Image.fromarray(RNG.integers(0, 255, (10, 12, 4), dtype=np.uint8)).save(p),
    "palette.png": lambda p: Image.fromarray(rgb()).convert("P").save(p),
    "sixteen_bit.png": lambda p: Image.fromarray(RNG.integers(0, 65535, (10, 12), dtype=np.uint16)).save(p),
    "cmyk.jpg": lambda p: Image.fromarray(rgb()).convert("CMYK").save(p),
    "animated.gif": lambda p: Image.fromarray(rgb()).convert("P").save(
        p, save_all=True, append_images=[Image.fromarray(rgb()).convert("P")]),
    "one_pixel.png": lambda p: Image.fromarray(rgb(1, 1)).save(p),
    "name with spaces é.png": lambda p: Image.fromarray(rgb()).save(p),
    "bitmap.bmp": lambda p: Image.fromarray(rgb()).save(p),
}
SKIPPED = {
    "text.png": (lambda p: open(p, "w").write("not an image"), "Unknown image file format"),
    "empty.jpg": (lambda p: open(p, "wb").close(), ""),
    "truncated.png": (None, "PNG"),
    "truncated.jpg": (None, "JPEG|jpeg"),
    "bomb.png": (lambda p: Image.new("1", (11_000, 9_000)).save(p), "decompression-bomb"),
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("battery")
    good, bad = root / "good", root / "bad"
    good.mkdir()
    (good / "nested" / "deeper").mkdir(parents=True)
    bad.mkdir()
    for name, write in LOADED.items():
        write(str(good / name))
    Image.fromarray(rgb()).save(str(good / "nested" / "deeper" / "inside.png"))
    Image.fromarray(rgb()).save(str(bad / "plain.png"))
    Image.fromarray(rgb()).save(str(bad / "whole.jpg"), quality=95)
    for name, (write, _) in SKIPPED.items():
        if write is None:
            _truncated(str(bad / name), str(bad / ("plain.png" if name.endswith("png") else "whole.jpg")))
        else:
            write(str(bad / name))
    os.symlink(str(good / "plain.png"), str(bad / "link_to_image.png"))
    os.symlink(str(root), str(good / "loop"))  # a folder link back up: not followed
    return root


def _read(root, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset, count, names = sources.image_directory(root, image_size=(10, 12), **kwargs)
        arrays = list(dataset.as_numpy_iterator())
    return arrays, count, names, [str(w.message) for w in caught if issubclass(w.category, UserWarning)]


def test_every_readable_kind_loads_and_each_unreadable_file_is_named_once(folder):
    arrays, count, names, messages = _read(folder)
    assert names == ["bad", "good"]
    good = len(LOADED) + 1  # with the nested file; the folder link is not followed
    loaded_bad = 3  # plain.png, whole.jpg and the file link
    assert count == len(arrays) == good + loaded_bad
    assert [int(label) for _, label in arrays].count(1) == good
    assert all(image.shape == (10, 12, 3) and image.dtype == np.float32 for image, _ in arrays)
    assert len(messages) == 1
    message = messages[0]
    total = good + loaded_bad + len(SKIPPED)
    assert message.startswith(f"source: {len(SKIPPED)} of {total} images cannot be used: ")
    for name, (_, reason) in SKIPPED.items():
        assert str(folder / "bad" / name) in message, name
    assert "decompression-bomb guard" in message and "Unknown image file format" in message
    assert message.endswith("skipped.")


def test_strict_refuses_and_names_each_file(folder):
    with pytest.raises(image_files.UnreadableImagesError, match=r"`source`: 5 of \d+ images cannot be used") as info:
        sources.image_directory(folder, image_size=(10, 12), on_unreadable="raise")
    assert sorted(os.path.basename(p) for p, _ in info.value.problems) == sorted(SKIPPED)


def test_pixels_equal_keras_reading_of_the_same_files(folder):
    import keras

    ours, _, _, _ = _read(folder / "good", labels=None)
    theirs = keras.utils.image_dataset_from_directory(
        folder / "good", labels=None, batch_size=None, image_size=(10, 12), shuffle=False, verbose=False)
    np.testing.assert_array_equal(np.stack([image for image in ours]), np.stack(list(theirs.as_numpy_iterator())))


def test_a_directory_with_no_readable_image_is_refused(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    open(tmp_path / "a" / "x.png", "w").write("text")
    open(tmp_path / "b" / "y.png", "w").write("text")
    with pytest.raises(sources.SourceError, match="no readable image"):
        sources.first_image_size(tmp_path)
    with pytest.raises(sources.SourceError, match=r"holds no readable image \(2 cannot be used\)"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sources.image_directory(tmp_path, image_size=(4, 4))


def test_an_empty_class_folder_stays_a_class_and_is_named(tmp_path):
    for name in ("a", "b", "c"):
        (tmp_path / name).mkdir()
    Image.fromarray(rgb()).save(str(tmp_path / "a" / "1.png"))
    Image.fromarray(rgb()).save(str(tmp_path / "c" / "1.png"))
    with pytest.warns(UserWarning, match=r"class folder\(s\) \['b'\].*hold no usable image"):
        dataset, count, names = sources.image_directory(tmp_path, image_size=(10, 12))
    assert names == ["a", "b", "c"] and count == 2
    assert [int(label) for _, label in dataset.as_numpy_iterator()] == [0, 2]


def test_first_image_size_skips_an_unreadable_first_file(tmp_path):
    (tmp_path / "c").mkdir()
    open(tmp_path / "c" / "a.png", "w").write("text")
    Image.fromarray(rgb(7, 9)).save(str(tmp_path / "c" / "b.png"))
    assert sources.first_image_size(tmp_path) == (7, 9)


def test_image_dataset_skips_or_refuses_too(folder):
    with pytest.warns(UserWarning, match="5 of"):
        dataset = kt.data.image_dataset(str(folder), image_size=(10, 12), batch_size=4, shuffle=False)
    assert sum(len(labels) for _, labels in dataset) == len(LOADED) + 1 + 3
    with pytest.raises(ValueError, match="cannot be used"):
        kt.data.image_dataset(str(folder), image_size=(10, 12), on_unreadable="raise")
    with pytest.raises(ValueError, match="`on_unreadable`"):
        kt.data.image_dataset(str(folder), image_size=(10, 12), on_unreadable="skip")


@pytest.mark.parametrize(("head", "size"), [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\x00\x00\x00\x80", (256, 128)),
    (b"GIF89a\x10\x00\x20\x00", (16, 32)),
    (b"BM" + b"\x00" * 16 + (300).to_bytes(4, "little") + (-200).to_bytes(4, "little", signed=True), (300, 200)),
    (b"not an image at all", None),
])
def test_header_sizes(head, size):
    assert image_files.header_size(head) == size


def test_jpeg_header_size(tmp_path):
    Image.fromarray(rgb(33, 44)).save(str(tmp_path / "a.jpg"))
    assert image_files.header_size(open(tmp_path / "a.jpg", "rb").read()) == (44, 33)


def test_docs_list_every_case_of_the_battery():
    import re

    path = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "reliability.md")
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    table = text.split("<!-- image-battery")[1].split("\n\n")[0]
    listed = set(re.findall(r"^\| `([^`]+)` \|", table, re.M))
    assert listed == set(LOADED) | set(SKIPPED)
    for name in SKIPPED:
        assert re.search(rf"^\| `{re.escape(name)}` \| skipped", table, re.M), name
    for name in LOADED:
        assert re.search(rf"^\| `{re.escape(name)}` \| loaded", table, re.M), name
