"""The GAN loop's fast path (`train_gan(..., precision='bf16')`): the penalty under autocast, exact resumes, checkpoints that
say their precision, TF32 put back, and the preset field that names the cache."""
import pytest
import torch

from imbgan_nb.core import PRESETS, autocast, get_preset, seed_everything
from imbgan_nb.data import ImageSet
from imbgan_nb.dcgan import make_dcgan
from imbgan_nb.training import load_checkpoint, fast_math, train_gan
from imbgan_nb.training import gradient_penalty
from imbgan_nb.wgan_gp import make_wgan_gp

SHAPE, CLASSES = (1, 8, 8), ['a', 'b']


def _images(n=24, seed=0) -> ImageSet:
    g = torch.Generator().manual_seed(seed)
    return ImageSet(torch.randint(0, 256, (n, *SHAPE), dtype=torch.uint8, generator=g), torch.zeros(n, dtype=torch.int64),
                    CLASSES, 'random', 'train')


def _fresh(make=make_dcgan):
    seed_everything(3)
    return make(CLASSES, 0, SHAPE, latent_dim=8, device='cpu')


def test_the_penalty_under_autocast_is_close_to_float32_and_trains_the_critic():
    gan = _fresh(make_wgan_gp)
    real, fake = torch.rand(16, *SHAPE) * 2 - 1, torch.rand(16, *SHAPE) * 2 - 1
    g32 = gradient_penalty(gan.D, real, fake, torch.Generator().manual_seed(0))
    with autocast('cpu', 'bf16'): g16 = gradient_penalty(gan.D, real, fake, torch.Generator().manual_seed(0))
    assert g16.dtype == torch.float32 and g16.item() != g32.item()
    assert abs(g16.item() - g32.item()) < 0.05 * abs(g32.item()) + 1e-3
    gan.D.zero_grad(); g16.backward()                                     # the penalty's second derivative, from bfloat16 work
    weights = [p.grad for name, p in gan.D.named_parameters() if name.endswith('weight')]   # a bias does not move D's gradient in x
    assert all(g is not None and torch.isfinite(g).all() and g.abs().sum() > 0 for g in weights)


@pytest.mark.parametrize('make', [make_dcgan, make_wgan_gp])
def test_a_bf16_run_resumed_ends_where_an_uninterrupted_one_ends(make, tmp_path):
    data = _images()
    straight = _fresh(make); h = train_gan(straight, data, epochs=6, batch_size=8, seed=1, progress=False, precision='bf16')
    assert all(torch.isfinite(torch.tensor(r['d_loss'])) for r in h.epochs)
    first = _fresh(make); train_gan(first, data, epochs=3, batch_size=8, seed=1, checkpoint_dir=tmp_path, progress=False, precision='bf16')
    resumed = _fresh(make); train_gan(resumed, data, epochs=6, batch_size=8, seed=1, checkpoint_dir=tmp_path, progress=False, precision='bf16')
    for a, b in zip(straight.G.state_dict().values(), resumed.G.state_dict().values()): torch.testing.assert_close(a, b)


def test_checkpoints_say_their_precision_and_old_ones_are_float32(tmp_path):
    data = _images()
    train_gan(_fresh(), data, epochs=2, batch_size=8, checkpoint_dir=tmp_path/'fast', progress=False, precision='bf16')
    with pytest.raises(ValueError, match="written by a bf16 run, not this fp32 one"):
        train_gan(_fresh(), data, epochs=2, batch_size=8, checkpoint_dir=tmp_path/'fast', progress=False)
    train_gan(_fresh(), data, epochs=2, batch_size=8, checkpoint_dir=tmp_path/'plain', progress=False)
    path = tmp_path/'plain'/'last.pt'
    state = torch.load(path, weights_only=True); assert state['precision'] == 'fp32'
    del state['precision']; torch.save(state, path)                      # a checkpoint written before the fast path existed
    gan, data_id = _fresh(), state['data']
    load_checkpoint(path, gan, data_id)                                   # loads as float32, as it was trained
    with pytest.raises(ValueError, match="written by a fp32 run, not this bf16 one"): load_checkpoint(path, gan, data_id, 'bf16')
    state['precision'] = 'fp8'; torch.save(state, path)
    with pytest.raises(ValueError, match="precision has the wrong type"): load_checkpoint(path, gan, data_id)


def test_tf32_is_put_back_even_when_the_steps_fail():
    before = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    try:
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
        with pytest.raises(RuntimeError), fast_math('cuda', 'bf16'):
            assert torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32
            raise RuntimeError('a step failed')
        assert (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32) == (False, False)
        with fast_math('cpu', 'bf16'): assert not torch.backends.cuda.matmul.allow_tf32   # only a CUDA device changes it
        with pytest.raises(ValueError, match="Unknown precision 'fp16'"), fast_math('cuda', 'fp16'): pass
    finally: torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = before


def test_the_preset_field():
    assert all(p.gan_precision == 'fp32' for p in PRESETS.values())
    with pytest.raises(ValueError, match="gan_precision='tf32': 'fp32' or 'bf16'"): get_preset('ci', gan_precision='tf32')
    for name in PRESETS:
        base = get_preset(name, gan_epochs=7)
        assert base.cache_tag() != base.with_(gan_precision='bf16').cache_tag()
        assert get_preset(name).cache_tag() == name != get_preset(name, gan_precision='bf16').cache_tag()
    with pytest.raises(ValueError, match="Unknown precision"): train_gan(_fresh(), _images(), epochs=1, progress=False, precision='bf 16')
