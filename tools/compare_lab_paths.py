"""How far are the lab's fast path's numbers from its full path's? For one cut, every oversampler on both paths, several
seeds: minority recall and macro F1 (mean over seeds), and whether the two paths rank the oversamplers alike.

Usage: python tools/compare_lab_paths.py [--preset laptop] [--dataset fashion_mnist] [--minority 7] [--ir 10] [--seeds 2]
                                         [--oversamplers none random smote transforms]
Runs `run_lab` itself, so the numbers are the lab's own (its precision and sizes on this machine)."""
import argparse

import pandas as pd

from imbgan_nb.core import get_preset
from imbgan_nb.lab import SPEEDS, LabSettings, lab_precision, run_lab


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--preset', default='laptop')
    ap.add_argument('--dataset', default='fashion_mnist')
    ap.add_argument('--minority', type=int, nargs='+', default=[7])
    ap.add_argument('--ir', type=float, default=10.0)
    ap.add_argument('--seeds', type=int, default=2)
    ap.add_argument('--oversamplers', nargs='+', default=['none', 'random', 'smote', 'transforms'])
    args = ap.parse_args()
    preset, rows = get_preset(args.preset), []
    for speed in SPEEDS:
        for seed in range(args.seeds):
            baselines = {}
            for o in args.oversamplers:
                res = run_lab(LabSettings(args.dataset, tuple(args.minority), args.ir, oversampler=o, speed=speed, seed=seed),
                              preset, baselines=baselines)
                rows.append({'speed': speed, 'seed': seed, 'oversampler': o, 'recall': res.row['minority_recall'],
                             'macro F1': res.row['macro_f1'], 'seconds': res.seconds['total']})
                print(rows[-1], flush=True)
    df = pd.DataFrame(rows)
    table = df.groupby(['oversampler', 'speed'], sort=False)[['recall', 'macro F1', 'seconds']].mean().unstack('speed').round(3)
    print(f"\n{args.dataset}, classes {args.minority} cut to IR {args.ir:g}, preset {preset.name}, {args.seeds} seeds, "
          f"classifier precision {lab_precision()}:")
    print(table.to_string())
    for metric in ('recall', 'macro F1'):
        order = {s: list(table[(metric, s)].sort_values(ascending=False).index) for s in SPEEDS}
        print(f"ranked by {metric}: " + '; '.join(f"{s}: {' > '.join(o)}" for s, o in order.items())
              + (" (the same order)" if order['fast'] == order['full'] else " (different orders)"))


if __name__ == '__main__': main()
