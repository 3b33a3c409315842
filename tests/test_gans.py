"""The GAN family: training on tiny real data improves the quality score; the penalty, checkpoints and bad input."""
from dataclasses import replace

import pytest
import torch
import torch.nn as nn

from imbgan_nb.core import get_preset
from imbgan_nb.gans import minority_gan
from imbgan_nb.registry import gan_kinds, get_oversampler
from imbgan_nb.training import BCEGAN, load_checkpoint, train_gan
from imbgan_nb.tasks import minority_task
from imbgan_nb.vanilla import VanillaGenerator, make_vanilla_gan
from imbgan_nb.dcgan import make_dcgan
from imbgan_nb.wgan_gp import Critic
from imbgan_nb.training import gradient_penalty


@pytest.fixture(scope='module')
def task(tmp_path_factory):
    "Digit 7 cut to 10% (14 real images: 11 to train on, 3 to choose the best epoch): tiny real data, the kit's quality score."
    cache = tmp_path_factory.mktemp('cache')
    mp = pytest.MonkeyPatch(); mp.setenv('IMBGAN_DATA', str(cache))
    preset = get_preset('ci', data_fraction=1.0, gan_epochs=200, gan_batch=32, snapshot_every=25)   # the cGAN: 2 epochs
    t = minority_task('digits', 'sneaker_10pct', cls='7', preset=preset, seed=0, device='cpu')
    yield t
    mp.undo()


@pytest.mark.parametrize('kind', gan_kinds())
def test_training_on_tiny_real_data_improves_the_quality_score(task, kind):
    torch.manual_seed(0)
    untrained = get_oversampler(kind).make_gan(task.train.classes, task.cls, task.train.shape, device='cpu')
    before = task.score_fn()(untrained)
    gan, history = minority_gan(kind, task, cache=False, progress=False, device='cpu')
    assert (len(task.minority), len(task.validation)) == (11, 3)
    assert history.best_score < 0.6 * before, (kind, before, history.scores)
    x = gan.sample(10, '7')
    assert x.shape == (10, 1, 28, 28) and x.dtype == torch.float32 and x.min() >= -1 and x.max() <= 1


def test_gradient_penalty_matches_hand_written_autograd():
    torch.manual_seed(1)
    critic = Critic((1, 28, 28))
    real, fake = torch.rand(6, 1, 28, 28)*2 - 1, torch.rand(6, 1, 28, 28)*2 - 1
    gp = gradient_penalty(critic, real, fake, rng=torch.Generator().manual_seed(5))
    eps = torch.rand(6, 1, 1, 1, generator=torch.Generator().manual_seed(5))
    terms = []
    for i in range(6):
        x = (eps[i]*real[i] + (1 - eps[i])*fake[i]).unsqueeze(0).requires_grad_(True)
        g, = torch.autograd.grad(critic(x).sum(), x)
        terms.append((g.flatten().norm() - 1)**2)
    assert torch.allclose(gp, torch.stack(terms).mean(), atol=1e-6)


def test_gradient_penalty_of_a_unit_slope_critic_is_zero():
    w = torch.randn(16); w = w / w.norm()
    critic = lambda x: x.flatten(1) @ w                       # gradient w everywhere, norm exactly 1
    assert gradient_penalty(critic, torch.randn(4, 1, 4, 4), torch.randn(4, 1, 4, 4)).item() < 1e-10
    steep = lambda x: 3 * x.flatten(1) @ w                    # norm 3: penalty (3 - 1)^2 = 4
    assert abs(gradient_penalty(steep, torch.randn(4, 1, 4, 4), torch.randn(4, 1, 4, 4)).item() - 4) < 1e-5
    with pytest.raises(ValueError, match="differ in shape"):
        gradient_penalty(critic, torch.randn(4, 1, 4, 4), torch.randn(3, 1, 4, 4))


def test_batchnorm_eps_is_not_momentum():
    assert all(m.eps == 1e-5 and m.momentum == 0.1 for m in VanillaGenerator().modules() if isinstance(m, nn.BatchNorm1d))


def _seven(task): return task.minority


def test_checkpoints_refuse_what_is_not_theirs(task, tmp_path):
    torch.manual_seed(0)
    gan = make_vanilla_gan(task.train.classes, task.cls, device='cpu')
    train_gan(gan, _seven(task), epochs=2, batch_size=32, checkpoint_dir=tmp_path/'v', progress=False)
    other = make_dcgan(task.train.classes, task.cls, device='cpu')
    with pytest.raises(ValueError, match="written for another model"):
        train_gan(other, _seven(task), epochs=2, checkpoint_dir=tmp_path/'v', progress=False)
    (tmp_path/'junk').mkdir(); (tmp_path/'junk'/'last.pt').write_bytes(b'not a checkpoint')
    with pytest.raises(ValueError, match="cannot be opened as a GAN checkpoint"):
        train_gan(gan, _seven(task), epochs=2, checkpoint_dir=tmp_path/'junk', progress=False)
    (tmp_path/'alien').mkdir(); torch.save({'weights': torch.zeros(3)}, tmp_path/'alien'/'last.pt')
    with pytest.raises(ValueError, match="not an imbgan_nb GAN checkpoint"):
        train_gan(gan, _seven(task), epochs=2, checkpoint_dir=tmp_path/'alien', progress=False)


def test_interrupt_saves_and_resume_finishes(task, tmp_path):
    calls = {'n': 0}
    def score_then_interrupt(gan):
        calls['n'] += 1
        if calls['n'] == 2: raise KeyboardInterrupt
        return 1.0
    torch.manual_seed(0)
    gan = make_vanilla_gan(task.train.classes, task.cls, device='cpu')
    with pytest.raises(KeyboardInterrupt):
        train_gan(gan, _seven(task), epochs=6, batch_size=32, snapshot_every=2, score_fn=score_then_interrupt,
                  checkpoint_dir=tmp_path, progress=False)
    saved = torch.load(tmp_path/'last.pt', weights_only=True)
    assert saved['epoch'] == 1         # interrupted while scoring epoch 3: the checkpoint of the last whole snapshot (1) stays
    history = train_gan(gan, _seven(task), epochs=6, batch_size=32, snapshot_every=2, score_fn=lambda g: 1.0,
                        checkpoint_dir=tmp_path, progress=False)
    assert [e['epoch'] for e in history.epochs] == list(range(6))


def test_nan_loss_is_reported(task):
    class Broken(BCEGAN):
        name = 'broken'
        def d_loss(self, real, fake, labels):
            loss, stats = super().d_loss(real, fake, labels)
            return loss * float('nan'), stats
    G = VanillaGenerator(); D = make_vanilla_gan(task.train.classes, task.cls, device='cpu').D
    gan = Broken(G, D, task.train.classes, (1, 28, 28), cls=task.cls, device='cpu')
    with pytest.raises(FloatingPointError, match="broken: a loss became NaN"):
        train_gan(gan, _seven(task), epochs=1, progress=False)


def test_sampling_and_training_bad_input(task):
    gan = make_dcgan(task.train.classes, task.cls, device='cpu')
    with pytest.raises(ValueError, match="trained on class '7' only"):
        gan.sample(4, '3')
    with pytest.raises(ValueError, match="at least one image"):
        gan.sample(0, '7')
    with pytest.raises(ValueError, match="learns one class"):
        train_gan(gan, task.train, epochs=1, progress=False)
    with pytest.raises(ValueError, match="no training images"):
        train_gan(gan, task.minority.subset(torch.tensor([], dtype=torch.int64)), epochs=1, progress=False)
    with pytest.raises(ValueError, match="Unknown GAN 'biggan'"):
        minority_gan('biggan', task)


def test_interrupt_inside_an_epoch_redoes_that_epoch(task, tmp_path):
    "Ctrl-C in the middle of an epoch keeps the last whole epoch; the resumed run ends with every epoch and snapshot."
    class Stopper(BCEGAN):
        name = 'vanilla'
        calls = 0
        def d_loss(self, real, fake, labels):
            Stopper.calls += 1
            if Stopper.calls == 5: raise KeyboardInterrupt          # epoch 2's second batch (11 images: 2 batches of 5 per epoch)
            return super().d_loss(real, fake, labels)
    torch.manual_seed(0)
    base = make_vanilla_gan(task.train.classes, task.cls, device='cpu')
    gan = Stopper(base.G, base.D, task.train.classes, (1, 28, 28), cls=task.cls, device='cpu')
    with pytest.raises(KeyboardInterrupt):
        train_gan(gan, task.minority, epochs=4, batch_size=5, snapshot_every=1, score_fn=lambda g: 1.0,
                  checkpoint_dir=tmp_path, progress=False)
    assert torch.load(tmp_path/'last.pt', weights_only=True)['epoch'] == 1
    history = train_gan(gan, task.minority, epochs=4, batch_size=5, snapshot_every=1, score_fn=lambda g: 1.0,
                        checkpoint_dir=tmp_path, progress=False)
    assert [e['epoch'] for e in history.epochs] == [0, 1, 2, 3] and sorted(history.snapshots) == [0, 1, 2, 3]
    assert history.best_epoch == 0


def test_ctrl_c_mid_epoch_then_resume_equals_an_uninterrupted_run(task, tmp_path):
    "Ctrl-C partway through an epoch, then the same call in a fresh process: the generator equals one straight run's, bit for bit."
    class Stopper(BCEGAN):
        name, stop_at, calls = 'vanilla', None, 0
        def d_loss(self, real, fake, labels):
            Stopper.calls += 1
            if Stopper.calls == Stopper.stop_at: raise KeyboardInterrupt
            return super().d_loss(real, fake, labels)
    def fresh():
        torch.manual_seed(0)
        base = make_vanilla_gan(task.train.classes, task.cls, device='cpu')
        return Stopper(base.G, base.D, task.train.classes, (1, 28, 28), cls=task.cls, device='cpu')
    kw = dict(epochs=6, batch_size=5, seed=1, snapshot_every=2, progress=False)
    straight = fresh(); train_gan(straight, task.minority, **kw)
    Stopper.calls, Stopper.stop_at = 0, 10          # 2 batches an epoch: the second batch of epoch 4, after the checkpoint of epoch 3
    interrupted = fresh()
    with pytest.raises(KeyboardInterrupt): train_gan(interrupted, task.minority, checkpoint_dir=tmp_path, **kw)
    Stopper.stop_at = None
    resumed = fresh(); train_gan(resumed, task.minority, checkpoint_dir=tmp_path, **kw)
    for a, b in zip(straight.G.state_dict().values(), resumed.G.state_dict().values()): assert torch.equal(a, b)


def test_wgan_gp_resume_matches_an_uninterrupted_run(task, tmp_path):
    "The five-critic-steps schedule continues across a resume: same weights as one straight run."
    from imbgan_nb.wgan_gp import make_wgan_gp
    def fresh():
        torch.manual_seed(3)
        return make_wgan_gp(task.train.classes, task.cls, device='cpu')
    straight = fresh(); train_gan(straight, task.minority, epochs=4, batch_size=4, seed=2, progress=False)
    resumed = fresh(); train_gan(resumed, task.minority, epochs=2, batch_size=4, seed=2, checkpoint_dir=tmp_path, progress=False)
    resumed = fresh(); train_gan(resumed, task.minority, epochs=4, batch_size=4, seed=2, checkpoint_dir=tmp_path, progress=False)
    for a, b in zip(straight.G.parameters(), resumed.G.parameters()):
        assert torch.allclose(a, b, atol=1e-6)


def test_spectral_norm_layers_get_the_dcgan_initialisation(task):
    gan = make_dcgan(task.train.classes, task.cls, device='cpu')
    raw = [m.parametrizations.weight.original for m in gan.D.modules() if hasattr(m, 'parametrizations')]
    assert len(raw) == 3 and all(abs(w.std().item() - 0.02) < 0.005 for w in raw)


def test_one_image_is_refused_with_the_fix(task):
    gan = make_dcgan(task.train.classes, task.cls, device='cpu')
    with pytest.raises(ValueError, match="batch norm needs at least 2"):
        train_gan(gan, task.minority.subset(torch.tensor([0])), epochs=1, progress=False)


def test_patience_stops_when_the_score_stops_improving_and_a_resume_keeps_it_stopped(task, tmp_path):
    scores = iter([5.0, 3.0, 4.0, 3.5, 1.0, 0.5])            # best at the 2nd snapshot (epoch 3), then two worse ones
    torch.manual_seed(0)
    gan = make_vanilla_gan(task.train.classes, task.cls, device='cpu')
    history = train_gan(gan, _seven(task), epochs=12, batch_size=32, snapshot_every=2, score_fn=lambda g: next(scores),
                        checkpoint_dir=tmp_path, progress=False, patience=2)
    assert (history.best_epoch, history.stopped_epoch) == (3, 7)         # scored at 1, 3, 5, 7: stopped two snapshots after the best
    assert [e['epoch'] for e in history.epochs] == list(range(8)) and [s for _, s in history.scores] == [5.0, 3.0, 4.0, 3.5]
    again = train_gan(gan, _seven(task), epochs=12, batch_size=32, snapshot_every=2, score_fn=lambda g: 0.0,
                      checkpoint_dir=tmp_path, progress=False, patience=2)
    assert len(again.epochs) == 8 and again.stopped_epoch == 7           # finished: the resume trains no further epoch
    full = train_gan(make_vanilla_gan(task.train.classes, task.cls, device='cpu'), _seven(task), epochs=4, batch_size=32,
                     snapshot_every=2, score_fn=lambda g: 1.0, progress=False, patience=5)
    assert full.stopped_epoch is None and len(full.epochs) == 4          # patience never ran out: every epoch
    with pytest.raises(ValueError, match='give score_fn'):
        train_gan(gan, _seven(task), epochs=2, progress=False, patience=2)


def test_patience_never_stops_in_the_first_third_of_the_epochs(task):
    scores = iter([1.0] + [2.0] * 20)                          # never better after the first snapshot
    torch.manual_seed(0)
    gan = make_vanilla_gan(task.train.classes, task.cls, device='cpu')
    history = train_gan(gan, _seven(task), epochs=30, batch_size=32, snapshot_every=2, score_fn=lambda g: next(scores),
                        progress=False, patience=2)
    assert history.stopped_epoch == 9                          # patience ran out at epoch 5; the first stop allowed is epoch 9 (10 of 30)
