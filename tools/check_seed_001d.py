"""Does the seed reach study 001d's DCGAN and its sampling? Re-runs the committed DCGAN rows of `results/001d_laptop` seed by
seed and prints, per seed: the kept training zeros, how far that seed's synthetic zeros are from the other seeds' (mean
absolute pixel difference), the confusion row of class 0 (checked against the committed row), and which test zeros were missed.

    python tools/check_seed_001d.py [--seeds 3] [--out FILE.json]
"""
import argparse, json, tempfile
from pathlib import Path

import numpy as np
import torch

from imbgan_nb.classifier import evaluate, fit_classifier
from imbgan_nb.experiments import make_synthetic, prepare_data
from imbgan_nb.runs import read_rows
from imbgan_nb.studies import study_scenarios

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--seeds', type=int, default=3); ap.add_argument('--out', default=None)
    args = ap.parse_args()
    committed = {r['key']: r for r in read_rows(Path(__file__).resolve().parents[1]/'results'/'001d_laptop')}
    report, synthetic = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for sc in study_scenarios('001d', 'laptop', args.seeds, only=['DCGAN']):
            train, test, full = prepare_data(sc)
            extra, _ = make_synthetic(sc, train, test, full, checkpoints=Path(tmp)/f"seed{sc.seed}", progress=False, quality=False)
            clf = fit_classifier(train, sc.classifier, extra=extra, preset=sc.sizes(), seed=sc.seed, progress=False, loss=sc.loss)
            confusion, zeros = evaluate(clf, test)['confusion'].tolist(), test.class_indices(0)   # as train_and_score scores the row
            missed = test.source_index[zeros][torch.as_tensor(clf.predict(test.images[zeros]) != 0)].tolist()
            synthetic[sc.seed] = extra.images.float()
            report.append({'seed': sc.seed, 'train_zeros': sorted(train.source_index[train.class_indices(0)].tolist()),
                           'confusion_row0': confusion[0], 'matches_committed': confusion == committed[sc.key]['confusion'],
                           'missed_test_zeros': missed})
    for r in report:
        others = [s for s in synthetic if s != r['seed']]
        r['synthetic_mean_abs_diff_to_other_seeds'] = [round(float((synthetic[r['seed']] - synthetic[s]).abs().mean()), 2) for s in others]
        print(json.dumps(r))
    if args.out: Path(args.out).write_text(json.dumps(report, indent=1) + '\n')

if __name__ == '__main__': main()
