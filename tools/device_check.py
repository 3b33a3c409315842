"""The kit on a GPU (or any device), checked in one run: notebooks, the lab's update time, the GAN loops' throughput,
host-device syncs per epoch, and one study row, written to one JSON summary.

    python tools/device_check.py                          # on the best device; under 8 minutes on one GPU
    python tools/device_check.py --device cpu --quick     # the same checks, small: a few minutes on 2 cores (tested)

Each part records its seconds and its figures, or the error it met, so one failing part never hides the others. The
summary goes to `--out` (default `results/device/<device>.json`; commit it when a GPU ran it). Not a test of speed:
figures vary with the machine and its load.
"""
import argparse, contextlib, json, os, re, subprocess, sys, time, traceback, warnings
from collections import Counter
from pathlib import Path

import torch

TOOLS = Path(__file__).resolve().parent
ROOT = TOOLS.parent
sys.path.insert(0, str(TOOLS))

from imbgan_nb.core import get_device, get_preset, native_bf16, run_environment, write_atomic
from imbgan_nb.data import short_path

NOTEBOOKS = {'quick': ['00_core'], 'full': ['03_classifier', '04_gan_training', '06_dcgan', '14_lab']}

# Reads of a tensor's value into Python: each one waits for the device (a host-device sync) when the tensor is on a GPU.
# Counted where the kit's own code reads (torch's Adam reads its step counter, which it keeps on the CPU: no sync).
READS = ('item', 'tolist', 'cpu', 'numpy', '__bool__', '__float__', '__int__', '__index__')
KIT = str(ROOT/'imbgan_nb')


@contextlib.contextmanager
def counting_reads():
    "Count the reads of tensor values into Python (Counter by method) while the block runs; on CUDA, torch's own sync warnings too."
    counts, originals = Counter(), {m: getattr(torch.Tensor, m) for m in READS}
    def wrap(name, original):
        def read(self, *args, **kwargs):
            if sys._getframe(1).f_code.co_filename.startswith(KIT): counts[name] += 1
            return original(self, *args, **kwargs)
        return read
    for m, f in originals.items(): setattr(torch.Tensor, m, wrap(m, f))
    cuda = torch.cuda.is_available()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            if cuda: torch.cuda.set_sync_debug_mode('warn')
            yield counts
        counts['cuda_sync_warnings'] = sum('synchroniz' in str(w.message) for w in caught)
    finally:
        if cuda: torch.cuda.set_sync_debug_mode('default')
        for m, f in originals.items(): setattr(torch.Tensor, m, f)


def part(summary:dict, name:str):
    "Decorator: run the part, store its figures and seconds under `name`, or the error it met."
    def run(f):
        t0 = time.perf_counter()
        try: summary[name] = {**f(), 'seconds': round(time.perf_counter() - t0, 1)}
        except Exception as e:
            summary[name] = {'error': f"{type(e).__name__}: {e}", 'trace': traceback.format_exc()[-1500:],
                             'seconds': round(time.perf_counter() - t0, 1)}
        print(f"{name}: {json.dumps(summary[name])[:400]}", flush=True)
        return f
    return run


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--device', default=None, help='cuda, cuda:N, mps or cpu (default: the best available)')
    ap.add_argument('--quick', action='store_true', help='small sizes everywhere: a few minutes on a CPU')
    ap.add_argument('--out', default=None, help='the JSON summary (default: results/device/<device>.json)')
    ap.add_argument('--skip', nargs='*', default=[], choices=['notebooks', 'lab', 'benchmark', 'syncs', 'row'])
    args = ap.parse_args(argv)
    device, size = get_device(args.device), 'quick' if args.quick else 'full'
    env = run_environment(device)
    summary = {'device': str(device), 'device_name': env.get('gpu') or 'CPU', 'size': size, 'environment': env,
               'cuda': torch.version.cuda, 'native_bf16': native_bf16(device)}
    if device.type == 'cuda': torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    sub_env = {**os.environ, 'IMBGAN_DEVICE': device.type if device.type != 'cuda' else str(device)}

    if 'notebooks' not in args.skip:
        @part(summary, 'notebooks')
        def _():
            out = {}
            for name in NOTEBOOKS[size]:
                t0 = time.perf_counter()
                res = subprocess.run(['nbdev_test', '--path', f'{name}.ipynb'], cwd=ROOT/'nbs', env=sub_env, capture_output=True, text=True)
                out[name] = {'passed': res.returncode == 0, 'seconds': round(time.perf_counter() - t0, 1),
                             **({} if res.returncode == 0 else {'output': (res.stdout + res.stderr)[-1500:]})}
            return {'results': out, 'all_passed': all(v['passed'] for v in out.values())}

    if 'lab' not in args.skip:
        @part(summary, 'lab')
        def _():
            from imbgan_nb.lab import LabSettings, lab_data
            from benchmark_lab import timed_update
            dataset, preset = ('digits', get_preset('ci')) if args.quick else ('fashion_mnist', get_preset('laptop'))
            rows = {}
            for speed in ('fast', 'full'):
                lab_data(dataset, preset.name, speed, 0)
                first = timed_update(LabSettings(dataset, (7,), 20, oversampler='random', speed=speed), preset, device, {}, [])
                rows[speed] = {'first_update_s': first['update s'],
                               'update_s': timed_update(LabSettings(dataset, (7,), 10, oversampler='random', speed=speed),
                                                        preset, device, {}, [])['update s']}
            return {'dataset': dataset, 'preset': preset.name, **rows, 'goal': 'full update under 1 s on a GPU',
                    'full_update_under_1s': rows['full']['update_s'] < 1}

    if 'benchmark' not in args.skip:
        @part(summary, 'benchmark_gans')
        def _():
            extra = ['--seconds', '1', '--n', '512', '--models', 'dcgan'] if args.quick else ['--seconds', '5']
            res = subprocess.run([sys.executable, str(TOOLS/'benchmark_gans.py'), '--device', str(device), *extra],
                                 env=sub_env, capture_output=True, text=True, check=True)
            rows = {}
            for line in res.stdout.splitlines():
                m = re.match(r'(\w+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$', line.strip())
                if m: rows[m[1]] = dict(zip(('kit_img_s', 'reference_img_s', 'limit_img_s', 'kit_over_reference', 'kit_over_limit'),
                                            map(float, m.groups()[1:])))
            return {'models': rows, 'header': res.stdout.splitlines()[0]}

    if 'syncs' not in args.skip:
        @part(summary, 'syncs_per_epoch')
        def _():
            from imbgan_nb.data import load_dataset
            from imbgan_nb.training import train_gan
            from imbgan_nb.dcgan import make_dcgan
            from imbgan_nb.wgan_gp import make_wgan_gp
            from imbgan_nb.classifier import fit_classifier
            digits = load_dataset('digits', 'train')
            sevens = digits.subset((digits.labels == 7).nonzero().flatten())
            out = {}
            for name, make in (('dcgan', make_dcgan), ('wgan_gp', make_wgan_gp)):
                gans = [make(digits.classes, 7, digits.shape, device=device) for _ in range(2)]
                with counting_reads() as one: train_gan(gans[0], sevens, epochs=1, batch_size=16, progress=False)
                with counting_reads() as two: train_gan(gans[1], sevens, epochs=2, batch_size=16, progress=False)
                out[f'train_gan {name}'] = _per_epoch(one, two, len(sevens) // 16)
            p1, p2 = (get_preset('ci').with_(clf_epochs=e) for e in (1, 2))
            with counting_reads() as one: fit_classifier(digits, 'cnn2', preset=p1, device=device, progress=False)
            with counting_reads() as two: fit_classifier(digits, 'cnn2', preset=p2, device=device, progress=False)
            out['fit_classifier cnn2'] = _per_epoch(one, two, None)
            return {'loops': out, 'how': "the kit's reads of tensor values into Python in epoch 2 alone (2 epochs minus 1); on CUDA also torch's sync warnings"}

    if 'row' not in args.skip:
        @part(summary, 'study_row')
        def _():
            from imbgan_nb.experiments import run_scenario
            from imbgan_nb.studies import study_scenarios
            preset = 'ci' if args.quick else 'paper'
            sc = next(s for s in study_scenarios('demo', preset, 1) if s.how.make_gan is not None)   # the demo's GAN row
            row = run_scenario(sc, device=device, progress=False)
            return {'study': 'demo', 'scenario': sc.name, 'preset': preset,
                    **{k: row[k] for k in ('accuracy', 'minority_recall', 'macro_f1', 'seconds', 'environment')}}

    out = Path(args.out or ROOT/'results'/'device'/f"{re.sub(r'[^A-Za-z0-9]+', '-', summary['device_name']).strip('-').lower()}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, lambda tmp: tmp.write_text(json.dumps(summary, indent=1) + '\n'))
    print(f"wrote {short_path(out)}")
    return summary


def _per_epoch(one:Counter, two:Counter, steps:int|None) -> dict:
    "Reads in the second epoch alone (a run of 2 epochs minus a run of 1), and the steps an epoch has."
    per = {k: two[k] - one[k] for k in set(one) | set(two) if two[k] - one[k]}
    return {'reads': sum(v for k, v in per.items() if k != 'cuda_sync_warnings'), 'by_kind': per, **({'steps': steps} if steps else {})}


if __name__ == '__main__':
    main()
