"""WiSE-FT interpolation and model soups: exact endpoints, validation choice, greedy never worse."""

import keras
import numpy as np
import pytest

import keras_transfer as kt
from tests.test_case import tiny_backbone

rft = kt.robust_fine_tuning


def classifier(seed):
    keras.utils.set_random_seed(seed)
    return kt.build_classifier(tiny_backbone((8, 8, 3)), 3, input_shape=(8, 8, 3), preprocessing="unit", weights="imagenet")


def threshold_model(threshold):
    """Predicts class 1 exactly when x > threshold: logits (0, x - threshold)."""
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(2)])
    model.set_weights([np.array([[0.0, 1.0]], "float32"), np.array([0.0, -threshold], "float32")])
    return model


def test_interpolation_is_exact_at_both_ends_and_linear_between():
    initial, fine_tuned = classifier(0), classifier(1)
    before = [w.copy() for w in initial.get_weights()], [w.copy() for w in fine_tuned.get_weights()]
    start = rft.interpolate_weights(initial, fine_tuned, 0.0)
    end = rft.interpolate_weights(initial, fine_tuned, 1.0)
    middle = rft.interpolate_weights(initial, fine_tuned, 0.3)
    for ours, w0, w1, wm in zip(start.get_weights(), *before, middle.get_weights()):
        np.testing.assert_array_equal(ours, w0)  # bit for bit
        np.testing.assert_allclose(wm, 0.7 * w0 + 0.3 * w1, rtol=1e-6, atol=1e-7)
    for ours, w1 in zip(end.get_weights(), before[1]):
        np.testing.assert_array_equal(ours, w1)
    # The inputs are untouched and the result is a new model of the same class, with the BatchNorm statistics mixed.
    for model, weights in zip((initial, fine_tuned), before):
        for now, then in zip(model.get_weights(), weights):
            np.testing.assert_array_equal(now, then)
    assert type(middle) is type(fine_tuned) and middle is not fine_tuned
    assert kt.layer_groups(middle).keys() == kt.layer_groups(fine_tuned).keys()
    x = np.random.default_rng(0).uniform(0, 255, (4, 8, 8, 3)).astype("float32")
    np.testing.assert_allclose(end.predict(x, verbose=0), fine_tuned.predict(x, verbose=0), atol=1e-6)


def test_wise_ft_chooses_the_alpha_that_scores_best_on_validation():
    # Thresholds 0 (initial) and 2 (fine-tuned): only alpha = 0.5 (threshold 1) separates 0.9 from 1.1.
    x, y = np.array([[0.9], [1.1]], "float32"), np.array([0, 1])
    result = rft.wise_ft(threshold_model(0.0), threshold_model(2.0), (x, y))
    assert result.alpha == 0.5
    assert sorted(result.scores) == [round(a / 10, 1) for a in range(11)]
    assert result.scores[0.5] == 1.0 and all(s == 0.5 for a, s in result.scores.items() if a != 0.5)
    np.testing.assert_allclose(result.model.get_weights()[1], [0.0, -1.0])
    assert "| 0.50 | 1.0000 | chosen |" in result.to_markdown()
    # Ties go to the smaller alpha (closer to what the model knew); one-hot labels are read too.
    tie = rft.wise_ft(threshold_model(0.0), threshold_model(0.1), (x, np.eye(2)[y]), alphas=[1.0, 0.0])
    assert tie.alpha == 0.0


def test_uniform_soup_is_the_mean_of_the_weights():
    models = [classifier(seed) for seed in range(3)]
    soup = rft.uniform_soup(models)
    for position, weight in enumerate(soup.get_weights()):
        np.testing.assert_allclose(weight, np.mean([m.get_weights()[position] for m in models], axis=0), rtol=1e-6, atol=1e-7)


def test_greedy_soup_keeps_only_ingredients_that_do_not_hurt():
    x, y = np.array([[0.9], [1.1], [3.0]], "float32"), np.array([0, 1, 1])
    # Thresholds 1.0 and 0.95 are right on every point; 5.0 is wrong on two and would pull the mean to 2.3.
    soup = rft.greedy_soup([threshold_model(5.0), threshold_model(1.0), threshold_model(0.95)], (x, y))
    assert soup.ingredients == [1, 2]
    assert soup.score == 1.0
    assert soup.ingredient_scores == pytest.approx([1 / 3, 1.0, 1.0])
    np.testing.assert_allclose(soup.model.get_weights()[1], [0.0, -0.975])


@pytest.mark.parametrize("seed", range(4))
def test_greedy_soup_is_never_worse_on_validation_than_its_best_ingredient(seed):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(40, 2)).astype("float32"), rng.integers(0, 3, 40)
    models = []
    for i in range(5):
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])
        model.set_weights([rng.normal(size=(2, 3)).astype("float32"), rng.normal(size=3).astype("float32")])
        models.append(model)
    soup = rft.greedy_soup(models, (x, y))
    assert soup.score >= max(soup.ingredient_scores)
    predicted = soup.model.predict(x, verbose=0).argmax(-1)
    assert soup.score == pytest.approx(np.mean(predicted == y))


def test_bad_input_is_refused_with_the_argument_named():
    one, other = classifier(0), kt.build_classifier(tiny_backbone((8, 8, 3)), 4, input_shape=(8, 8, 3))
    with pytest.raises(ValueError, match=r"`models\[1\]`.*same architecture"):
        rft.interpolate_weights(one, other, 0.5)
    with pytest.raises(ValueError, match="`alpha`"):
        rft.interpolate_weights(one, classifier(1), 1.5)
    with pytest.raises(TypeError, match="`models`"):
        rft.uniform_soup(one)
    with pytest.raises(TypeError, match=r"`models\[1\]`"):
        rft.uniform_soup([one, "model.keras"])
    x, y = np.zeros((3, 8, 8, 3), "float32"), np.array([0, 1, 2])
    with pytest.raises(ValueError, match="`validation_data`.*3 inputs and 2 labels"):
        rft.greedy_soup([one], (x, y[:2]))
    with pytest.raises(ValueError, match="`alphas`"):
        rft.wise_ft(one, classifier(1), (x, y), alphas=[0.5, 2.0])
    with pytest.raises(TypeError, match="`validation_data`"):
        rft.wise_ft(one, classifier(1), x)
