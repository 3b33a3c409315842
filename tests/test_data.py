"""The data layer: loaders on real and hand-written files, protocols, bad input."""
import gzip, pickle, shutil

import numpy as np
import pytest
import torch

from imbgan_nb.data import ImageSet, batches, load_dataset
from imbgan_nb.readers import DatasetFileError, parse_idx, read_idx_split, write_idx
from imbgan_nb.imbalance import PROTOCOLS, get_protocol, imbalance_ratio, make_imbalanced, subsample, take_per_class


# ---------------------------------------------------------------- IDX files written here

def write_mnist_like(folder, n=50, seed=0, compress=True, n_labels=None):
    "Write a tiny MNIST-layout train/test pair of IDX files; return the arrays written."
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    ext = '.gz' if compress else ''
    out = {}
    for split, stem in (('train', 'train'), ('test', 't10k')):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n_labels or n, dtype=np.uint8)
        write_idx(images, folder/f'{stem}-images-idx3-ubyte{ext}')
        write_idx(labels, folder/f'{stem}-labels-idx1-ubyte{ext}')
        out[split] = images, labels
    return out


@pytest.mark.parametrize('compress', [True, False])
@pytest.mark.parametrize('layout', ['', 'MNIST/raw'])
def test_idx_round_trip_through_load_dataset(tmp_path, compress, layout):
    written = write_mnist_like(tmp_path/layout, compress=compress)
    for split in ('train', 'test'):
        ds = load_dataset('mnist', split, root=tmp_path)
        images, labels = written[split]
        assert ds.images.shape == (50, 1, 28, 28) and ds.images.dtype == torch.uint8
        assert torch.equal(ds.images[:, 0], torch.from_numpy(images))
        assert torch.equal(ds.labels, torch.from_numpy(labels.astype(np.int64)))
        assert ds.labels.dtype == torch.int64 and ds.classes == tuple('0123456789')


def test_idx_wrong_magic_names_the_file(tmp_path):
    write_mnist_like(tmp_path)
    bad = tmp_path/'train-images-idx3-ubyte.gz'
    raw = bytearray(gzip.decompress(bad.read_bytes())); raw[2] = 0x42
    bad.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(DatasetFileError, match=r"train-images-idx3-ubyte\.gz: not an IDX file"):
        load_dataset('mnist', root=tmp_path)


def test_idx_truncated_gzip(tmp_path):
    write_mnist_like(tmp_path)
    bad = tmp_path/'train-labels-idx1-ubyte.gz'
    bad.write_bytes(bad.read_bytes()[:-12])
    with pytest.raises(DatasetFileError, match=r"train-labels-idx1-ubyte\.gz: truncated or corrupt gzip"):
        load_dataset('mnist', root=tmp_path)


def test_idx_corrupt_gzip_stream(tmp_path):
    write_mnist_like(tmp_path)
    bad = tmp_path/'train-images-idx3-ubyte.gz'
    data = bytearray(bad.read_bytes())
    data[len(data)//2:len(data)//2 + 64] = bytes(64)  # garble the deflate stream
    bad.write_bytes(bytes(data))
    with pytest.raises(DatasetFileError, match=r"train-images-idx3-ubyte\.gz: truncated or corrupt gzip"):
        load_dataset('mnist', root=tmp_path)


def test_idx_payload_shorter_than_header_promises(tmp_path):
    write_mnist_like(tmp_path, compress=False)
    bad = tmp_path/'t10k-images-idx3-ubyte'
    bad.write_bytes(bad.read_bytes()[:-100])
    with pytest.raises(DatasetFileError, match=r"t10k-images-idx3-ubyte: header promises \(50, 28, 28\)"):
        load_dataset('mnist', 'test', root=tmp_path)


def test_idx_count_mismatch_between_images_and_labels(tmp_path):
    write_mnist_like(tmp_path, n=50, n_labels=49)
    with pytest.raises(DatasetFileError, match=r"holds 50 images but .*train-labels-idx1-ubyte\.gz holds 49 labels"):
        load_dataset('mnist', root=tmp_path)


def test_idx_swapped_files(tmp_path):
    write_mnist_like(tmp_path)
    a, b = tmp_path/'train-images-idx3-ubyte.gz', tmp_path/'train-labels-idx1-ubyte.gz'
    a.rename(tmp_path/'x'); b.rename(a); (tmp_path/'x').rename(b)
    with pytest.raises(DatasetFileError, match="swapped"):
        load_dataset('mnist', root=tmp_path)


def test_idx_labels_out_of_range(tmp_path):
    write_mnist_like(tmp_path)
    write_idx(np.full(50, 12, dtype=np.uint8), tmp_path/'train-labels-idx1-ubyte.gz')
    with pytest.raises(DatasetFileError, match="labels run 12..12 but mnist has 10 classes"):
        load_dataset('mnist', root=tmp_path)


def test_published_size_file_is_checked_against_checksum(tmp_path):
    "A file with the published number of images must match the published checksum."
    rng = np.random.default_rng(0)
    write_idx(rng.integers(0, 256, (60_000, 1, 1), dtype=np.uint8), tmp_path/'train-images-idx3-ubyte.gz')
    write_idx(rng.integers(0, 10, 60_000, dtype=np.uint8), tmp_path/'train-labels-idx1-ubyte.gz')
    with pytest.raises(DatasetFileError, match="checksum does not match the published mnist file"):
        load_dataset('mnist', root=tmp_path)
    assert len(load_dataset('mnist', root=tmp_path, verify=False)) == 60_000


def test_real_fashion_mnist_checksums_pass_and_catch_a_flipped_pixel(tmp_path, fashion_dir):
    for f in fashion_dir.iterdir(): shutil.copy(f, tmp_path/f.name)
    ds = load_dataset('fashion_mnist', root=tmp_path)
    assert len(ds) == 60_000
    path = tmp_path/'train-images-idx3-ubyte.gz'
    raw = bytearray(gzip.decompress(path.read_bytes())); raw[1000] ^= 0xFF
    path.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(DatasetFileError, match="checksum does not match the published fashion_mnist file"):
        load_dataset('fashion_mnist', root=tmp_path)


def test_real_mnist_uncompressed_passes_its_checksum(tmp_path):
    "Genuine MNIST IDX files, decompressed, are MNIST: the kit knows the MD5s of the raw bytes as well as of the .gz."
    from imbgan_nb.data import data_folders
    folder = next((f for f in data_folders('mnist') if (f/'train-images-idx3-ubyte.gz').exists() and (f/'t10k-labels-idx1-ubyte.gz').exists()), None)
    if folder is None: pytest.skip("the original MNIST .gz files are not in the kit's cache (copy them into $IMBGAN_DATA/MNIST/raw/)")
    for f in folder.glob('*-ubyte.gz'): (tmp_path/f.stem).write_bytes(gzip.decompress(f.read_bytes()))
    assert len(load_dataset('mnist', root=tmp_path)) == 60_000 and len(load_dataset('mnist', 'test', root=tmp_path)) == 10_000
    raw = bytearray((tmp_path/'train-images-idx3-ubyte').read_bytes()); raw[5000] ^= 0xFF
    (tmp_path/'train-images-idx3-ubyte').write_bytes(bytes(raw))
    with pytest.raises(DatasetFileError, match="checksum does not match the published mnist file"):
        load_dataset('mnist', root=tmp_path)


def test_parse_idx_rejects_short_header():
    with pytest.raises(DatasetFileError, match="truncated in its header"):
        parse_idx(bytes([0, 0, 8, 3, 0, 0]), 'short')


# ---------------------------------------------------------------- CIFAR-10 batches written here

def write_cifar_like(folder, n=20, seed=0):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    written = {}
    for stem in [f'data_batch_{i}' for i in range(1, 6)] + ['test_batch']:
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        labels = rng.integers(0, 10, n).tolist()
        with open(folder/stem, 'wb') as f: pickle.dump({b'data': data, b'labels': labels, b'batch_label': b'x'}, f)
        written[stem] = data, labels
    return written


def test_cifar_batches_load_as_nchw(tmp_path):
    written = write_cifar_like(tmp_path/'cifar-10-batches-py')
    train, test = load_dataset('cifar10', 'train', root=tmp_path), load_dataset('cifar10', 'test', root=tmp_path)
    assert train.images.shape == (100, 3, 32, 32) and test.images.shape == (20, 3, 32, 32)
    data, labels = written['test_batch']
    assert torch.equal(test.images, torch.from_numpy(data.reshape(-1, 3, 32, 32)))
    assert test.labels.tolist() == labels
    assert train.classes[0] == 'airplane'


class _Evil:
    def __reduce__(self): return (print, ('pwned',))


def test_cifar_refuses_code_in_pickles(tmp_path):
    folder = tmp_path/'cifar-10-batches-py'
    write_cifar_like(folder)
    with open(folder/'test_batch', 'wb') as f: pickle.dump({b'data': _Evil(), b'labels': []}, f)
    with pytest.raises(DatasetFileError, match="test_batch: not a readable CIFAR-10 batch"):
        load_dataset('cifar10', 'test', root=tmp_path)


def test_cifar_wrong_shape_and_missing_batch(tmp_path):
    folder = tmp_path/'cifar-10-batches-py'
    write_cifar_like(folder)
    with open(folder/'test_batch', 'wb') as f: pickle.dump({b'data': np.zeros((4, 10), np.uint8), b'labels': [0]*4}, f)
    with pytest.raises(DatasetFileError, match=r"'data' should be uint8 \(N, 3072\)"):
        load_dataset('cifar10', 'test', root=tmp_path)
    (folder/'data_batch_3').unlink()
    with pytest.raises(FileNotFoundError, match="No train files of cifar10"):
        load_dataset('cifar10', 'train', root=tmp_path)


# ---------------------------------------------------------------- the real data sets

def test_fashion_mnist_loads_whole(fashion):
    train, test = fashion
    assert train.images.shape == (60_000, 1, 28, 28) and test.images.shape == (10_000, 1, 28, 28)
    assert train.counts().tolist() == [6000]*10 and test.counts().tolist() == [1000]*10
    assert train.classes[7] == 'Sneaker'
    assert 0 < train.images.float().mean() < 255


def test_digits_are_28x28_and_split_fixed(digits):
    train, test = digits
    assert train.images.shape[1:] == (1, 28, 28) and len(train) + len(test) == 1797
    assert train.images[:, :, :4].max() == 0 and train.images[:, :, -4:].max() == 0  # centred in a 4-pixel frame
    again = load_dataset('digits')
    assert torch.equal(again.images, train.images) and torch.equal(again.labels, train.labels)


FASHION_EXPECTED = {
    'sneaker_10pct': ([6000]*7 + [600] + [6000]*2, [1000]*10),
    'mnist0_300': ([300] + [6000]*9, [1000]*10),
    'fmnist_multiclass': ([6000, 6000, 1200, 600, 1800, 6000, 300, 6000, 6000, 6000], [1000]*10),
    'gamo_ir100': ([4000, 2000, 1000, 750, 500, 350, 200, 100, 60, 40], [100]*10),
}
DIGITS_EXPECTED = {  # digits train holds [142, 146, 142, 146, 145, 146, 145, 143, 139, 144]; median 144
    'sneaker_10pct': ([142, 146, 142, 146, 145, 146, 145, 14, 139, 144], [36, 36, 35, 37, 36, 36, 36, 36, 35, 36]),
    'mnist0_300': ([7, 146, 142, 146, 145, 146, 145, 143, 139, 144], [36, 36, 35, 37, 36, 36, 36, 36, 35, 36]),
    'fmnist_multiclass': ([142, 146, 28, 15, 44, 146, 7, 143, 139, 144], [36, 36, 35, 37, 36, 36, 36, 36, 35, 36]),
    'gamo_ir100': ([96, 48, 24, 18, 12, 8, 5, 2, 1, 1], [35]*10),
}


@pytest.mark.parametrize('name', list(PROTOCOLS))
def test_protocol_exact_counts_on_fashion_mnist(fashion, name):
    train, test = fashion
    imbalanced, test_used = get_protocol(name).apply(train, test, seed=0)
    assert (imbalanced.counts().tolist(), test_used.counts().tolist()) == FASHION_EXPECTED[name]


@pytest.mark.parametrize('name', list(PROTOCOLS))
def test_protocol_exact_counts_on_digits(digits, name):
    train, test = digits
    imbalanced, test_used = get_protocol(name).apply(train, test, seed=0)
    assert (imbalanced.counts().tolist(), test_used.counts().tolist()) == DIGITS_EXPECTED[name]


@pytest.mark.parametrize('name', list(PROTOCOLS))
def test_protocols_leave_inputs_untouched_and_keep_real_images(fashion, name):
    train, test = fashion
    before = train.images.clone(), train.labels.clone(), test.images.clone(), test.labels.clone()
    imbalanced, test_used = get_protocol(name).apply(train, test, seed=3)
    after = train.images, train.labels, test.images, test.labels
    assert all(torch.equal(a, b) for a, b in zip(before, after))
    # every kept image is the original image at its recorded position, with its label
    assert torch.equal(imbalanced.images, train.images[imbalanced.source_index])
    assert torch.equal(imbalanced.labels, train.labels[imbalanced.source_index])
    assert len(set(imbalanced.source_index.tolist())) == len(imbalanced)
    if get_protocol(name).test_per_class is None: assert test_used is test
    else: assert torch.equal(test_used.images, test.images[test_used.source_index])


def test_seeded_and_reproducible(fashion):
    train, _ = fashion
    a = make_imbalanced(train, fractions={7: 0.1}, seed=5).source_index
    b = make_imbalanced(train, fractions={7: 0.1}, seed=5).source_index
    c = make_imbalanced(train, fractions={7: 0.1}, seed=6).source_index
    assert torch.equal(a, b) and not torch.equal(a, c)
    # other classes are untouched: all their images kept, whatever the seed
    others = lambda idx: set(idx[train.labels[idx] != 7].tolist())
    assert others(a) == others(c) == set(torch.nonzero(train.labels != 7).flatten().tolist())


def test_smaller_counts_are_nested(digits):
    train, _ = digits
    kept = [set(make_imbalanced(train, counts={3: n}, seed=2).source_index.tolist()) for n in (1, 10, 50, 146)]
    assert kept[0] < kept[1] < kept[2] < kept[3]


def test_take_per_class_and_subsample(fashion):
    train, test = fashion
    assert take_per_class(test, 7, seed=1).counts().tolist() == [7]*10
    imbalanced = make_imbalanced(train, fractions={7: 0.1})
    small = subsample(imbalanced, 0.1, seed=0)
    assert small.counts().tolist() == [600]*7 + [60] + [600]*2
    assert imbalance_ratio(small.counts()) == imbalance_ratio(imbalanced.counts()) == 10


# ---------------------------------------------------------------- bad input

def test_bad_inputs_are_explained(digits, tmp_path):
    train, test = digits
    with pytest.raises(ValueError, match="Unknown dataset 'svhn'.*fashion_mnist, mnist, cifar10, digits"):
        load_dataset('svhn')
    with pytest.raises(ValueError, match="Unknown split 'val'"):
        load_dataset('digits', 'val')
    with pytest.raises(ValueError, match="Unknown class 'Sneakers'"):
        make_imbalanced(train, counts={'Sneakers': 10})
    with pytest.raises(ValueError, match="Unknown class 10"):
        make_imbalanced(train, counts={10: 10})
    with pytest.raises(ValueError, match="asked to keep 500 images of class '3' but it has only 146"):
        make_imbalanced(train, counts={3: 500})
    for bad in (0, 1.01, -0.2, True):
        with pytest.raises(ValueError, match=r"outside \(0, 1\]"):
            make_imbalanced(train, fractions={3: bad})
    with pytest.raises(ValueError, match="must be a whole number"):
        make_imbalanced(train, counts={3: 2.5})
    with pytest.raises(ValueError, match="would leave it empty"):
        make_imbalanced(train, counts={3: 0})
    with pytest.raises(ValueError, match="both a count and a fraction"):
        make_imbalanced(train, counts={3: 5}, fractions={'3': 0.5})
    no_threes = train.subset(torch.nonzero(train.labels != 3).flatten())
    with pytest.raises(ValueError, match="class '3' has no images"):
        make_imbalanced(no_threes, fractions={3: 0.5})
    with pytest.raises(ValueError, match="empty class"):
        imbalance_ratio(no_threes.counts())
    with pytest.raises(ValueError, match="test split stays untouched"):
        make_imbalanced(test, counts={3: 5})
    with pytest.raises(FileNotFoundError, match="not a readable folder"):
        load_dataset('mnist', root=tmp_path/'missing')
    (tmp_path/'a_file').write_text('x')
    with pytest.raises(FileNotFoundError, match="not a readable folder"):
        load_dataset('mnist', root=tmp_path/'a_file')
    with pytest.raises(FileNotFoundError, match=r"No train files of mnist in: .*pass root="):
        load_dataset('mnist', root=tmp_path)
    with pytest.raises(ValueError, match="Unknown protocol"):
        get_protocol('ir10')


def test_missing_dataset_offline_says_how_to_fix(tmp_path, monkeypatch):
    monkeypatch.setenv('IMBGAN_DATA', str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"No train files of mnist .* To fix: pass root="):
        load_dataset('mnist', download=False)


def test_imageset_validates_its_tensors():
    with pytest.raises(ValueError, match="uint8 tensor"):
        ImageSet(torch.zeros(2, 1, 4, 4), torch.zeros(2, dtype=torch.int64), ['a'])
    with pytest.raises(ValueError, match="labels must be int64"):
        ImageSet(torch.zeros(2, 1, 4, 4, dtype=torch.uint8), torch.zeros(3, dtype=torch.int64), ['a'])


# ---------------------------------------------------------------- batches

def test_batches_cover_every_image_once_and_are_seeded(digits):
    train, _ = digits
    g = torch.Generator().manual_seed(0)
    got = list(batches(train, 100, rng=g))
    assert [len(y) for _, y in got][:-1] == [100]*(len(train)//100)
    ys = torch.cat([y for _, y in got])
    assert torch.equal(ys.sort().values, train.labels.sort().values)
    x0 = got[0][0]
    assert x0.dtype == torch.float32 and x0.min() >= -1 and x0.max() <= 1
    again = next(iter(batches(train, 100, rng=torch.Generator().manual_seed(0))))[0]
    assert torch.equal(again, x0)
    assert len(list(batches(train, 100, drop_last=True))) == len(train)//100
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        next(batches(train, 0))


# ---------------------------------------------------------------- without the real Fashion-MNIST (a laptop offline)

def _fake_system_folder(tmp_path, monkeypatch):
    "A small Fashion-MNIST-layout set standing as the system copy, and an empty cache."
    import imbgan_nb.data as data
    system = tmp_path/'usr-share-fashion'
    write_mnist_like(system, n=40)
    monkeypatch.setitem(data.SYSTEM_DIRS, 'fashion_mnist', [system])
    monkeypatch.setenv('IMBGAN_DATA', str(tmp_path/'empty-cache'))
    monkeypatch.delenv('IMBGAN_NO_SYSTEM_DATA', raising=False)
    return system


def test_no_system_data_hides_the_system_folder(tmp_path, monkeypatch, capsys):
    from imbgan_nb.core import get_preset
    from imbgan_nb.data import dataset_here, dataset_or_digits
    _fake_system_folder(tmp_path, monkeypatch)
    ci = get_preset('ci')
    assert dataset_here('fashion_mnist') and len(load_dataset('fashion_mnist', download=False)) == 40
    assert dataset_or_digits('fashion_mnist', ci) == ('fashion_mnist', ci) and capsys.readouterr().out == ''
    monkeypatch.setenv('IMBGAN_NO_SYSTEM_DATA', '0')      # '0' hides nothing
    assert dataset_here('fashion_mnist')
    monkeypatch.setenv('IMBGAN_NO_SYSTEM_DATA', '1')
    assert not dataset_here('fashion_mnist')
    with pytest.raises(FileNotFoundError, match="No train files of fashion_mnist"):
        load_dataset('fashion_mnist', download=False)
    name, preset = dataset_or_digits('fashion_mnist', ci)
    said = capsys.readouterr().out
    assert name == 'digits' and said.count('\n') == 1 and 'digits stand in' in said
    assert (preset.name, preset.data_fraction, preset.test_fraction, preset.clf_epochs) == ('ci', 1.0, 1.0, ci.clf_epochs)


@pytest.mark.parametrize('preset', ['ci', 'laptop', 'paper'])
def test_digits_stand_in_keeps_a_batch_of_every_class(preset, monkeypatch, tmp_path, capsys):
    "At every preset the stand-in keeps enough digits that the minority of `sneaker_10pct` (the notebooks' protocol) makes a batch."
    from imbgan_nb.core import get_preset
    from imbgan_nb.data import dataset_or_digits
    _fake_system_folder(tmp_path, monkeypatch)
    monkeypatch.setenv('IMBGAN_NO_SYSTEM_DATA', '1')
    name, p = dataset_or_digits('fashion_mnist', get_preset(preset), quiet=True)
    train = subsample(get_protocol('sneaker_10pct').apply(load_dataset(name))[0], p.data_fraction, seed=0)
    assert train.counts().min().item() >= 8, train.counts().tolist()
    assert capsys.readouterr().out == ''


@pytest.mark.parametrize('require', [False, True])
def test_real_set_tests_skip_without_it_and_fail_where_required(require, tmp_path):
    "Without Fashion-MNIST a test that needs it is skipped with the reason, unless IMBGAN_REQUIRE_FASHION_MNIST is set."
    import os, subprocess, sys
    from pathlib import Path
    env = {**os.environ, 'IMBGAN_NO_SYSTEM_DATA': '1', 'IMBGAN_DATA': str(tmp_path/'empty-cache')}
    env.pop('IMBGAN_REQUIRE_FASHION_MNIST', None)
    if require: env['IMBGAN_REQUIRE_FASHION_MNIST'] = '1'
    res = subprocess.run([sys.executable, '-m', 'pytest', '-rs', '-p', 'no:cacheprovider', '--basetemp', str(tmp_path/'bt'),
                          f"{Path(__file__).resolve()}::test_fashion_mnist_loads_whole"],
                         env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    if require: assert res.returncode == 1 and 'the real Fashion-MNIST is required here' in res.stdout, res.stdout[-2000:]
    else: assert res.returncode == 0 and '1 skipped' in res.stdout and 'Fashion-MNIST is not installed' in res.stdout, res.stdout[-2000:]
