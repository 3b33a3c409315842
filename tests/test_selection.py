"""No choice reads the test split, and every Fréchet distance is taken at equal sizes (issue: honest seed studies)."""
import numpy as np
import torch
import torch.nn.functional as F

from imbgan_nb.core import get_preset
from imbgan_nb.data import load_dataset
from imbgan_nb.imbalance import get_protocol
from imbgan_nb.quality import quality_report
from imbgan_nb.tasks import MinorityTask, make_task


class SpyFeatures:
    "A plain feature map (4 x 4 pooled pixels) that remembers every batch of images it is given."
    def __init__(self): self.seen = []
    def __call__(self, images):
        x = torch.as_tensor(images.images if hasattr(images, 'images') else images)
        self.seen.append(x.clone())
        return F.avg_pool2d(x.float(), 4).flatten(1).double().numpy()


def _digits_task(spy):
    full, test = load_dataset('digits'), load_dataset('digits', 'test')
    train, test = get_protocol('sneaker_10pct').apply(full, test, seed=0)
    return make_task(train, test, 7, spy, 'sneaker_10pct', get_preset('ci'), seed=0), test


def test_the_best_epoch_score_never_sees_a_test_image():
    spy = SpyFeatures()
    task, test = _digits_task(spy)
    class Replay:                                                    # a "generator" that replays training images
        def sample(self, n, cls, rng=None): return task.minority.images[torch.randint(len(task.minority), (n,), generator=rng)]
    spy.seen.clear()
    task.score_fn()(Replay())
    training = {bytes(x.numpy()) for x in task.train.images} | {bytes(x.numpy()) for x in task.validation.images}
    test_only = {bytes(x.numpy()) for x in test.images} - training
    seen = {bytes(x.numpy()) for batch in spy.seen for x in batch}
    assert seen and not seen & test_only                             # no image only the test split holds reached the score
    assert {len(b) for b in spy.seen} == {len(task.validation)}      # generated and real at the same size
    try: MinorityTask(task.train, test, 7, task.test_minority, spy, 'p', get_preset('ci')); raise AssertionError('accepted')
    except ValueError as e: assert 'training split' in str(e)


def test_quality_report_compares_fd_and_floor_at_one_size():
    spy = SpyFeatures()
    digits, test = load_dataset('digits'), load_dataset('digits', 'test')
    real, held = digits.of_class(3), test.of_class(3)
    generated = real.images[:50]
    report = quality_report(generated, real, spy, heldout=held, k=3)
    n = min(50, len(real), len(held))
    assert report['n_fd'] == n
    assert np.isfinite(report['fd']) and np.isfinite(report['fd_floor']) and report['fd_floor_std'] >= 0
