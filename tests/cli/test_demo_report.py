"""The demo's report, written with the helpers it shares with `keras-transfer fit` (no training here)."""

from keras_transfer.cli import demo

PNG = b"\x89PNG\r\n\x1a\n"


def test_demo_report_with_text_section(tmp_path):
    scores = {(5, method): [0.5 + 0.1 * i, 0.6 + 0.1 * i] for i, method in enumerate(demo.METHODS)}
    result = {"scores": scores, "source_accuracy": 0.9, "config": vars(demo.DemoConfig.quick()) | {"seeds": (0, 1)}}
    text = {"accuracy": {"scratch": 0.4, "pretrained_frozen": 0.7}, "chance": 0.25, "shots": 8, "topics": list("abcd"),
            "test_size": 100}
    section, image = demo.text_section(text, str(tmp_path))
    report, plot = demo.write_report(result, str(tmp_path), extra_sections=[section])
    assert open(image, "rb").read(8) == PNG and open(plot, "rb").read(8) == PNG
    readme = open(report).read()
    assert "| 5 | fine-tuning (all layers) | 0.750 ± 0.050 | +0.200 ± 0.000 |" in readme
    assert "| pretrained all-MiniLM-L6-v2, frozen, new softmax head | 0.700 |" in readme
    assert "![text transfer](text_transfer.png)" in readme
