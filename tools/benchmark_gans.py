"""Where the kit's GAN loop stands: its throughput beside a reference loop, the bare compute limit and the fast path, one process.

Usage: python tools/benchmark_gans.py [--device cpu|cuda] [--batch 64] [--seconds 10] [--n 2048] [--models dcgan wgan_gp ...]

For each model, the same networks and batch size are timed five ways, each after a warm-up:
- kit:       the kit's `train_gan` (uint8 tensors on the device, batches by indexing, numbers read once per epoch);
- reference: the loop of public GAN code: a torchvision-style dataset of PIL images, `ToTensor` + `Normalize`
             transforms, a `DataLoader`, `.item()` of the losses every step;
- limit:     the same D and G steps on one batch already on the device, with no data handling at all (float32);
- fast:      the limit loop on the fast path: bfloat16 autocast, networks and batch in channels-last, TF32 on CUDA;
- kit fast:  the kit's `train_gan(..., precision='bf16')`, the same fast path inside the kit's loop.
It prints two tables of images per second. The first: kit, reference and limit in float32, with the ratios kit/reference
(above 1: the kit is faster) and kit/limit (1: nothing left to gain in the loop); tools/device_check.py reads it. The
second, a row per model marked bf16: the float32 limit again beside fast and kit fast, with the ratios fast/limit and
kit fast/limit (what the fast path buys over the float32 limit: above 1 only where the device computes bfloat16
natively, `native_bf16`, printed in the header). Random images: throughput does not depend on content. Not a test:
numbers vary with the machine and its load."""
import argparse, platform, time

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from imbgan_nb.core import autocast, get_device, native_bf16, seed_everything
from imbgan_nb.data import ImageSet, channels_last
from imbgan_nb.training import fast_math, train_gan
from imbgan_nb.registry import gan_kinds, get_oversampler


class PILImages(Dataset):
    "What torchvision's MNIST-style datasets do per item: a PIL image from an array, then the transforms."
    def __init__(self, images:np.ndarray, labels:np.ndarray):
        self.images, self.labels = images, labels
        self.transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
    def __len__(self): return len(self.images)
    def __getitem__(self, i): return self.transform(Image.fromarray(self.images[i], mode='L')), int(self.labels[i])


def gan_step(gan, real, labels, step, precision='fp32'):
    "One D step, and a G step every n_critic: the step every loop below shares (forward passes in `precision`)."
    update_g = (step + 1) % gan.n_critic == 0
    with autocast(gan.device, precision):
        with torch.set_grad_enabled(update_g):
            fake = gan.generate(gan.latent(len(real)), labels)
        d_loss, _ = gan.d_loss(real, fake, labels)
    gan.opt_D.zero_grad(set_to_none=True); d_loss.backward(); gan.opt_D.step()
    g_loss = None
    if update_g:
        with autocast(gan.device, precision): g_loss, _ = gan.g_loss(fake, labels)
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
    ap.add_argument('--models', nargs='+', default=gan_kinds(), help='GANs of the oversampler registry (default: all)')
    args = ap.parse_args()
    device, shape = get_device(args.device), (1, 28, 28)
    classes = [str(i) for i in range(10)]
    seed_everything(0)
    images = torch.randint(0, 256, (args.n, *shape), dtype=torch.uint8)
    labels = torch.zeros(args.n, dtype=torch.int64)
    data = ImageSet(images, labels, classes, 'random', 'train')
    loader = DataLoader(PILImages(images[:, 0].numpy(), labels.numpy()), batch_size=args.batch, shuffle=True, drop_last=True,
                        num_workers=0, pin_memory=device.type == 'cuda')
    makers = {name: (lambda make=get_oversampler(name).make_gan: make(classes, 0, shape, device=device)) for name in args.models}
    steps = args.n // args.batch
    print(f"device {device} ({torch.cuda.get_device_name(device) if device.type == 'cuda' else platform.processor() or platform.machine()}), "
          f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, batch {args.batch}, {steps} steps an epoch, images {shape}, "
          f"native bf16: {native_bf16(device)}")
    print(f"{'model':9s} {'kit img/s':>10s} {'ref img/s':>10s} {'limit img/s':>12s} {'kit/ref':>8s} {'kit/limit':>10s}")
    fast_rows = []
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
        fast_gan = makers[name]()                  # a network of its own: train_gan(precision='bf16') leaves it in channels-last
        fast_gan.G.to(memory_format=torch.channels_last); fast_gan.D.to(memory_format=torch.channels_last)
        fast_real = channels_last(real)
        def fast():
            with fast_math(device, 'bf16'):
                for i in range(steps): gan_step(fast_gan, fast_real, lab, i, 'bf16')
            return steps * args.batch
        kit_fast_gan = makers[name]()
        def kit_fast():
            train_gan(kit_fast_gan, data, epochs=1, batch_size=args.batch, progress=False, precision='bf16'); return steps * args.batch
        kit_s, ref_s, lim_s, fast_s, kit_fast_s = (timed(f, device, args.seconds) for f in (kit, reference, limit, fast, kit_fast))
        print(f"{name:9s} {kit_s:10.0f} {ref_s:10.0f} {lim_s:12.0f} {kit_s/ref_s:8.2f} {kit_s/lim_s:10.2f}", flush=True)
        fast_rows.append(f"{name:9s} {'bf16':9s} {lim_s:12.0f} {fast_s:11.0f} {kit_fast_s:15.0f} {fast_s/lim_s:11.2f} {kit_fast_s/lim_s:15.2f}")
    print(f"\nthe fast path: bfloat16 autocast, channels-last{', TF32' if device.type == 'cuda' else ''}, beside the float32 limit")
    print(f"{'model':9s} {'precision':9s} {'limit img/s':>12s} {'fast img/s':>11s} {'kit fast img/s':>15s} {'fast/limit':>11s} {'kit fast/limit':>15s}")
    for row in fast_rows: print(row)


if __name__ == '__main__':
    main()
