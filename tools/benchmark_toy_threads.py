"""Seconds for the same toy-GAN rounds with torch's thread setting and with one thread (what `toy.single_threaded`
does). Small matrices gain nothing from threads; on cores shared with other work, threads waiting for each other can
make each step many times slower. Not a test: the ratio depends on the machine and its load.

    python tools/benchmark_toy_threads.py [--rounds 200]
"""
import argparse, os, time

import torch

from imbgan_nb.toy import ToyRun, make_toy_gan


def seconds(rounds:int, threads:int) -> float:
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        run = ToyRun(make_toy_gan(seed=0), seed=0)
        t0 = time.perf_counter()
        for _ in range(rounds):                 # the steps without single_threaded, under the thread setting above
            for _ in range(run.gan.n_critic): ToyRun.step_d.__wrapped__(run)
            ToyRun.step_g.__wrapped__(run)
        return time.perf_counter() - t0
    finally: torch.set_num_threads(before)


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--rounds', type=int, default=200)
    args = ap.parse_args()
    default = torch.get_num_threads()
    print(f"{args.rounds} rounds of the toy GAN, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    for n in dict.fromkeys([default, 1]):
        print(f"  {n} thread(s): {seconds(args.rounds, n):.2f} s")
