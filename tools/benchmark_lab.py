"""Update latency of the live lab: several ratios and oversamplers side by side, on the fast and the full classifier path.

Usage: python tools/benchmark_lab.py [--preset laptop] [--dataset fashion_mnist] [--minority 7] [--device cpu|cuda]
                                     [--speeds fast full] [--ratios 10 50] [--oversamplers none random smote transforms dcgan]
                                     [--full-ratios 10] [--full-oversamplers none smote dcgan] [--no-warmup]
One update is what a slider move costs in the lab: `run_lab` (cut the cached training set, sample the synthetic
images, retrain and evaluate the classifier, and the no-oversampling baseline when the ratio is new) plus drawing its
figures (`lab_figures` to PNG). Data loading, generator training and one first update (SMOTE at twice the first ratio,
where oneDNN builds its kernels and matplotlib loads its fonts) are done before timing, as in the lab after its first
use; the first update's time is printed apart (`--no-warmup` times it in the table). Not a test: numbers vary with the
machine and its load."""
import argparse, platform, time

import pandas as pd
import torch

from imbgan_nb.core import get_device, get_preset
from imbgan_nb.data import DATASETS
from imbgan_nb.data import figure_png
from imbgan_nb.lab import (LabSettings, gan_preset, history_row, lab_data, lab_figures, lab_gans,
                           lab_precision, plot_recall_by_ratio, run_lab)
from imbgan_nb.registry import get_oversampler


def timed_update(s, preset, device, baselines, history):
    "Seconds of one lab update, split into its steps (figures included), and its history row."
    t0 = time.perf_counter()
    res = run_lab(s, preset, device, baselines)
    t1 = time.perf_counter()
    pngs = [figure_png(f) for f in lab_figures(res).values()]
    history.append(history_row(res))
    pngs.append(figure_png(plot_recall_by_ratio(history)))
    t2 = time.perf_counter()
    sec = res.seconds
    return {'speed': s.speed, 'IR': s.ir, 'oversampler': s.oversampler, 'update s': round(t2 - t0, 2),
            'classifier s': round(sec['classifier'], 2), 'baseline s': round(sec['baseline'], 2),
            'synthetic s': round(sec['synthetic'], 2), 'figures s': round(t2 - t1, 2),
            'train images': res.row['n_real'] + res.row['n_synthetic'], 'minority recall': round(res.row['minority_recall'], 3)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--preset', default=None)
    ap.add_argument('--dataset', default='fashion_mnist', choices=list(DATASETS))
    ap.add_argument('--minority', type=int, nargs='+', default=[7])
    ap.add_argument('--device', default=None)
    ap.add_argument('--speeds', nargs='+', default=['fast', 'full'])
    ap.add_argument('--ratios', type=float, nargs='+', default=[10, 50], help='ratios timed on the fast path')
    ap.add_argument('--oversamplers', nargs='+', default=['none', 'random', 'smote', 'transforms', 'dcgan'])
    ap.add_argument('--full-ratios', type=float, nargs='+', default=[10], help='ratios timed on the full path (slow on a CPU)')
    ap.add_argument('--full-oversamplers', nargs='+', default=['none', 'smote', 'dcgan'])
    ap.add_argument('--no-warmup', action='store_true', help="time the session's first update too (one-time kernel and font set-up)")
    args = ap.parse_args()
    preset, device = get_preset(args.preset), get_device(args.device)
    print(f"lab update latency: {args.dataset}, minority {[DATASETS[args.dataset][0][c] for c in args.minority]}, preset "
          f"{preset.name}, device {device} ({torch.get_num_threads()} CPU threads, {platform.processor() or platform.machine()}), "
          f"classifier precision {lab_precision(device)}")
    rows = []
    for speed in args.speeds:
        ratios, ovs = (args.ratios, args.oversamplers) if speed == 'fast' else (args.full_ratios, args.full_oversamplers)
        history = []
        lab_data(args.dataset, preset.name, speed, 0)                              # untimed: load the data once,
        gen_preset = gan_preset(args.dataset, preset)
        for o in [o for o in ovs if get_oversampler(o).make_gan is not None]:                       # and train or load the generators
            lab_gans(o, args.dataset, args.minority, gen_preset, 0, device, progress=True)
        if not args.no_warmup:                               # untimed: the session's first update (oneDNN builds its kernels,
            warm = LabSettings(args.dataset, tuple(args.minority), 2 * ratios[0], oversampler='smote', speed=speed)   # SMOTE's
            first = timed_update(warm, preset, device, {}, [])                                      # neighbour search warms,
            print(f"{speed} path, first update of the session (not in the table): {first['update s']} s", flush=True)   # fonts load)
        baselines = {}                                       # timed: a new ratio pays for its baseline once, as in the lab
        for ir in ratios:
            for o in ovs:
                s = LabSettings(args.dataset, tuple(args.minority), ir, oversampler=o, speed=speed)
                rows.append(timed_update(s, preset, device, baselines, history))
                print(rows[-1], flush=True)
    df = pd.DataFrame(rows)
    print()
    print(df.to_markdown(index=False) if _has_tabulate() else df.to_string(index=False))
    print()
    print(df.groupby('speed', sort=False)['update s'].agg(['median', 'max']).round(2).to_string())


def _has_tabulate():
    try: import tabulate  # noqa: F401
    except ImportError: return False
    return True


if __name__ == '__main__': main()
