"""Do fewer, larger steps converge as far? The lab's full-path classifier (cnn2 on the `laptop` training set with one class
cut to IR 10) for several (epochs, batch, learning rate), two seeds each: fit and evaluation seconds, minority recall, macro F1.

Usage: python tools/sweep_lab_steps.py [--dataset fashion_mnist] [--minority 7] [--oversamplers none smote]
Not a test: the seconds vary with the machine and its load; run it on an otherwise idle machine."""
import argparse, time

import numpy as np
import torch

from imbgan_nb.core import get_preset
from imbgan_nb.lab import keep_counts, lab_data
from imbgan_nb.imbalance import make_imbalanced
from imbgan_nb.oversampling import oversample
from imbgan_nb.classifier import class_recall, evaluate, fit_classifier

CONFIGS = [(3, 128, 1e-3), (1, 128, 1e-3), (1, 256, 2e-3), (2, 256, 2e-3), (1, 512, 3e-3), (2, 512, 3e-3)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--dataset', default='fashion_mnist')
    ap.add_argument('--minority', type=int, default=7)
    ap.add_argument('--oversamplers', nargs='+', default=['none', 'smote'])
    args = ap.parse_args()
    balanced, test, _ = lab_data(args.dataset, 'laptop', 'full', 0)
    train = make_imbalanced(balanced, counts=keep_counts(balanced, (args.minority,), 10.0, 'cut', ()), seed=0)
    name = train.classes[args.minority]
    print(f"{len(train)} training images, {train.counts()[args.minority].item()} of {name}; {len(test)} test images; "
          f"{torch.get_num_threads()} CPU threads")
    for ovs in args.oversamplers:
        extra = None if ovs == 'none' else oversample(train, ovs, 'mean', classes=[args.minority], seed=0)
        for epochs, batch, lr in CONFIGS:
            runs = []
            for seed in (0, 1):
                t0 = time.perf_counter()
                clf = fit_classifier(train, 'cnn2', extra=extra, preset=get_preset('laptop', clf_epochs=epochs, clf_batch=batch),
                                     seed=seed, lr=lr, progress=False)
                t1 = time.perf_counter(); result = evaluate(clf, test); t2 = time.perf_counter()
                runs.append((t1 - t0, t2 - t1, class_recall(result, name), result['macro_f1']))
            a = np.array(runs)
            print(f"{ovs:10s} epochs {epochs} batch {batch:3d} lr {lr:g}: fit {a[:, 0].mean():5.2f} s, evaluate {a[:, 1].mean():4.2f} s, "
                  f"{name} recall {a[:, 2].mean():.3f}, macro F1 {a[:, 3].mean():.3f}")


if __name__ == '__main__':
    main()
