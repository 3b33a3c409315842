"""Do fewer or cheaper steps converge as far? The lab's full-path classifier (cnn2 on the `laptop` training set with one
class cut to IR 10) for several (epochs, batch, learning rate, precision, schedule), several seeds each: fit and evaluation seconds,
minority recall and macro F1 (mean and std over seeds), and the mean paired change from the study's own recipe (the
first configuration: 3 epochs, batch 128, lr 1e-3, float32). A recipe is chosen here, so it is judged on a validation
set, never on the test split: 1,000 images per class from the training split that the lab's training set leaves out.

Usage: python tools/sweep_lab_steps.py [--dataset fashion_mnist] [--minority 7] [--oversamplers none smote] [--seeds 4]
                                       [--configs 3,128,1e-3,fp32 2,128,2e-3,bf16,linear ...]
Not a test: the seconds vary with the machine and its load; run it on an otherwise idle machine."""
import argparse, time
from dataclasses import replace

import numpy as np
import torch

from imbgan_nb.core import get_preset
from imbgan_nb.lab import keep_counts, lab_data
from imbgan_nb.imbalance import make_imbalanced, take_per_class
from imbgan_nb.oversampling import oversample
from imbgan_nb.registry import get_oversampler
from imbgan_nb.classifier import class_recall, evaluate, fit_classifier

VALIDATION_PER_CLASS = 1000
CONFIGS = ['3,128,1e-3,fp32', '3,128,1e-3,bf16', '2,128,1e-3,bf16', '2,128,2e-3,bf16', '1,128,1e-3,fp32', '2,256,2e-3,fp32',
           '1,512,3e-3,fp32']


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--dataset', default='fashion_mnist')
    ap.add_argument('--minority', type=int, default=7)
    ap.add_argument('--oversamplers', nargs='+', default=['none', 'smote'])
    ap.add_argument('--seeds', type=int, default=4)
    ap.add_argument('--configs', nargs='+', default=CONFIGS, help='epochs,batch,lr,precision[,schedule]; the first is the reference')
    args = ap.parse_args()
    balanced, _, full = lab_data(args.dataset, 'laptop', 'full', 0)
    train = make_imbalanced(balanced, counts=keep_counts(balanced, (args.minority,), 10.0, 'cut', ()), seed=0)
    unused = torch.ones(len(full), dtype=torch.bool); unused[balanced.source_index] = False      # never trained on
    validation = replace(take_per_class(full.subset(torch.nonzero(unused).flatten()), VALIDATION_PER_CLASS, seed=0), split='validation')
    name = train.classes[args.minority]
    print(f"{len(train)} training images, {train.counts()[args.minority].item()} of {name}; {len(validation)} validation "
          f"images from the training split (the test split is not read); {torch.get_num_threads()} CPU threads")
    configs = [(int(c[0]), int(c[1]), float(c[2]), c[3], c[4] if len(c) > 4 else 'constant') for c in (c.split(',') for c in args.configs)]
    for ovs in args.oversamplers:
        how = get_oversampler(ovs)
        if how.make_gan is not None or how.trains_classifier: raise SystemExit(f"{ovs}: this sweep takes oversamplers that need no model.")
        extra = oversample(train, how.method, 'mean', classes=[args.minority], seed=0) if how.adds_images else None
        reference = None
        for epochs, batch, lr, prec, schedule in configs:
            runs = []
            for seed in range(args.seeds):
                preset = get_preset('laptop', clf_epochs=epochs, clf_batch=batch, clf_precision=prec, clf_schedule=schedule)
                t0 = time.perf_counter()
                clf = fit_classifier(train, 'cnn2', extra=extra, preset=preset, seed=seed, lr=lr, progress=False)
                t1 = time.perf_counter(); result = evaluate(clf, validation); t2 = time.perf_counter()
                runs.append((t1 - t0, t2 - t1, class_recall(result, name), result['macro_f1']))
            a = np.array(runs)
            reference = a if reference is None else reference
            d = a[:, 2:] - reference[:, 2:]                                   # paired by seed
            print(f"{ovs:6s} epochs {epochs} batch {batch:3d} lr {lr:g} {schedule} {prec}: fit {a[:, 0].mean():5.2f} s, evaluate "
                  f"{a[:, 1].mean():4.2f} s, {name} recall {a[:, 2].mean():.3f} ± {a[:, 2].std(ddof=1):.3f} "
                  f"(change {d[:, 0].mean():+.3f} ± {d[:, 0].std(ddof=1):.3f}), macro F1 {a[:, 3].mean():.4f} ± "
                  f"{a[:, 3].std(ddof=1):.4f} (change {d[:, 1].mean():+.4f} ± {d[:, 1].std(ddof=1):.4f})", flush=True)

if __name__ == '__main__':
    main()
