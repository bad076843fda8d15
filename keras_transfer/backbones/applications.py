"""Specs of every `keras.applications` family.

Group patterns are regular expressions on the layer names Keras gives; layers
with generic names are placed by the graph (see `groups.py`). Groups follow the
architecture's stages (a change of resolution), from input to output.
"""

import keras

from keras_transfer.backbones.spec import BackboneSpec

A = keras.applications


def _numbered(prefix_fmt, groups):
    """`[(name, regex)]` for groups made of numbered blocks."""
    patterns = []
    for name, numbers in groups:
        alternatives = "|".join(str(n) for n in numbers)
        patterns.append((name, prefix_fmt.format(alternatives)))
    return patterns


def _vgg(depth):
    return [(f"block{i}", rf"block{i}_.*") for i in range(1, 6)]


def _resnet(post=""):
    patterns = [("stem", r"conv1_.*|pool1_.*")]
    for i in range(2, 6):
        patterns.append((f"conv{i}", rf"conv{i}_.*" + (post if i == 5 else "")))
    return patterns


def _mobilenet_v1():
    def blocks(*numbers):
        alternatives = "|".join(str(n) for n in numbers)
        return rf"conv_(dw|pw|pad)_({alternatives})(_.*)?"

    return [
        ("stem", r"conv1(_.*)?|" + blocks(1)),
        ("stage2", blocks(2, 3)),
        ("stage3", blocks(4, 5)),
        ("stage4", blocks(6, 7, 8, 9, 10, 11)),
        ("stage5", blocks(12, 13)),
    ]


def _mobilenet_v2():
    def blocks(*numbers):
        return rf"block_({'|'.join(str(n) for n in numbers)})_.*"

    return [
        ("stem", r"Conv1|bn_Conv1|Conv1_relu|expanded_conv_.*"),
        ("stage2", blocks(1, 2)),
        ("stage3", blocks(3, 4, 5)),
        ("stage4", blocks(*range(6, 13))),
        ("stage5", blocks(*range(13, 17)) + r"|Conv_1|Conv_1_bn|out_relu"),
    ]


def _mobilenet_v3(stages):
    """`stages`: block indices per stage after the stem (block 0)."""

    def blocks(numbers):
        return rf"expanded_conv_({'|'.join(str(n) for n in numbers)})_.*"

    patterns = [("stem", r"rescaling|conv|conv_bn|expanded_conv_[a-z].*")]
    for i, numbers in enumerate(stages):
        regex = blocks(numbers)
        if i == len(stages) - 1:
            regex += r"|conv_1|conv_1_bn"
        patterns.append((f"stage{i + 2}", regex))
    return patterns


def _efficientnet(num_blocks):
    patterns = [("stem", r"rescaling|normalization|stem_.*")]
    for i in range(1, num_blocks + 1):
        regex = rf"block{i}[a-z]_.*"
        if i == num_blocks:
            regex += r"|top_.*"
        patterns.append((f"block{i}", regex))
    return patterns


def _convnext():
    return [
        ("stem", r".*_prestem_.*|.*_stem"),
        ("stage0", r".*_stage_0_.*"),
        ("stage1", r".*_downsampling_block_0|.*_stage_1_.*"),
        ("stage2", r".*_downsampling_block_1|.*_stage_2_.*"),
        ("stage3", r".*_downsampling_block_2|.*_stage_3_.*|layer_normalization.*"),
    ]


def _densenet():
    return [
        ("stem", r"conv1_.*|conv1/.*|pool1"),
        ("conv2", r"conv2_.*|pool2_.*"),
        ("conv3", r"conv3_.*|pool3_.*"),
        ("conv4", r"conv4_.*|pool4_.*"),
        ("conv5", r"conv5_.*|bn|relu"),
    ]


def _xception():
    return [(f"block{i}", rf"block{i}_.*") for i in range(1, 15)]


def _inception_v3():
    # The stem has generic names only: it is whatever precedes `mixed0`'s block.
    return [("stem", r"$^")] + [(f"mixed{i}", rf"mixed{i}(_\d+)?") for i in range(11)]


def _inception_resnet_v2():
    return [
        ("stem", r"mixed_5b"),
        ("block35", r"block35_.*"),
        ("block17", r"mixed_6a|block17_.*"),
        ("block8", r"mixed_7a|block8_.*|conv_7b.*"),
    ]


def _nasnet(num_blocks):
    def cells(labels):
        return rf".*_({'|'.join(str(x) for x in labels)})"

    n = num_blocks
    return [
        ("stem", r"stem_.*|.*_stem_[12]"),
        ("cells1", cells(range(0, n))),
        ("cells2", cells([f"reduce_{n}"] + list(range(n + 1, 2 * n + 1)))),
        ("cells3", cells([f"reduce_{2 * n}"] + list(range(2 * n + 1, 3 * n + 1)))),
    ]


_PAPERS = {
    "vgg": "Simonyan & Zisserman, Very Deep Convolutional Networks for Large-Scale Image Recognition (2014)",
    "resnet": "He et al., Deep Residual Learning for Image Recognition (2015)",
    "resnet_v2": "He et al., Identity Mappings in Deep Residual Networks (2016)",
    "mobilenet": "Howard et al., MobileNets (2017)",
    "mobilenet_v2": "Sandler et al., MobileNetV2: Inverted Residuals and Linear Bottlenecks (2018)",
    "mobilenet_v3": "Howard et al., Searching for MobileNetV3 (2019)",
    "efficientnet": "Tan & Le, EfficientNet: Rethinking Model Scaling for CNNs (2019)",
    "efficientnet_v2": "Tan & Le, EfficientNetV2: Smaller Models and Faster Training (2021)",
    "convnext": "Liu et al., A ConvNet for the 2020s (2022)",
    "densenet": "Huang et al., Densely Connected Convolutional Networks (2017)",
    "xception": "Chollet, Xception: Deep Learning with Depthwise Separable Convolutions (2017)",
    "inception_v3": "Szegedy et al., Rethinking the Inception Architecture for Computer Vision (2016)",
    "inception_resnet_v2": "Szegedy et al., Inception-v4, Inception-ResNet and the Impact of Residual Connections (2017)",
    "nasnet": "Zoph et al., Learning Transferable Architectures for Scalable Image Recognition (2018)",
}


def _spec(name, family, constructor, preprocessing, default, minimum, patterns, **kwargs):
    return BackboneSpec(
        name=name,
        family=family,
        constructor=constructor,
        preprocessing=preprocessing,
        default_input_size=default,
        min_input_size=minimum,
        group_patterns=tuple(patterns),
        reference=_PAPERS[family],
        **kwargs,
    )


def application_specs():
    """All `keras.applications` specs, by registry name."""
    specs = [
        _spec("vgg16", "vgg", A.VGG16, "caffe", 224, 32, _vgg(16)),
        _spec("vgg19", "vgg", A.VGG19, "caffe", 224, 32, _vgg(19)),
        _spec("resnet50", "resnet", A.ResNet50, "caffe", 224, 32, _resnet()),
        _spec("resnet101", "resnet", A.ResNet101, "caffe", 224, 32, _resnet()),
        _spec("resnet152", "resnet", A.ResNet152, "caffe", 224, 32, _resnet()),
        _spec("resnet50_v2", "resnet_v2", A.ResNet50V2, "tf", 224, 32, _resnet(r"|post_.*")),
        _spec("resnet101_v2", "resnet_v2", A.ResNet101V2, "tf", 224, 32, _resnet(r"|post_.*")),
        _spec("resnet152_v2", "resnet_v2", A.ResNet152V2, "tf", 224, 32, _resnet(r"|post_.*")),
        _spec("mobilenet", "mobilenet", A.MobileNet, "tf", 224, 32, _mobilenet_v1()),
        _spec("mobilenet_v2", "mobilenet_v2", A.MobileNetV2, "tf", 224, 32, _mobilenet_v2()),
        _spec(
            "mobilenet_v3_small", "mobilenet_v3", A.MobileNetV3Small, "none", 224, 32,
            _mobilenet_v3([(1, 2), (3, 4, 5, 6, 7), (8, 9, 10)]),
        ),
        _spec(
            "mobilenet_v3_large", "mobilenet_v3", A.MobileNetV3Large, "none", 224, 32,
            _mobilenet_v3([(1, 2), (3, 4, 5), (6, 7, 8, 9, 10, 11), (12, 13, 14)]),
        ),
    ]
    for i, size in enumerate((224, 240, 260, 300, 380, 456, 528, 600)):
        constructor = getattr(A, f"EfficientNetB{i}")
        specs.append(_spec(f"efficientnet_b{i}", "efficientnet", constructor, "none", size, 32, _efficientnet(7)))
    for suffix, size, blocks in (
        ("b0", 224, 6), ("b1", 240, 6), ("b2", 260, 6), ("b3", 300, 6),
        ("s", 384, 6), ("m", 480, 7), ("l", 480, 7),
    ):
        constructor = getattr(A, f"EfficientNetV2{suffix.upper()}")
        specs.append(
            _spec(f"efficientnet_v2_{suffix}", "efficientnet_v2", constructor, "none", size, 32, _efficientnet(blocks))
        )
    for size_name in ("tiny", "small", "base", "large", "xlarge"):
        constructor = getattr(A, f"ConvNeXt{size_name.capitalize() if size_name != 'xlarge' else 'XLarge'}")
        specs.append(_spec(f"convnext_{size_name}", "convnext", constructor, "none", 224, 32, _convnext()))
    for depth in (121, 169, 201):
        specs.append(_spec(f"densenet{depth}", "densenet", getattr(A, f"DenseNet{depth}"), "torch", 224, 32, _densenet()))
    specs += [
        _spec("xception", "xception", A.Xception, "tf", 299, 71, _xception()),
        _spec("inception_v3", "inception_v3", A.InceptionV3, "tf", 299, 75, _inception_v3()),
        _spec("inception_resnet_v2", "inception_resnet_v2", A.InceptionResNetV2, "tf", 299, 75, _inception_resnet_v2()),
        _spec("nasnet_mobile", "nasnet", A.NASNetMobile, "tf", 224, 32, _nasnet(4), imagenet_input_sizes=(224,)),
        _spec("nasnet_large", "nasnet", A.NASNetLarge, "tf", 331, 32, _nasnet(6), imagenet_input_sizes=(331,)),
    ]
    return {spec.name: spec for spec in specs}
