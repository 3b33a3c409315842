"""Sample quality: Fréchet distance against closed forms, PRDC against a plain loop, memorisation on real digits,
the cached feature extractor and its refusals, bad input."""
import matplotlib
matplotlib.use('Agg')
import numpy as np
import pytest
import torch
from scipy.linalg import sqrtm

from imbgan_nb.classifier import make_cnn
from imbgan_nb.core import get_preset
from imbgan_nb.data import ImageSet, to_unit_range
from imbgan_nb.quality import (EXTRACTOR_KIND, FeatureExtractor, extractor_path, feature_extractor, frechet_distance,
                               frechet_from_stats, memorisation, prdc, quality_report, show_nearest)

SMALL = get_preset('ci', data_fraction=1.0, clf_epochs=2)


def of_class(ds, c):
    return ds.subset(torch.nonzero(ds.labels == c).flatten())


@pytest.fixture(scope='module')
def extractor(digits, tmp_path_factory):
    "A cnn2 feature extractor trained on all the digits (cached in a scratch folder)."
    return feature_extractor(digits[0], SMALL, seed=0, cache=tmp_path_factory.mktemp('fx'))


# --- Fréchet distance ---------------------------------------------------------------------------------------------

def test_frechet_from_stats_isotropic_closed_form():
    d, m1, m2 = 10, np.zeros(10), np.arange(10) / 10
    a, b = 1.7, 0.4
    expected = ((m1 - m2)**2).sum() + d * (a - b)**2
    assert frechet_from_stats(m1, a**2 * np.eye(d), m2, b**2 * np.eye(d)) == pytest.approx(expected, rel=1e-12)


def test_frechet_from_stats_shared_eigenvectors_and_general_case():
    rng = np.random.default_rng(3)
    d = 6
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    alpha, beta = rng.uniform(0.1, 4, d), rng.uniform(0.1, 4, d)
    s1, s2 = q @ np.diag(alpha) @ q.T, q @ np.diag(beta) @ q.T
    assert frechet_from_stats(np.ones(d), s1, np.zeros(d), s2) == pytest.approx(d + ((np.sqrt(alpha) - np.sqrt(beta))**2).sum(), rel=1e-10)
    # covariances that do not commute: the textbook sqrtm route agrees
    a, b = rng.normal(size=(40, d)), rng.normal(size=(40, d)) @ rng.normal(size=(d, d))
    c1, c2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    assert not np.allclose(c1 @ c2, c2 @ c1)
    reference = np.trace(c1 + c2 - 2 * sqrtm(c1 @ c2).real)
    assert frechet_from_stats(np.zeros(d), c1, np.zeros(d), c2) == pytest.approx(reference, rel=1e-8)
    # and it is symmetric in its two arguments
    assert frechet_from_stats(np.zeros(d), c1, np.zeros(d), c2) == pytest.approx(frechet_from_stats(np.zeros(d), c2, np.zeros(d), c1), rel=1e-9)


def test_frechet_distance_of_samples_converges_to_closed_form():
    rng = np.random.default_rng(0)
    d = 5
    x, y = rng.normal(1.0, 3.0, (40_000, d)), rng.normal(0.0, 1.0, (40_000, d))
    expected = d * 1.0 + d * (3.0 - 1.0)**2                     # 25
    assert frechet_distance(x, y) == pytest.approx(expected, rel=0.03)


def test_frechet_itself_zero_and_shift_beats_resample():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(400, 32)), rng.normal(size=(400, 32))
    assert frechet_distance(a, a) == pytest.approx(0, abs=1e-8)
    few = rng.normal(size=(10, 32))                              # fewer samples than features: singular covariance
    assert frechet_distance(few, few) == pytest.approx(0, abs=1e-8)
    resampled, shifted = frechet_distance(a, b), frechet_distance(a, b + 0.5)
    assert shifted > resampled + 32 * 0.25 * 0.8
    assert frechet_distance(torch.from_numpy(a), torch.from_numpy(b)) == pytest.approx(resampled)


def test_frechet_on_real_features(digits, extractor):
    train, test = digits
    sevens, ones = extractor(of_class(train, 7)), extractor(of_class(train, 1))
    held_sevens = extractor(of_class(test, 7))
    assert frechet_distance(sevens, sevens) == pytest.approx(0, abs=1e-6)
    assert frechet_distance(sevens[:36], held_sevens) < frechet_distance(ones[:36], held_sevens)


@pytest.mark.parametrize('a, b, message', [
    (np.zeros((1, 4)), np.zeros((5, 4)), 'at least 2'),
    (np.zeros((0, 4)), np.zeros((5, 4)), 'at least 2'),
    (np.zeros((5, 4)), np.zeros((5, 3)), 'different feature widths'),
    (np.zeros(5), np.zeros((5, 1)), '2-D array'),
    (np.full((3, 2), np.nan), np.zeros((3, 2)), 'NaN'),
])
def test_frechet_bad_input(a, b, message):
    with pytest.raises(ValueError, match=message): frechet_distance(a, b)


def test_frechet_from_stats_bad_input():
    with pytest.raises(ValueError, match='different dimensions'): frechet_from_stats(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))
    with pytest.raises(ValueError, match='not symmetric'): frechet_from_stats(np.zeros(2), [[1, 1], [0, 1]], np.zeros(2), np.eye(2))
    with pytest.raises(ValueError, match=r'\(d, d\)'): frechet_from_stats(np.zeros(2), np.eye(3), np.zeros(2), np.eye(2))


# --- precision, recall, density, coverage -------------------------------------------------------------------------

def prdc_by_loops(real, fake, k):
    "The definitions, one sample at a time."
    def radius(x, i): return np.sort(np.linalg.norm(x - x[i], axis=1))[k]      # index 0 is x[i] itself
    r_real = np.array([radius(real, i) for i in range(len(real))])
    r_fake = np.array([radius(fake, j) for j in range(len(fake))])
    inside = np.array([[np.linalg.norm(y - x) <= r for x, r in zip(real, r_real)] for y in fake])   # (M, N)
    reached = [any(np.linalg.norm(x - y) <= r for y, r in zip(fake, r_fake)) for x in real]
    return {'precision': inside.any(1).mean(), 'recall': np.mean(reached),
            'density': inside.sum() / (k * len(fake)), 'coverage': inside.any(0).mean()}


@pytest.mark.parametrize('k', [1, 3])
def test_prdc_matches_the_definitions(k):
    rng = np.random.default_rng(k)
    real, fake = rng.normal(size=(37, 3)), rng.normal(0.4, 1.3, size=(29, 3))
    fast, slow = prdc(real, fake, k=k, block=8), prdc_by_loops(real, fake, k)     # block=8: several blocks
    for name in slow: assert fast[name] == pytest.approx(slow[name]), name


def test_prdc_itself_and_far_away():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 8))
    same = prdc(x, x)
    assert same['precision'] == same['recall'] == same['coverage'] == 1.0 and same['density'] >= 1.0
    far = prdc(x, x + 10)
    assert far == {'precision': 0.0, 'recall': 0.0, 'density': 0.0, 'coverage': 0.0}
    fresh = prdc(x, rng.normal(size=(300, 8)))
    assert 0.8 < fresh['density'] < 1.25 and fresh['coverage'] > 0.9
    collapsed = prdc(x, np.repeat(x[:1], 300, axis=0))
    assert collapsed['precision'] == 1.0 and collapsed['coverage'] < 0.05 and collapsed['recall'] < 0.05


def test_prdc_bad_input():
    x = np.zeros((6, 2)) + np.arange(6)[:, None]
    with pytest.raises(ValueError, match='k = 5 needs more'): prdc(x[:5], x)
    with pytest.raises(ValueError, match='k = 6 needs more'): prdc(x, x, k=6)
    with pytest.raises(ValueError, match='k = 3 needs more'): prdc(x, x[:3], k=3)
    with pytest.raises(ValueError, match='positive integer'): prdc(x, x, k=0)
    with pytest.raises(ValueError, match='different feature widths'): prdc(x, np.zeros((6, 3)))
    with pytest.raises(ValueError, match='at least 2'): prdc(np.zeros((0, 2)), x)


# --- memorisation ---------------------------------------------------------------------------------------------------

def test_duplicates_of_training_set_are_memorised_heldout_is_not(digits):
    train, test = digits
    threes, held = of_class(train, 3), of_class(test, 3)
    seen, unseen = threes.subset(torch.arange(90)), threes.subset(torch.arange(90, len(threes)))
    copies = seen.images[torch.randperm(90, generator=torch.Generator().manual_seed(0))[:50]]
    mem = memorisation(copies, seen, held)
    assert mem['memorised'] and mem['share_closer'] == 1.0 and mem['ratio'] < 1e-3
    assert torch.equal(seen.images[mem['gen_nearest']], copies)
    assert mem['gen_distance'].shape == (50,) and mem['heldout_distance'].shape == (len(held),)
    new = memorisation(unseen, seen, held)
    assert not new['memorised'] and new['share_closer'] < 0.2 and 0.7 < new['ratio'] < 1.4
    assert memorisation(held, seen, held)['ratio'] == 1.0                         # held-out against itself
    # the same copies in [-1, 1] floats: the same answer
    assert memorisation(to_unit_range(copies), seen, held)['memorised']


def test_memorisation_in_feature_space(digits, extractor):
    train, test = digits
    threes, held = of_class(train, 3), of_class(test, 3)
    mem = memorisation(threes.images[:40], threes, held, feature_fn=extractor)
    assert mem['space'] == 'features' and mem['memorised'] and mem['median_gen'] < 1e-4   # copies: float noise only (kernels vary with batch size)
    seen, unseen = threes.subset(torch.arange(100)), threes.subset(torch.arange(100, len(threes)))
    assert not memorisation(held, seen, unseen, feature_fn=extractor)['memorised']


def test_memorisation_bad_input(digits):
    train, test = digits
    threes = of_class(train, 3)
    with pytest.raises(ValueError, match='also training images'): memorisation(threes.images[:5], threes, threes.subset(torch.arange(4)))
    with pytest.raises(ValueError, match='differ in size'): memorisation(torch.zeros(3, 1, 8, 8, dtype=torch.uint8), threes, of_class(test, 3))
    with pytest.raises(ValueError, match='is empty'): memorisation(threes.images[:0], threes, of_class(test, 3))
    with pytest.raises(ValueError, match='percentile'): memorisation(threes.images[:5], threes, of_class(test, 3), percentile=0)


def test_show_nearest_draws_two_rows(digits):
    train, test = digits
    fig = show_nearest(of_class(test, 3), of_class(train, 3), n=6)
    assert len(fig.axes) == 2 and len(fig.axes[1].texts) == 6
    matplotlib.pyplot.close(fig)


# --- the feature extractor ------------------------------------------------------------------------------------------

def test_uint8_and_unit_range_give_identical_features(digits):
    train, _ = digits
    torch.manual_seed(0)
    fx = FeatureExtractor(make_cnn('cnn2', 10), train.classes, train.shape, batch_size=64)
    f8, ff = fx(train.images[:200]), fx(to_unit_range(train.images[:200]))
    assert f8.dtype == np.float64 and f8.shape == (200, 128)
    assert np.array_equal(f8, ff)
    assert np.array_equal(fx(train.images[:200].numpy()), f8)


@pytest.mark.parametrize('images, message', [
    (torch.zeros(0, 1, 28, 28, dtype=torch.uint8), 'is empty'),
    (torch.full((2, 1, 28, 28), 2.0), r'must lie in \[-1, 1\]'),
    (torch.full((2, 1, 28, 28), float('nan')), 'NaN'),
    (torch.zeros(2, 28, 28), r'\(N, C, H, W\)'),
    (torch.zeros(2, 1, 28, 28, dtype=torch.int64), 'uint8 pixels'),
    (torch.zeros(2, 1, 32, 32), 'shape'),
])
def test_feature_extractor_bad_input(digits, images, message):
    fx = FeatureExtractor(make_cnn('cnn2', 10), digits[0].classes, digits[0].shape)
    with pytest.raises(ValueError, match=message): fx(images)


def test_feature_extractor_cache_round_trip(digits, tmp_path, monkeypatch):
    monkeypatch.setenv('IMBGAN_DATA', str(tmp_path))
    train, test = digits
    ci = get_preset('ci')
    path = tmp_path/'feature_extractors'/'digits_ci_seed0.pt'
    assert extractor_path(train, ci, 0) == path
    first = feature_extractor(train, ci, seed=0)
    assert path.is_file() and not first.info['loaded']
    saved = torch.load(path, weights_only=True)
    assert saved['kind'] == EXTRACTOR_KIND and saved['arch'] == 'cnn2' and tuple(saved['classes']) == train.classes
    assert tuple(saved['shape']) == train.shape
    second = feature_extractor(train, ci, seed=0)
    assert second.info['loaded'] and np.array_equal(first(test), second(test))
    retrained = [feature_extractor(train, ci, seed=0, cache=False, device='cpu')(test) for _ in range(2)]
    assert np.array_equal(*retrained)                                              # same seed, same network
    # another seed: another file, another network
    other = feature_extractor(train, ci, seed=1)
    assert (tmp_path/'feature_extractors'/'digits_ci_seed1.pt').is_file() and not np.array_equal(first(test), other(test))
    # changed sizes get their own file
    assert extractor_path(train, ci.with_(clf_epochs=5), 0).name.startswith('digits_ci-')


def _corrupt(path, **changes):
    ckpt = torch.load(path, weights_only=True)
    ckpt.update(changes)
    torch.save(ckpt, path)


@pytest.mark.parametrize('damage, message', [
    (lambda p: p.write_bytes(b'garbage'), 'cannot be opened as a feature extractor'),
    (lambda p: torch.save({'kind': 'something else'}, p), 'not a feature extractor'),
    (lambda p: torch.save([1, 2, 3], p), 'not a feature extractor'),
    (lambda p: _corrupt(p, shape=[1, 32, 32]), 'shape'),
    (lambda p: _corrupt(p, classes=list('abcdefghij')), 'classes'),
    (lambda p: _corrupt(p, fingerprint='0' * 16), 'other images'),
    (lambda p: _corrupt(p, state_dict={'body.0.0.weight': torch.zeros(3)}), 'do not fit'),
])
def test_bad_checkpoint_is_refused_with_its_name(digits, tmp_path, damage, message):
    train, _ = digits
    ci = get_preset('ci')
    feature_extractor(train, ci, seed=0, cache=tmp_path)
    path = extractor_path(train, ci, 0, tmp_path)
    damage(path)
    with pytest.raises(ValueError, match=message) as err: feature_extractor(train, ci, seed=0, cache=tmp_path)
    assert path.name in str(err.value) and 'delete it' in str(err.value).lower()


def test_cached_network_not_reused_for_other_images(digits, tmp_path):
    train, _ = digits
    feature_extractor(train, SMALL, seed=0, cache=tmp_path)
    fewer = train.subset(torch.arange(0, len(train), 2))            # same name, other images
    with pytest.raises(ValueError, match='other images'): feature_extractor(fewer, SMALL, seed=0, cache=tmp_path)
    assert feature_extractor(fewer, SMALL, seed=0, cache=False).info['n_train'] == len(fewer)


# --- the report -----------------------------------------------------------------------------------------------------

def test_quality_report(digits, extractor):
    train, test = digits
    sevens, held = of_class(train, 7), of_class(test, 7)
    own = quality_report(sevens, sevens, extractor)
    assert own['fd'] == pytest.approx(0, abs=1e-6) and own['precision'] == own['recall'] == own['coverage'] == 1.0
    assert 'memorised' not in own and own['n_generated'] == own['n_real'] == len(sevens)
    copies = quality_report(sevens.images[:60], sevens, extractor, heldout=held)
    assert copies['memorised'] and copies['share_closer'] == 1.0
    assert copies['n_fd'] == min(60, len(held))       # every FD, the floor's too, at the smallest set's size
    half = len(held) // 2
    new, other = held.subset(torch.arange(half)), held.subset(torch.arange(half, 2 * half))
    fresh = quality_report(new, sevens, extractor, heldout=other)
    assert not fresh['memorised'] and fresh['fd_floor'] > 0 and fresh['fd_floor_std'] > 0 and fresh['n_fd'] == half
    ones = quality_report(of_class(test, 1).images[:half], sevens, extractor, heldout=other)
    assert ones['fd'] > 3 * fresh['fd'] and ones['coverage'] < fresh['coverage'] and ones['precision'] < fresh['precision']
