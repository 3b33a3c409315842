"""Classifiers: shapes, gradients, learning on real tiny data, synthetic images counted apart, bad input."""
import numpy as np
import pytest
import torch

from imbgan_nb.classifier import ARCHITECTURES, evaluate, fit_classifier, make_cnn
from imbgan_nb.core import get_preset
from imbgan_nb.data import ImageSet
from imbgan_nb.imbalance import make_imbalanced, take_per_class

FAST = get_preset('ci', clf_epochs=3, clf_batch=64)


@pytest.mark.parametrize('arch', list(ARCHITECTURES))
@pytest.mark.parametrize('channels, size', [(1, 28), (3, 32)])
def test_shapes_and_gradients_reach_every_layer(arch, channels, size):
    net = make_cnn(arch, 10, channels, size)
    x = torch.randn(4, channels, size, size)
    logits = net(x)
    assert logits.shape == (4, 10)
    assert net.features(x).shape == (4, ARCHITECTURES[arch]['hidden'])
    torch.nn.functional.cross_entropy(logits, torch.arange(4)).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())


def test_learns_real_digits_and_is_seeded(digits):
    train, test = digits
    clf = fit_classifier(train, 'cnn2', preset=FAST, seed=1, progress=False)
    res = evaluate(clf, test)
    assert clf.history[-1]['loss'] < 0.5 * clf.history[0]['loss']
    assert res['accuracy'] > 0.8 and res['confusion'].sum() == len(test)
    again = fit_classifier(train, 'cnn2', preset=FAST, seed=1, progress=False)
    assert np.array_equal(again.predict_proba(test.images), clf.predict_proba(test.images))


def test_untrained_is_near_chance(digits):
    train, test = digits
    clf = fit_classifier(train, 'cnn2', preset=get_preset('ci', clf_epochs=0), progress=False)
    assert evaluate(clf, test)['accuracy'] < 0.3


def test_extra_images_are_counted_apart_and_used(digits):
    train, test = digits
    only_few_threes = make_imbalanced(train, counts={3: 2}, seed=0)
    copies = train.subset(torch.nonzero(train.labels == 3).flatten())      # stand-in for synthetic threes
    extra = ImageSet(copies.images, copies.labels, train.classes, 'synthetic', 'train')
    base = fit_classifier(only_few_threes, 'cnn2', preset=FAST, seed=0, progress=False)
    more = fit_classifier(only_few_threes, 'cnn2', extra=extra, preset=FAST, seed=0, progress=False)
    assert (more.n_real, more.n_extra) == (len(only_few_threes), len(extra))
    recall = lambda clf: evaluate(clf, test)['per_class'][3]['recall']
    assert recall(more) > recall(base) + 0.2


def test_cnn_svm_probabilities(digits):
    train, test = digits
    clf = fit_classifier(train, 'cnn_svm', preset=get_preset('ci', clf_epochs=2), progress=False)
    proba = clf.predict_proba(test.images)
    assert proba.shape == (len(test), 10) and np.allclose(proba.sum(1), 1)
    assert evaluate(clf, test)['accuracy'] > 0.7


def test_bad_input(digits):
    train, test = digits
    with pytest.raises(ValueError, match="evaluate on the test split"):
        evaluate(fit_classifier(train, 'cnn2', preset=get_preset('ci', clf_epochs=0), progress=False), train)
    with pytest.raises(ValueError, match="Unknown architecture 'vgg'"):
        fit_classifier(train, 'vgg', preset=FAST, progress=False)
    with pytest.raises(ValueError, match="training set is empty"):
        fit_classifier(train.subset(torch.tensor([], dtype=torch.int64)), preset=FAST, progress=False)
    odd = ImageSet(torch.zeros(3, 1, 14, 14, dtype=torch.uint8), torch.zeros(3, dtype=torch.int64), train.classes)
    with pytest.raises(ValueError, match="image shape"):
        fit_classifier(train, extra=odd, preset=FAST, progress=False)
    with pytest.raises(FloatingPointError, match="loss became"):
        fit_classifier(train, preset=FAST, lr=1e12, progress=False)


def test_early_stopping_holds_out_a_tenth_of_each_class_and_keeps_the_best_epoch(digits):
    from imbgan_nb.classifier import balanced_accuracy, validation_split
    train, test = digits
    few = make_imbalanced(train, counts={3: 15}, seed=0)
    rest, held = validation_split(few, seed=0)
    expected = [round(0.1 * n) for n in few.counts().tolist()]
    assert held.counts().tolist() == expected and len(rest) + len(held) == len(few)
    assert not set(rest.source_index.tolist()) & set(held.source_index.tolist())
    clf = fit_classifier(few, 'cnn2', preset=get_preset('ci', clf_epochs=12, clf_batch=64, clf_patience=2), seed=0, progress=False)
    assert (clf.n_real, clf.n_validation) == (len(rest), len(held))
    val = [h['val_acsa'] for h in clf.history]
    assert clf.best_epoch == int(np.argmax(val)) and len(val) <= 12
    assert len(val) == 12 or len(val) - 1 - clf.best_epoch == 2          # stopped two epochs after the best, or ran them all
    assert balanced_accuracy(clf, held.images, held.labels) == pytest.approx(max(val))   # the kept weights are the best epoch's
    with pytest.raises(ValueError, match='training split'):
        validation_split(test)
    with pytest.raises(ValueError, match='clf_patience'):
        get_preset('ci', clf_patience=-1)
