"""The training loops never wait for the device inside an epoch: the kit's host reads of tensors (`item`, `tolist`,
`cpu`, `numpy`, `bool`, `float`, `int`) per epoch are the same whatever the number of steps. On a GPU each such read
stalls the queue; on the CPU this counts them where they would happen."""
import contextlib, sys

import pytest
import torch

from imbgan_nb.classifier import fit_classifier
from imbgan_nb.core import get_preset
from imbgan_nb.data import load_dataset
from imbgan_nb.registry import gan_kinds, get_oversampler
from imbgan_nb.gamo import fit_gamo
from imbgan_nb.gamo2pix import fit_gamo2pix
from imbgan_nb.training import train_gan

READS = ('item', 'tolist', 'cpu', 'numpy', '__bool__', '__float__', '__int__')


@contextlib.contextmanager
def host_reads():
    "Count the reads of tensor values that the kit's own code makes (torch's internals are not the kit's to fix)."
    counts = {}
    originals = {name: getattr(torch.Tensor, name) for name in READS}
    def counted(name, method):
        def read(self, *args, **kwargs):
            caller = sys._getframe(1).f_code.co_filename
            if '/imbgan_nb/' in caller.replace('\\', '/'): counts[name] = counts.get(name, 0) + 1
            return method(self, *args, **kwargs)
        return read
    for name, method in originals.items(): setattr(torch.Tensor, name, counted(name, method))
    try: yield counts
    finally:
        for name, method in originals.items(): setattr(torch.Tensor, name, method)


@pytest.fixture(scope='module')
def digits(): return load_dataset('digits')


def reads_at(batch_sizes, run):
    "{batch size: the reads of one run}: one epoch at each batch size, so the number of steps differs."
    out = {}
    for bs in batch_sizes:
        with host_reads() as counts: run(bs)
        out[bs] = counts
    return out


@pytest.mark.parametrize('kind', gan_kinds())
def test_gan_loop_reads_the_device_once_per_epoch(digits, kind):
    sevens = digits.subset(torch.nonzero(digits.labels == 7).flatten())
    def run(bs):
        torch.manual_seed(0)
        gan = _make(kind, digits)
        data = digits if gan.conditional else sevens
        train_gan(gan, data, epochs=1, batch_size=bs, snapshot_every=1, progress=False)
    reads = reads_at((64, 16), run)
    steps = {bs: (len(digits) if kind == 'cgan' else len(sevens)) // bs for bs in reads}
    assert steps[16] >= 4 * steps[64] > 0
    assert reads[16] == reads[64], (kind, reads)


def _make(kind, digits):
    return get_oversampler(kind).make_gan(digits.classes, 7, digits.shape, device='cpu')


def test_classifier_loop_reads_the_device_once_per_epoch(digits):
    reads = reads_at((128, 16), lambda bs: fit_classifier(digits, 'cnn2', preset=get_preset('ci', data_fraction=1.0, clf_epochs=1,
                                                                                             clf_batch=bs), progress=False, device='cpu'))
    assert reads[16] == reads[128], reads


def test_gamo_and_gamo2pix_loops_read_the_device_once_per_round(digits):
    cut = digits.subset(torch.cat([torch.nonzero(digits.labels == c).flatten()[:n] for c, n in enumerate([120, 60, 30, 20, 12, 120, 60, 30, 20, 12])]))
    fitted = {}
    def run(bs):
        fitted[bs] = fit_gamo(cut, 'conv', preset=get_preset('ci', data_fraction=1.0, clf_epochs=1, clf_batch=bs), progress=False, device='cpu')
    reads = reads_at((64, 16), run)
    assert reads[16] == reads[64], reads
    pix = reads_at((4, 8), lambda steps: fit_gamo2pix(fitted[16], cut, classes=[4], steps=steps, progress=False, device='cpu'))
    assert pix[4] == pix[8], pix
