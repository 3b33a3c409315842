"""Device choice, seeding and presets."""
import random

import numpy as np
import pytest
import torch

from imbgan_nb.core import PRESETS, get_device, get_preset, seed_everything


def test_device_override_and_env(monkeypatch):
    monkeypatch.delenv('IMBGAN_DEVICE', raising=False)
    assert get_device('cpu') == torch.device('cpu')
    monkeypatch.setenv('IMBGAN_DEVICE', 'cpu')
    assert get_device() == torch.device('cpu')
    monkeypatch.setenv('IMBGAN_DEVICE', 'gpu0')
    with pytest.raises(ValueError, match="Unknown device 'gpu0'"):
        get_device()
    assert get_device('cpu') == torch.device('cpu')  # an explicit argument wins over the environment


def test_automatic_device_prefers_cuda(monkeypatch):
    monkeypatch.delenv('IMBGAN_DEVICE', raising=False)
    expected = 'cuda' if torch.cuda.is_available() else ('mps' if torch.backends.mps.is_available() else 'cpu')
    assert get_device().type == expected


@pytest.mark.skipif(torch.cuda.is_available(), reason='this machine has a GPU')
def test_missing_gpu_is_explained():
    with pytest.raises(ValueError, match="this machine has none"):
        get_device('cuda')


def test_seed_everything_repeats_every_rng():
    def draw(g): return random.random(), float(np.random.rand()), torch.rand(3).tolist(), torch.randint(9, (3,), generator=g).tolist()
    assert draw(seed_everything(7)) == draw(seed_everything(7))
    assert draw(seed_everything(7)) != draw(seed_everything(8))
    for bad in (-1, 1.5, 'x', True):
        with pytest.raises(ValueError, match="non-negative integer"):
            seed_everything(bad)


def test_preset_choice(monkeypatch):
    monkeypatch.delenv('IMBGAN_PRESET', raising=False)
    monkeypatch.delenv('IN_TEST', raising=False)
    assert get_preset().name == 'laptop'
    monkeypatch.setenv('IN_TEST', '1')
    assert get_preset().name == 'ci'
    monkeypatch.setenv('IMBGAN_PRESET', 'paper')
    assert get_preset().name == 'paper'
    assert get_preset('ci').name == 'ci'
    monkeypatch.setenv('IMBGAN_PRESET', 'huge')
    with pytest.raises(ValueError, match="Unknown preset 'huge'"):
        get_preset()


def test_presets_grow_from_ci_to_paper():
    ci, laptop, paper = PRESETS['ci'], PRESETS['laptop'], PRESETS['paper']
    for field in ('data_fraction', 'clf_epochs'):
        assert getattr(ci, field) < getattr(laptop, field) <= getattr(paper, field)
    assert paper.data_fraction == 1.0 and paper.clf_epochs == 20 and paper.clf_batch == 256
    assert get_preset("ci", gan_epochs=1).gan_epochs == 1 and PRESETS["ci"].gan_epochs == 20
