"""Where the kit's GAN loop stands: its throughput beside a reference loop and beside the bare compute limit, one process.

Usage: python tools/benchmark_gans.py [--device cpu|cuda] [--batch 64] [--seconds 10] [--n 2048] [--models dcgan wgan_gp ...]

For each model, the same networks and batch size are timed three ways, each after a warm-up:
- kit:       the kit's `train_gan` (uint8 tensors on the device, batches by indexing, numbers read once per epoch);
- reference: the loop of public GAN code: a torchvision-style dataset of PIL images, `ToTensor` + `Normalize`
             transforms, a `DataLoader`, `.item()` of the losses every step;
- limit:     the same D and G steps on one batch already on the device, with no data handling at all.
It prints images per second for each and the two ratios kit/reference (above 1: the kit is faster) and kit/limit (1:
nothing left to gain in the loop). Random images: throughput does not depend on content. Not a test: numbers vary
with the machine and its load."""
import argparse, platform, time

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from imbgan_nb.core import get_device, seed_everything
from imbgan_nb.data import ImageSet
from imbgan_nb.training import train_gan
from imbgan_nb.vanilla import make_vanilla_gan
from imbgan_nb.dcgan import make_dcgan
from imbgan_nb.cgan import make_cgan
from imbgan_nb.wgan_gp import make_wgan_gp


class PILImages(Dataset):
    "What torchvision's MNIST-style datasets do per item: a PIL image from an array, then the transforms."
    def __init__(self, images:np.ndarray, labels:np.ndarray):
        self.images, self.labels = images, labels
        self.transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
    def __len__(self): return len(self.images)
    def __getitem__(self, i): return self.transform(Image.fromarray(self.images[i], mode='L')), int(self.labels[i])


def gan_step(gan, real, labels, step):
    "One D step, and a G step every n_critic: the step every loop below shares."
    update_g = (step + 1) % gan.n_critic == 0
    with torch.set_grad_enabled(update_g):
        fake = gan.generate(gan.latent(len(real)), labels)
    d_loss, _ = gan.d_loss(real, fake, labels)
    gan.opt_D.zero_grad(set_to_none=True); d_loss.backward(); gan.opt_D.step()
    g_loss = None
    if update_g:
        g_loss, _ = gan.g_loss(fake, labels)
        gan.opt_G.zero_grad(set_to_none=True); g_loss.backward(); gan.opt_G.step()
    return d_loss, g_loss


def timed(run_epoch, device, seconds:float) -> float:
    "Images per second of `run_epoch` (returns images seen), warmed up once, repeated for about `seconds`."
    run_epoch()
    if device.type == 'cuda': torch.cuda.synchronize()
    t0, seen = time.perf_counter(), 0
    while time.perf_counter() - t0 < seconds:
        seen += run_epoch()
        if device.type == 'cuda': torch.cuda.synchronize()
    return seen / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--device', default=None)
    ap.add_argument('--batch', type=int, default=64)
    ap.add_argument('--seconds', type=float, default=10.0, help='about how long to time each loop of each model')
    ap.add_argument('--n', type=int, default=2048, help='images per epoch')
    ap.add_argument('--models', nargs='+', default=['vanilla', 'dcgan', 'cgan', 'wgan_gp'])
    args = ap.parse_args()
    device, shape = get_device(args.device), (1, 28, 28)
    classes = [str(i) for i in range(10)]
    seed_everything(0)
    images = torch.randint(0, 256, (args.n, *shape), dtype=torch.uint8)
    labels = torch.zeros(args.n, dtype=torch.int64)
    data = ImageSet(images, labels, classes, 'random', 'train')
    loader = DataLoader(PILImages(images[:, 0].numpy(), labels.numpy()), batch_size=args.batch, shuffle=True, drop_last=True,
                        num_workers=0, pin_memory=device.type == 'cuda')
    makers = {'vanilla': lambda: make_vanilla_gan(classes, 0, shape, device=device),
              'dcgan': lambda: make_dcgan(classes, 0, shape, device=device),
              'cgan': lambda: make_cgan(classes, shape, device=device),
              'wgan_gp': lambda: make_wgan_gp(classes, 0, shape, device=device)}
    steps = args.n // args.batch
    print(f"device {device} ({torch.cuda.get_device_name(device) if device.type == 'cuda' else platform.processor() or platform.machine()}), "
          f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, batch {args.batch}, {steps} steps an epoch, images {shape}")
    print(f"{'model':9s} {'kit img/s':>10s} {'ref img/s':>10s} {'limit img/s':>12s} {'kit/ref':>8s} {'kit/limit':>10s}")
    for name in args.models:
        gan = makers[name]()
        def kit():
            train_gan(gan, data, epochs=1, batch_size=args.batch, progress=False); return steps * args.batch
        def reference():
            for i, (x, y) in enumerate(loader):
                d_loss, g_loss = gan_step(gan, x.to(device), y.to(device), i)
                d_loss.item(); g_loss is not None and g_loss.item()      # the per-step logging of public GAN code
            return steps * args.batch
        real, lab = data.float_images()[:args.batch].to(device), labels[:args.batch].to(device)
        def limit():
            for i in range(steps): gan_step(gan, real, lab, i)
            return steps * args.batch
        kit_s, ref_s, lim_s = (timed(f, device, args.seconds) for f in (kit, reference, limit))
        print(f"{name:9s} {kit_s:10.0f} {ref_s:10.0f} {lim_s:12.0f} {kit_s/ref_s:8.2f} {kit_s/lim_s:10.2f}")


if __name__ == '__main__':
    main()
