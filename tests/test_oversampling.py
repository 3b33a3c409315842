"""Oversampling: exact counts for every target and method, provenance of every extra image, seeding, bad input."""
import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt
import pytest
import torch
import torchvision.transforms.v2.functional as TF
from torchvision.transforms import InterpolationMode

from imbgan_nb.cgan import make_cgan
from imbgan_nb.data import CIFAR10_CLASSES, FASHION_CLASSES, ImageSet, load_dataset
from imbgan_nb.imbalance import make_imbalanced
from imbgan_nb.dcgan import make_dcgan
from imbgan_nb.oversampling import (AFFINE_RANGES, _class_seed, FLIP_SAFE, METHODS, balance, combined, flip_safe, gan_oversample,
                                    oversample, plot_balance, random_affine, random_oversample,
                                    show_real_vs_synthetic, smote_oversample, target_counts, transform_oversample)


@pytest.fixture(scope='module')
def imb(digits):
    "The digits with 3s cut to 10 and 7s to 4 (class sizes 142, 146, 142, 10, 145, 146, 145, 4, 139, 144)."
    return make_imbalanced(digits[0], counts={3: 10, 7: 4}, seed=0)


@pytest.fixture(scope='module')
def gens(imb):
    "Real (untrained) GANs of the kit: one DCGAN per short class, and a cGAN that can make every class."
    torch.manual_seed(0)
    return {'dcgans': {3: make_dcgan(imb.classes, 3, device='cpu'), 7: make_dcgan(imb.classes, 7, device='cpu')},
            'cgan': make_cgan(imb.classes, device='cpu')}


def _gen(method, gens): return gens['dcgans'] if method == 'gan' else None


def _as_dict(counts): return {c: int(n) for c, n in enumerate(counts) if n}


# ---------------------------------------------------------------- targets

def test_target_forms(imb):
    have = imb.counts()
    assert have.tolist() == [142, 146, 142, 10, 145, 146, 145, 4, 139, 144]
    assert target_counts(imb) == {3: 106, 7: 112}                                  # round(116.3) = 116
    assert target_counts(imb, 'majority') == {c: 146 - int(n) for c, n in enumerate(have) if n < 146}
    assert target_counts(imb, 143) == {0: 1, 2: 1, 3: 133, 7: 139, 8: 4}
    assert target_counts(imb, 'majority', classes='7') == {7: 142}
    assert target_counts(imb, 'mean', classes=[7, '3', 0]) == {3: 106, 7: 112}    # 0 is above the mean: nothing
    assert target_counts(imb, {'3': 5, 7: 0, 9: 2}) == {3: 5, 9: 2}               # zeros left out
    assert target_counts(imb, 4) == {} and target_counts(imb, 0) == {}


@pytest.mark.parametrize('target, message', [
    ('median', "Unknown target"), (-1, "negative"), (2.5, "not understood"), (True, "not understood"),
    ({3: -2}, "non-negative"), ({3: 1.5}, "whole"), ({'cat': 1}, "Unknown class"), ({3: 1, '3': 2}, "named twice")])
def test_bad_targets(imb, target, message):
    with pytest.raises(ValueError, match=message): target_counts(imb, target)


def test_bad_classes(imb):
    with pytest.raises(ValueError, match="Unknown class"): target_counts(imb, classes=[3, 12])
    with pytest.raises(ValueError, match="names its classes"): target_counts(imb, {3: 1}, classes=[3])


# ---------------------------------------------------------------- every method, every target

@pytest.mark.parametrize('method', list(METHODS))
@pytest.mark.parametrize('target, classes, final', [('mean', None, 116), (120, None, 120),
                                                    ('majority', [3, 7], 146), ({3: 9, '7': 13}, None, None)])
def test_exact_counts_and_totals(imb, gens, method, target, classes, final):
    train, extra = balance(imb, method, target, classes, seed=0, gan=_gen(method, gens))
    assert train is imb
    assert _as_dict(extra.counts()) == target_counts(imb, target, classes)
    assert extra.images.dtype == torch.uint8 and extra.images.shape[1:] == imb.images.shape[1:]
    assert extra.labels.dtype == torch.int64 and extra.source_index.dtype == torch.int64
    assert (extra.name, extra.split, extra.classes) == (f'digits+{method}', 'synthetic', imb.classes)
    both = combined(train, extra)
    assert both.counts().tolist() == (imb.counts() + extra.counts()).tolist()
    assert len(both) == len(imb) + len(extra)
    if final is not None: assert both.counts()[[3, 7]].tolist() == [final, final]
    else: assert both.counts()[[3, 7]].tolist() == [10 + 9, 4 + 13]


@pytest.mark.parametrize('method', list(METHODS))
def test_seeded_and_different_across_seeds(imb, gens, method):
    a = oversample(imb, method, seed=3, gan=_gen(method, gens))
    b = oversample(imb, method, seed=3, gan=_gen(method, gens))
    c = oversample(imb, method, seed=4, gan=_gen(method, gens))
    assert torch.equal(a.images, b.images) and torch.equal(a.source_index, b.source_index)
    assert not torch.equal(a.images, c.images)


@pytest.mark.parametrize('method', list(METHODS))
def test_a_class_does_not_change_when_another_is_added(imb, gens, method):
    alone = oversample(imb, method, {7: 20}, seed=1, gan=_gen(method, gens))
    both = oversample(imb, method, {3: 30, 7: 20}, seed=1, gan=_gen(method, gens))
    assert torch.equal(both.images[both.labels == 7], alone.images)


def test_nothing_to_do_is_an_empty_set(imb):
    extra = oversample(imb, 'smote', 4)
    assert len(extra) == 0 and extra.images.shape == (0, 1, 28, 28)
    assert len(combined(imb, extra)) == len(imb)


# ---------------------------------------------------------------- provenance of the extra images

def test_random_copies_real_images_of_the_class(imb):
    extra = oversample(imb, 'random', 'majority', seed=0)
    assert torch.equal(extra.images, imb.images[extra.source_index])
    assert torch.equal(extra.labels, imb.labels[extra.source_index])
    sevens = extra.source_index[extra.labels == 7]
    assert set(sevens.tolist()) == set(torch.nonzero(imb.labels == 7).flatten().tolist())   # 142 draws cover all 4


def _on_a_segment(x, a, B, tol=0.5 + 1e-3):
    "Exact test: is some a + s (b - a), s in [0, 1], b a row of B, within `tol` of x in every pixel?"
    d, u = B - a, (x - a).expand_as(B)
    flat = d.abs() < 1e-9
    lo = torch.where(flat, -torch.inf, torch.minimum((u - tol)/d, (u + tol)/d)).amax(1).clamp_min(0)
    hi = torch.where(flat, torch.inf, torch.maximum((u - tol)/d, (u + tol)/d)).amin(1).clamp_max(1)
    return bool(((lo <= hi) & ~(flat & (u.abs() > tol)).any(1)).any())


@pytest.mark.parametrize('cls, n_real', [(3, 10), (7, 4), (0, 142)])
def test_smote_samples_lie_on_segments_between_real_images_of_the_class(imb, cls, n_real):
    extra = smote_oversample(imb, cls, 60, seed=2)
    members = imb.images[imb.labels == cls].flatten(1).double()
    assert len(members) == n_real and (imb.labels[extra.source_index] == cls).all()
    for x, s in zip(extra.images.flatten(1).double(), extra.source_index):
        assert _on_a_segment(x, imb.images[s].flatten().double(), members)
    # and they are new pixel vectors (but for the odd one whose step lambda was so small that it rounds to its base)
    copies = sum(any(torch.equal(x, r) for r in imb.images[imb.labels == cls]) for x in extra.images)
    assert copies <= 3, copies


def test_the_segment_check_can_fail(imb):
    sevens = imb.images[imb.labels == 7].flatten(1).double()
    one = imb.images[imb.labels == 1][0].flatten().double()
    assert not _on_a_segment(one, sevens[0], sevens)
    assert _on_a_segment(0.3*sevens[0] + 0.7*sevens[2], sevens[0], sevens)


def test_smote_with_two_images_and_with_one(digits):
    two = make_imbalanced(digits[0], counts={7: 2})
    extra = smote_oversample(two, 7, 20, seed=0)                  # k reduced to 1: the one segment
    a, b = two.images[two.labels == 7].flatten(1).double()
    assert all(_on_a_segment(x, a, b[None]) or _on_a_segment(x, b, a[None]) for x in extra.images.flatten(1).double())
    with pytest.raises(ValueError, match="at least 2"): smote_oversample(make_imbalanced(digits[0], counts={7: 1}), 7, 5)


def test_transforms_keep_the_ink_and_never_flip_digits(imb):
    extra = transform_oversample(imb, 3, 300, seed=0)
    src = imb.images[extra.source_index]
    assert (imb.labels[extra.source_index] == 3).all()
    ratio = extra.images.flatten(1).float().sum(1) / src.flatten(1).float().sum(1)
    assert ((ratio > 0.6) & (ratio < 1.4)).all()
    assert not any(torch.equal(x, s) for x, s in zip(extra.images, src))           # every one moved
    assert not flip_safe(imb, 3)
    assert torch.equal(transform_oversample(imb, 3, 300, seed=0, flip=False).images, extra.images)
    assert not torch.equal(transform_oversample(imb, 3, 300, seed=0, flip=True).images, extra.images)


def test_flip_rule():
    x = torch.zeros(10, 1, 28, 28, dtype=torch.uint8)
    fashion = ImageSet(x, torch.arange(10), FASHION_CLASSES, 'fashion_mnist')
    assert [flip_safe(fashion, c) for c in range(10)] == [True, True, True, True, True, False, True, False, True, False]
    assert all(flip_safe(ImageSet(x, torch.arange(10), CIFAR10_CLASSES, 'cifar10'), c) for c in range(10))
    assert not any(flip_safe(ImageSet(x, torch.arange(10), [str(d) for d in range(10)], name), c)
                   for name in ('mnist', 'digits', 'my_own_set') for c in range(10))
    assert set(FLIP_SAFE) >= {'fashion_mnist', 'cifar10', 'mnist', 'digits'}


def test_fashion_shoes_all_point_one_way(fashion):
    "Why shoes are not flip-safe: nearly every Sneaker and Ankle boot has more ink on its right (heel) half."
    train, _ = fashion
    for name in ('Sneaker', 'Ankle boot'):
        x = train.images[train.labels == train.class_index(name)][:, 0].float()
        assert (x[:, :, 14:].sum((1, 2)) > x[:, :, :14].sum((1, 2))).float().mean() > 0.95


def test_batched_warp_matches_torchvision_affine(imb):
    imgs = imb.images[:40]
    out, flipped = random_affine(imgs, torch.Generator().manual_seed(5), **AFFINE_RANGES)
    u = torch.rand(40, 6, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    for i in range(40):
        ref = TF.affine(imgs[i], angle=float((2*u[i, 0] - 1)*15), translate=[float((2*u[i, 1] - 1)*2.8), float((2*u[i, 2] - 1)*2.8)],
                        scale=float(0.9 + 0.2*u[i, 4]), shear=[float((2*u[i, 3] - 1)*10), 0.0],
                        interpolation=InterpolationMode.BILINEAR)
        assert (ref.int() - out[i].int()).abs().max() <= 1
    assert not flipped.any()


def test_flip_alone_is_an_exact_mirror(imb):
    imgs = imb.images[:64]
    out, flipped = random_affine(imgs, torch.Generator().manual_seed(0), flip=True, rotation=0, shift=0, shear=0, zoom=(1, 1))
    assert 10 < flipped.sum() < 54
    assert torch.equal(out[flipped], imgs[flipped].flip(-1)) and torch.equal(out[~flipped], imgs[~flipped])
    same, _ = random_affine(imgs, torch.Generator().manual_seed(0), rotation=0, shift=0, shear=0, zoom=(1, 1))
    assert torch.equal(same, imgs)


def test_gan_samples_are_marked_generated(imb, gens):
    extra = oversample(imb, 'gan', 'mean', seed=0, gan=gens['dcgans'])
    assert (extra.source_index == -1).all()
    x = gens['dcgans'][7].sample(112, 7, rng=torch.Generator().manual_seed(_class_seed(0, 7)))  # the class's stream
    expected = ((x + 1) * 127.5).round().to(torch.uint8)
    assert torch.equal(extra.images[extra.labels == 7], expected)      # sample -> uint8 as documented
    both = combined(imb, extra)
    assert (both.source_index[len(imb):] == -1).all()


def test_only_a_generator_can_fill_an_empty_class(imb, gens):
    no_sevens = imb.subset(torch.nonzero(imb.labels != 7).flatten())
    for method in ('random', 'smote', 'transforms'):
        with pytest.raises(ValueError, match="has 0 real image"): oversample(no_sevens, method)
    extra = oversample(no_sevens, 'gan', 'mean', seed=0, gan=gens['cgan'])     # one cGAN for both classes
    assert _as_dict(extra.counts()) == target_counts(no_sevens) and 7 in target_counts(no_sevens)
    assert _as_dict(oversample(no_sevens, 'random', classes=[3]).counts()) == {3: target_counts(no_sevens)[3]}


def test_gan_refusals(imb, gens):
    with pytest.raises(ValueError, match="cannot make class '3'"): oversample(imb, 'gan', gan=gens['dcgans'][7])
    with pytest.raises(ValueError, match="no GAN given for class '3'"): oversample(imb, 'gan', gan={7: gens['dcgans'][7]})
    with pytest.raises(ValueError, match="needs gan="): oversample(imb, 'gan')
    with pytest.raises(ValueError, match="needs gan="): gan_oversample(imb, 7, 3, gan=object())
    other = make_dcgan([f'c{i}' for i in range(10)], 7, device='cpu')
    with pytest.raises(ValueError, match="trained on classes"): gan_oversample(imb, 7, 3, gan=other)


def test_bad_requests(imb, gens):
    with pytest.raises(ValueError, match="random, smote, transforms, gan"): oversample(imb, 'mixup')
    with pytest.raises(ValueError, match="only used by method 'gan'"): oversample(imb, 'smote', gan=gens['cgan'])
    with pytest.raises(ValueError, match="non-negative integer"): oversample(imb, 'random', seed=-1)
    with pytest.raises(ValueError, match="Unknown class"): random_oversample(imb, 'eleven', 3)
    wrong = ImageSet(torch.zeros(2, 3, 32, 32, dtype=torch.uint8), torch.zeros(2, dtype=torch.int64), imb.classes)
    with pytest.raises(ValueError, match="image shape"): combined(imb, wrong)


def test_plots(imb):
    extra = oversample(imb, 'smote', seed=0)
    fig = plot_balance(imb, extra)
    assert fig.axes[0].get_title() == 'digits+smote: IR 36.5 → 1.3' and len(fig.axes[0].patches) == 20
    heights = [p.get_height() for p in fig.axes[0].patches]
    assert heights[:10] == imb.counts().tolist() and heights[10:] == extra.counts().tolist()
    fig2 = show_real_vs_synthetic(imb, extra, 7, n=6)
    assert len(fig2.axes) == 2
    with pytest.raises(ValueError, match="no extra images"): show_real_vs_synthetic(imb, extra, 1)
    plt.close('all')
