"Tests of `imbgan_nb.metrics` against scikit-learn and imbalanced-learn, edge cases, bad inputs and result tables."
import warnings

import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch
from imblearn.metrics import geometric_mean_score
from sklearn.metrics import (accuracy_score, balanced_accuracy_score, precision_recall_fscore_support,
                             roc_auc_score, confusion_matrix as sk_confusion_matrix)

from imbgan_nb.metrics import (METRIC_NAMES, classification_metrics, confusion_matrix, plot_confusion,
                               plot_confusions, plot_scenarios, results_summary, results_table)


def names(k): return [f'c{i}' for i in range(k)]

def softmax_scores(rng, y_pred, k, boost=1.0):
    "Random softmax probabilities that favour the predicted class."
    logits = rng.normal(size=(len(y_pred), k)); logits[np.arange(len(y_pred)), y_pred] += boost
    return np.exp(logits) / np.exp(logits).sum(1, keepdims=True)

def random_case(seed, n=300, k=5, hit=0.5):
    "Labels, predictions right about `hit` of the time, and scores, all from `seed`."
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, k, n)
    y_pred = np.where(rng.random(n) < hit, y_true, rng.integers(0, k, n))
    return y_true, y_pred, softmax_scores(rng, y_pred, k)

def reference(y_true, y_pred, y_score, k):
    "The scalar scores, from scikit-learn and imbalanced-learn, with the documented edge-case conventions."
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    scorable = [c for c in range(k) if 0 < (y_true == c).sum() < len(y_true)]
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, labels=range(k), average='macro', zero_division=0)
        if y_score is None or not scorable: auc = None
        elif k == 2: auc = roc_auc_score(y_true, y_score[:, 1])                   # sklearn's binary form
        elif len(scorable) == k: auc = roc_auc_score(y_true, y_score, multi_class='ovr', average='macro', labels=range(k))
        else: auc = np.mean([roc_auc_score(y_true == c, y_score[:, c]) for c in scorable])
        return dict(accuracy=accuracy_score(y_true, y_pred), macro_precision=p, macro_recall=r, macro_f1=f, auc_roc=auc,
                    acsa=balanced_accuracy_score(y_true, y_pred),
                    gm=geometric_mean_score(y_true, y_pred, labels=np.unique(y_true)))

def assert_matches_reference(y_true, y_pred, y_score, k):
    ours = classification_metrics(y_true, y_pred, y_score, names(k))
    ref = reference(y_true, y_pred, y_score, k)
    for name in METRIC_NAMES:
        if ref[name] is None: assert ours[name] is None, name
        else: assert ours[name] == pytest.approx(ref[name], abs=1e-10), name
    return ours


# --- agreement with the libraries --------------------------------------------------------------------------------

@pytest.mark.parametrize('seed', range(6))
@pytest.mark.parametrize('k', [3, 5, 10])
def test_random_inputs_match_libraries(seed, k):
    ours = assert_matches_reference(*random_case(seed, k=k), k)
    assert set(ours) == {*METRIC_NAMES, 'per_class'}
    assert all(isinstance(ours[m], float) for m in METRIC_NAMES)

@pytest.mark.parametrize('seed', range(4))
def test_per_class_matches_sklearn(seed):
    y_true, y_pred, y_score = random_case(seed, k=4)
    per_class = pd.DataFrame(classification_metrics(y_true, y_pred, y_score, names(4))['per_class'])
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=range(4), zero_division=0)
    assert per_class['class'].tolist() == names(4)
    np.testing.assert_allclose(per_class[['precision', 'recall', 'f1']].to_numpy().T, [p, r, f], atol=1e-12)
    assert per_class['support'].tolist() == s.tolist()

@pytest.mark.parametrize('seed', range(4))
def test_gm_equals_imblearn_default_when_predictions_are_present_classes(seed):
    y_true, y_pred, _ = random_case(seed, k=4, hit=0.8)
    assert set(np.unique(y_pred)) <= set(np.unique(y_true))
    gm = classification_metrics(y_true, y_pred, None, names(4))['gm']
    assert gm > 0 and gm == pytest.approx(geometric_mean_score(y_true, y_pred), abs=1e-12)

@pytest.mark.parametrize('seed', range(3))
def test_binary_auc_is_the_usual_auc(seed):
    y_true, y_pred, y_score = random_case(seed, k=2)
    auc = classification_metrics(y_true, y_pred, y_score, names(2))['auc_roc']
    assert auc == pytest.approx(roc_auc_score(y_true, y_score[:, 1]), abs=1e-12)   # OvR mean of two equal AUCs
    assert_matches_reference(y_true, y_pred, y_score, 2)

def test_auc_with_tied_scores():
    y_true = np.array([0, 0, 1, 1, 2, 2, 2])
    y_score = np.array([[.5, .25, .25]] * 3 + [[.25, .5, .25]] * 4)
    assert_matches_reference(y_true, y_score.argmax(1), y_score, 3)

def test_confusion_matrix_matches_sklearn():
    y_true, y_pred, _ = random_case(0, k=6)
    cm = confusion_matrix(y_true, y_pred, 7)
    assert cm.shape == (7, 7) and cm[6].sum() == cm[:, 6].sum() == 0
    np.testing.assert_array_equal(cm, sk_confusion_matrix(y_true, y_pred, labels=range(7)))


# --- worked numbers and edge cases ---------------------------------------------------------------------------------

def test_hand_computed_example():
    # class 0: 3 samples, 2 right; class 1: 2 samples, both right; class 2: 1 sample, predicted as 1
    m = classification_metrics([0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 1, 1], None, ['a', 'b', 'c'])
    assert m['accuracy'] == pytest.approx(4 / 6)
    assert m['macro_recall'] == pytest.approx((2 / 3 + 1 + 0) / 3)
    assert m['macro_precision'] == pytest.approx((1 + 2 / 4 + 0) / 3)
    assert m['macro_f1'] == pytest.approx((2 * 2 / 5 + 2 * 2 / 6 + 0) / 3)
    assert m['acsa'] == pytest.approx(5 / 9)
    assert m['gm'] == 0.0 and m['auc_roc'] is None

def test_accuracy_hides_missed_minority():
    y_true = np.repeat([0, 1], [90, 10])
    y_pred = np.zeros(100, int); y_pred[90:92] = 1          # 2 of 10 minority samples found
    m = classification_metrics(y_true, y_pred, None, ['major', 'minor'])
    assert m['accuracy'] == pytest.approx(0.92)
    assert m['per_class'][1]['recall'] == pytest.approx(0.2)
    assert m['acsa'] == pytest.approx(0.6) and m['gm'] == pytest.approx(np.sqrt(0.2))

@pytest.mark.parametrize('seed', range(3))
def test_class_never_predicted(seed):
    y_true, y_pred, y_score = random_case(seed, k=4)
    y_pred = np.where(y_pred == 2, 0, y_pred)
    m = assert_matches_reference(y_true, y_pred, y_score, 4)
    assert m['per_class'][2]['precision'] == 0.0 and m['per_class'][2]['recall'] == 0.0
    assert m['gm'] == 0.0

@pytest.mark.parametrize('seed', range(3))
def test_single_class_predicted(seed):
    y_true, _, y_score = random_case(seed, k=4)
    m = assert_matches_reference(y_true, np.full_like(y_true, 1), y_score, 4)
    assert [c['recall'] for c in m['per_class']] == [0.0, 1.0, 0.0, 0.0]
    assert m['acsa'] == pytest.approx(0.25) and m['gm'] == 0.0
    assert m['macro_precision'] == pytest.approx((y_true == 1).mean() / 4)

@pytest.mark.parametrize('seed', range(3))
def test_class_absent_from_y_true(seed):
    y_true, y_pred, y_score = random_case(seed, k=4)
    keep = y_true != 3
    y_true, y_pred, y_score = y_true[keep], y_pred[keep], y_score[keep]
    assert (y_pred == 3).any()
    m = assert_matches_reference(y_true, y_pred, y_score, 4)
    assert m['per_class'][3] == {'class': 'c3', 'precision': 0.0, 'recall': 0.0, 'f1': 0.0, 'support': 0}
    recalls = [c['recall'] for c in m['per_class'][:3]]
    assert m['acsa'] == pytest.approx(np.mean(recalls)) and m['gm'] == pytest.approx(np.prod(recalls) ** (1 / 3))
    assert m['macro_recall'] == pytest.approx(np.sum(recalls) / 4)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        assert geometric_mean_score(y_true, y_pred) == 0.0   # the documented difference from imblearn's default

def test_single_class_in_y_true():
    m = classification_metrics([1, 1, 1], [1, 0, 1], [[.2, .8], [.7, .3], [.1, .9]], ['a', 'b'])
    assert m['auc_roc'] is None and m['acsa'] == pytest.approx(2 / 3) and m['gm'] == pytest.approx(2 / 3)

def test_perfect_predictions():
    y = np.arange(5).repeat(3)
    m = classification_metrics(y, y, np.eye(5)[y], names(5))
    assert all(m[name] == 1.0 for name in METRIC_NAMES)

def test_without_scores_auc_is_none():
    assert classification_metrics([0, 1, 1], [0, 1, 0], None, ['a', 'b'])['auc_roc'] is None

def test_tensors_and_lists_match_arrays():
    y_true, y_pred, y_score = random_case(7, k=3)
    expected = classification_metrics(y_true, y_pred, y_score, names(3))
    assert classification_metrics(torch.tensor(y_true), torch.tensor(y_pred),
                                  torch.tensor(y_score, requires_grad=True), names(3)) == expected
    assert classification_metrics(y_true.tolist(), y_pred.tolist(), y_score.tolist(), names(3)) == expected
    assert classification_metrics(y_true.astype(float), y_pred, y_score, names(3)) == expected


# --- bad inputs -------------------------------------------------------------------------------------------------------

GOOD = dict(y_true=[0, 1, 2, 1], y_pred=[0, 2, 2, 1], y_score=np.full((4, 3), 1 / 3), classes=['a', 'b', 'c'])

@pytest.mark.parametrize('change, message', [
    (dict(y_true=[0, 1, 3, 1]), r'y_true has labels outside 0\.\.2'),
    (dict(y_pred=[0, -1, 2, 1]), r'y_pred has labels outside 0\.\.2'),
    (dict(y_pred=[0, 2, 2]), r'different lengths \(4 vs 3\)'),
    (dict(y_true=[], y_pred=[], y_score=None), 'y_true is empty'),
    (dict(y_true=[0.5, 1, 2, 1]), 'integer class indices'),
    (dict(y_true=['a', 'b', 'c', 'b']), 'integer class indices'),
    (dict(y_pred=np.eye(3)[[0, 2, 2, 1]]), 'must be 1-D'),
    (dict(y_score=np.full((4, 3), 0.3)), 'sum to 1'),
    (dict(y_score=np.array([[2., -1, 0]] * 4)), 'softmax'),
    (dict(y_score=np.full((4, 2), 0.5)), r'shape \(n_samples, n_classes\) = \(4, 3\)'),
    (dict(y_score=np.full((3, 3), 1 / 3)), r'got \(3, 3\)'),
    (dict(y_score=np.array([[np.nan, .5, .5]] + [[1 / 3] * 3] * 3)), 'NaN'),
    (dict(classes=[]), 'no classes'),
])
def test_bad_inputs_raise(change, message):
    with pytest.raises(ValueError, match=message):
        classification_metrics(**{**GOOD, **change})

def test_row_sum_tolerance():
    slightly_off = np.full((4, 3), 1 / 3) + np.array([5e-4, 0, 0])
    classification_metrics(**{**GOOD, 'y_score': slightly_off})      # within 1e-3: accepted
    with pytest.raises(ValueError, match='sum to 1'):
        classification_metrics(**{**GOOD, 'y_score': np.full((4, 3), 1 / 3) + np.array([5e-3, 0, 0])})

def test_confusion_matrix_bad_labels():
    with pytest.raises(ValueError, match=r'outside 0\.\.1'): confusion_matrix([0, 2], [0, 1], 2)


# --- plots ------------------------------------------------------------------------------------------------------------

def test_plot_confusion_texts_and_shape_check():
    cm = np.array([[3, 1], [0, 0]])
    ax = plot_confusion(cm, ['a', 'b'], normalize=True, title='t')
    assert [t.get_text() for t in ax.texts] == ['0.75', '0.25', '0.00', '0.00'] and ax.get_title() == 't'
    assert [t.get_text() for t in plot_confusion(cm, ['a', 'b']).texts] == ['3', '1', '0', '0']
    assert [t.get_text() for t in plot_confusion(cm, ['a', 'b'], zeros=False).texts] == ['3', '1']          # blank zeros
    assert [t.get_text() for t in plot_confusion([[999, 1], [0, 5]], ['a', 'b'], normalize=True, zeros=False).texts] == ['1.00', '1.00']
    with pytest.raises(ValueError, match='2 x 2|3 classes'): plot_confusion(cm, ['a', 'b', 'c'])
    plt.close('all')

def test_plot_confusions_panels():
    fig = plot_confusions({'imbalanced': np.eye(3), 'Vanilla GAN': np.ones((3, 3)), 'WGAN-GP': np.eye(3)}, list('xyz'))
    assert [ax.get_title() for ax in fig.axes] == ['(a) imbalanced', '(b) Vanilla GAN', '(c) WGAN-GP']
    plt.close('all')


# --- result tables ----------------------------------------------------------------------------------------------------

ROWS = [dict(scenario='wgan-gp',    seed=0, accuracy=0.91, gm=None),
        dict(scenario='imbalanced', seed=0, accuracy=0.80, gm=0.50),
        dict(scenario='vanilla',    seed=0, accuracy=0.85, gm=0.60),
        dict(scenario='imbalanced', seed=1, accuracy=0.90, gm=0.70),
        dict(scenario='vanilla',    seed=1, accuracy=0.87, gm=0.64),
        dict(scenario='vanilla',    seed=2, accuracy=0.89, gm=0.68)]

def test_results_table_hand_computed():
    table = results_table(ROWS, metrics=('accuracy', 'gm'))
    assert table.index.tolist() == ['wgan-gp', 'imbalanced', 'vanilla']          # first-seen order, not sorted
    # imbalanced: mean 0.85, std sqrt((0.05² + 0.05²) / 1) = 0.0707; gm: 0.6 ± 0.1414
    # vanilla: accuracy 0.87 ± sqrt((0.02² + 0 + 0.02²) / 2) = 0.02; gm 0.64 ± 0.04
    assert table.loc['imbalanced'].tolist() == [2, '0.850 ± 0.071', '0.600 ± 0.141']
    assert table.loc['vanilla'].tolist() == [3, '0.870 ± 0.020', '0.640 ± 0.040']
    assert table.loc['wgan-gp'].tolist() == [1, '0.910 ± 0.000', 'n/a']
    assert results_table(ROWS, metrics=('accuracy',), digits=2).loc['vanilla', 'accuracy'] == '0.87 ± 0.02'

def test_results_summary_numbers():
    s = results_summary(pd.DataFrame(ROWS), metrics=('accuracy', 'gm'))
    assert s['mean'].loc['imbalanced', 'accuracy'] == pytest.approx(0.85)
    assert s['std'].loc['imbalanced', 'accuracy'] == pytest.approx(0.05 * np.sqrt(2))
    assert s['std'].loc['vanilla', 'gm'] == pytest.approx(0.04)
    assert s['n'].loc[:, 'gm'].tolist() == [0, 2, 3] and s['std'].loc['wgan-gp', 'accuracy'] == 0.0
    assert np.isnan(s['mean'].loc['wgan-gp', 'gm'])

def test_results_from_classification_metrics_rows():
    rows = [dict(scenario=name, seed=seed, **classification_metrics(*random_case(seed, k=3), names(3)))
            for name in ('a', 'b') for seed in range(2)]
    table = results_table(rows)
    assert table.columns.tolist() == ['n', *METRIC_NAMES] and table['n'].tolist() == [2, 2]

@pytest.mark.parametrize('rows, kwargs, message', [
    ([], {}, 'rows is empty'),
    (ROWS, dict(metrics=('f1',)), r"lack the keys \['f1'\]"),
    (ROWS, dict(metrics=('gm',), by='model'), r"lack the keys \['model'\]"),
    (ROWS + ROWS[:1], dict(metrics=('gm',)), 'repeat'),
])
def test_results_bad_rows(rows, kwargs, message):
    with pytest.raises(ValueError, match=message): results_table(rows, **kwargs)

def test_plot_scenarios_bars_and_error_bars():
    ax = plot_scenarios(ROWS[1:], metrics=('accuracy', 'gm'))
    heights = sorted(round(p.get_height(), 6) for p in ax.patches)
    assert heights == sorted([0.85, 0.6, 0.87, 0.64])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ['imbalanced', 'vanilla']
    plt.close('all')
