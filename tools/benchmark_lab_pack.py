"""The lab's first updates in a fresh process, with the generators already in the cache (from `imbgan prepare --only 14_lab`
or a course pack): the first update of the lab (no oversampling: the data load, oneDNN's kernels, the fonts), then the
first update with each GAN oversampler, whose generator is loaded from the cache, not trained. Each GAN oversampler gets
its own fresh process, as a student's kernel would.

Usage: python tools/benchmark_lab_pack.py [--preset laptop] [--device cpu]
Not a test: numbers vary with the machine and its load; the script refuses to time a GAN that is not in the cache."""
import argparse, json, subprocess, sys, time

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
from imbgan_nb.core import CACHE_LOG, get_device
from imbgan_nb.data import dataset_here, figure_png
from imbgan_nb.lab import LabSettings, lab_figures, run_lab
kind, preset, device = sys.argv[1], sys.argv[2], get_device(sys.argv[3] if sys.argv[3] != 'None' else None)
dataset = LabSettings().dataset if dataset_here(LabSettings().dataset) else 'digits'
t_import = time.perf_counter() - t0
def update(s):
    t = time.perf_counter(); res = run_lab(s, preset, device); [figure_png(f) for f in lab_figures(res).values()]
    return time.perf_counter() - t
first = update(LabSettings(dataset, oversampler='none'))
gan = update(LabSettings(dataset, oversampler=kind))
trained = [e for e in CACHE_LOG if e[1] == 'trained' and e[2] == 'generator']
print(json.dumps({'oversampler': kind, 'dataset': dataset, 'import s': round(t_import, 2), 'first update (none) s': round(first, 2),
                  'first update with the GAN s': round(gan, 2), 'generators trained': len(trained)}))
"""

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--preset', default='laptop'); ap.add_argument('--device', default=None)
    args = ap.parse_args()
    from imbgan_nb.registry import gan_kinds
    import torch, pandas as pd
    rows = []
    for kind in gan_kinds():
        out = subprocess.run([sys.executable, '-c', CHILD, kind, args.preset, str(args.device)], capture_output=True, text=True, check=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        if row['generators trained']: sys.exit(f"{kind}: its generator was trained, not loaded: run `imbgan prepare --only 14_lab --preset {args.preset}` first")
        rows.append(row)
    print(f"preset {args.preset}, torch {torch.__version__}, {torch.get_num_threads()} threads, kernel {torch.backends.cpu.get_cpu_capability()}")
    print(pd.DataFrame(rows).drop(columns='generators trained').to_string(index=False))

if __name__ == '__main__': main()
