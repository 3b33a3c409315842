"""The same lesson on other machines, emulated on this one. PyTorch picks its CPU kernels from `ATEN_CPU_CAPABILITY`
(default, avx2, avx512) and oneDNN from `ONEDNN_MAX_CPU_ISA`; thread counts change the order of every sum. A claim about
what training produced must hold under all of them.

    python tools/kernel_matrix.py                      # nbdev_test on the notebooks of TRAINING_CLAIMS, under each kernel
    python tools/kernel_matrix.py --gallery            # 04a's failure gallery over 5 seeds, per kernel: the margins
    python tools/kernel_matrix.py --kernels default --threads 1 2

Prints one line per setting (pass or fail, seconds). Kernels the processor lacks fall back to the best it has: the
line says which kernel ran.
"""
import argparse, json, os, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KERNELS = ('default', 'avx2', 'avx512')

# The notebooks whose assertions depend on what training produced, and what they assert. tests/test_repo.py checks that
# every notebook that trains and asserts is named here; each claim holds with a margin measured over seeds and kernels.
TRAINING_CLAIMS = {
    '04c_fast_path': "bf16 and fp32 DCGANs' validation FD agree within 2 seed-to-seed std over 3 seeds; bf16 faster where native",
    '03_classifier': "a trained CNN's loss falls and its accuracy on the digits clears 0.6 (0.8 in bfloat16)",
    '03a_sample_quality': "FD and coverage order real images, blurred ones, other classes and noise in the trained feature space",
    '04_gan_training': "a GAN on tiny data improves its FD to under a fifth of the untrained one",
    '04a_gan_playground': "the toy GAN covers 5 or more modes; each failure differs from its fix over 5 seeds",
    '11_gamo': "GAMO's classifier beats an untrained one by 0.2 ACSA",
    '11a_gamo_in_view': "batch norm keeps more distinct vertices than none, summed over classes",
}

# Notebooks that train and assert, but only what holds on any machine (ranges, exact arithmetic on the outputs, caching).
INVARIANTS_ONLY = {
    '08a_registry': "a GAN added through the registry gives a row with synthetic images, scored like every GAN",
    '13b_cluster': "rows computed in parallel (processes, Ray) equal the serial rows of the same machine and thread count",
    '12_gamo2pix': "the decoder's images lie in [-1, 1]; the KL term against its closed form",
    '14_lab': "the metrics table's change equals row minus baseline; figures are PNGs; data and generators cached",
}


def run_notebooks(kernel:str, threads:int|None, names) -> tuple[bool, float, str]:
    "nbdev_test on `names` under `kernel` (and `threads` per notebook): (passed, seconds, the kernel torch reports)."
    env = {**os.environ, 'ATEN_CPU_CAPABILITY': kernel}
    if threads: env['IMBGAN_TEST_THREADS'] = str(threads)
    ran = subprocess.run([sys.executable, '-c', 'import torch; print(torch.backends.cpu.get_cpu_capability())'], env=env,
                         capture_output=True, text=True).stdout.strip()
    t0, ok = time.perf_counter(), True
    for name in names:
        res = subprocess.run(['nbdev_test', '--path', f'{name}.ipynb'], cwd=ROOT/'nbs', env=env, capture_output=True, text=True)
        if res.returncode != 0:
            ok = False; print(f"  {name} failed under {kernel}:\n{res.stdout[-2000:]}{res.stderr[-2000:]}")
    return ok, time.perf_counter() - t0, ran


GALLERY = """
import json, torch
from imbgan_nb.toy import failure_spread
torch.set_num_threads(1)
spread, _ = failure_spread(seeds=range({seeds}))
print(json.dumps({{'kernel': torch.backends.cpu.get_cpu_capability(), 'rows': spread.to_dict('records')}}))
"""

def gallery(kernel:str, seeds:int) -> dict:
    "04a's failure spread under `kernel`, from a fresh process (the kernel is chosen at start-up)."
    res = subprocess.run([sys.executable, '-c', GALLERY.format(seeds=seeds)], env={**os.environ, 'ATEN_CPU_CAPABILITY': kernel},
                         capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--kernels', nargs='+', default=list(KERNELS), choices=KERNELS)
    ap.add_argument('--threads', nargs='+', type=int, default=[0], help='intra-op threads per notebook (0: the test default)')
    ap.add_argument('--gallery', action='store_true', help="print 04a's failure measures per seed and kernel instead")
    ap.add_argument('--seeds', type=int, default=5)
    ap.add_argument('--notebooks', nargs='+', default=list(TRAINING_CLAIMS))
    args = ap.parse_args()
    if args.gallery:
        for k in args.kernels:
            out = gallery(k, args.seeds)
            by = {}
            for r in out['rows']: by.setdefault(r['failure'], []).append(r)
            for name, rows in by.items():
                fmt = lambda v: f"{v:.3g}"
                print(f"{k:7s} ran {out['kernel']:7s} {name:14s} {rows[0]['measure']:24s} failing "
                      f"{' '.join(fmt(r['failing']) for r in rows):40s} fixed {' '.join(fmt(r['fixed']) for r in rows)}", flush=True)
        sys.exit(0)
    failed = False
    for k in args.kernels:
        for t in args.threads:
            ok, s, ran = run_notebooks(k, t or None, args.notebooks)
            failed |= not ok
            print(f"ATEN_CPU_CAPABILITY={k:7s} (ran {ran}) threads {t or 'test default'}: {'pass' if ok else 'FAIL'} in {s:.0f} s", flush=True)
    sys.exit(1 if failed else 0)
