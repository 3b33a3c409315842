"""Training throughput of the four GANs, side by side in one run: real images per second through the loop.

Usage: python tools/benchmark_gans.py [--device cpu|cuda] [--batch 64] [--seconds 10] [--shape 1,28,28]
Each model trains on random images of the given shape (throughput does not depend on content) through the kit's
own `train_gan` loop, one warm-up epoch first; the figure is the images the discriminator saw per second of the
timed epochs. Not a test: numbers vary with the machine and its load."""
import argparse, platform, time

import torch

from imbgan_nb.core import get_device, seed_everything
from imbgan_nb.data import ImageSet
from imbgan_nb.training import train_gan
from imbgan_nb.vanilla import make_vanilla_gan
from imbgan_nb.dcgan import make_dcgan
from imbgan_nb.cgan import make_cgan
from imbgan_nb.wgan_gp import make_wgan_gp


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--device', default=None)
    ap.add_argument('--batch', type=int, default=64)
    ap.add_argument('--seconds', type=float, default=10.0, help='about how long to time each model')
    ap.add_argument('--shape', default='1,28,28')
    ap.add_argument('--n', type=int, default=2048, help='images per epoch')
    args = ap.parse_args()
    device, shape = get_device(args.device), tuple(int(s) for s in args.shape.split(','))
    classes = [str(i) for i in range(10)]
    seed_everything(0)
    images = torch.randint(0, 256, (args.n, *shape), dtype=torch.uint8)
    labels = torch.zeros(args.n, dtype=torch.int64)
    data = ImageSet(images, labels, classes, 'random', 'train')
    makers = {'vanilla': lambda: make_vanilla_gan(classes, 0, shape, device=device),
              'dcgan': lambda: make_dcgan(classes, 0, shape, device=device),
              'cgan': lambda: make_cgan(classes, shape, device=device),
              'wgan_gp': lambda: make_wgan_gp(classes, 0, shape, device=device)}
    print(f"device {device} ({torch.cuda.get_device_name(device) if device.type == 'cuda' else platform.processor() or platform.machine()}), "
          f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, batch {args.batch}, images {shape}")
    print(f"{'model':10s} {'images/s':>10s} {'G steps/s':>10s}  params G / D")
    for name, make in makers.items():
        gan = make()
        train_gan(gan, data, epochs=1, batch_size=args.batch, progress=False)          # warm-up (cudnn autotune, allocator)
        if device.type == 'cuda': torch.cuda.synchronize()
        t0, epochs = time.perf_counter(), 0
        while time.perf_counter() - t0 < args.seconds:
            h = train_gan(gan, data, epochs=1, batch_size=args.batch, progress=False); epochs += 1
            if device.type == 'cuda': torch.cuda.synchronize()
        seconds = time.perf_counter() - t0
        seen = epochs * (args.n // args.batch) * args.batch
        d = gan.describe()
        print(f"{name:10s} {seen/seconds:10.0f} {seen/seconds/args.batch/gan.n_critic:10.1f}  {d['G_params']:,} / {d['D_params']:,}")


if __name__ == '__main__':
    main()
