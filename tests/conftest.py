"""Shared fixtures: real data sets through the kit's real loaders."""
import os
from pathlib import Path

import pytest

from imbgan_nb.data import _holds, data_folders, load_dataset


def _fashion_folder():
    "The folder holding the real Fashion-MNIST files: the kit's cache or Debian's (hidden by IMBGAN_NO_SYSTEM_DATA)."
    folders = data_folders('fashion_mnist')
    return next((f for f in folders if _holds('fashion_mnist', f, 'train') and _holds('fashion_mnist', f, 'test')), None)


def _need_fashion_mnist():
    folder = _fashion_folder()
    if folder is None:
        # .ci/run installs Debian's dataset-fashion-mnist and sets this, so there a missing set is a failure
        if os.environ.get('IMBGAN_REQUIRE_FASHION_MNIST'):
            pytest.fail("the real Fashion-MNIST is required here: apt-get install dataset-fashion-mnist")
        pytest.skip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
    return folder


@pytest.fixture(scope='session')
def fashion():
    "The real Fashion-MNIST train and test splits."
    folder = _need_fashion_mnist()
    return load_dataset('fashion_mnist', 'train', root=folder), load_dataset('fashion_mnist', 'test', root=folder)


@pytest.fixture(scope='session')
def digits():
    "scikit-learn's embedded digits, train and test."
    return load_dataset('digits', 'train'), load_dataset('digits', 'test')


@pytest.fixture(scope='session')
def fashion_dir():
    return _need_fashion_mnist()
