"""Does longer training spread GAMO's convex weights? Train study 003's GAMO at the paper's counts for a number of
rounds and print each minority class's collapse numbers (distinct vertices and mean largest weight per 256 z).
Only the generator is looked at: the test split is never read.

    python tools/gamo_collapse_by_rounds.py --loss ls --seed 1 --rounds 10 20
"""
import argparse, dataclasses, time

import torch

from imbgan_nb.experiments import prepare_data
from imbgan_nb.studies import study_scenarios
from imbgan_nb.gamo import GAMO_LOSSES, collapse_report, fit_gamo


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--loss', choices=GAMO_LOSSES, default='ls')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--rounds', type=int, nargs='+', default=[10, 20], help='rounds of each run (F epoch + game pass)')
    ap.add_argument('--joint', action='store_true', help="G's steps for all classes at once (class_steps=False)")
    ap.add_argument('--threads', type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    name = f"GAMO ({args.loss.upper()})"                              # study 003's own scenario, at the asked seed
    sc = dataclasses.replace(study_scenarios('003', 'laptop', only=[name])[0], seed=args.seed)
    train, _, _ = prepare_data(sc)
    for rounds in args.rounds:
        t0 = time.perf_counter()
        res = fit_gamo(train, 'conv', args.loss, preset=dataclasses.replace(sc.sizes(), clf_epochs=rounds), seed=args.seed,
                       class_steps=not args.joint, progress=False)
        report = collapse_report(res, seed=args.seed)
        print(f"{args.loss} seed {args.seed}, {rounds} rounds ({time.perf_counter() - t0:.0f} s):")
        print('  distinct vertices ', {train.classes[c]: v['distinct_sources'] for c, v in report.items()})
        print('  mean largest weight', {train.classes[c]: round(v['max_weight'], 2) for c, v in report.items()})


if __name__ == '__main__':
    main()
