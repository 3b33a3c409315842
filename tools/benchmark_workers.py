"""A study's rows one at a time against `--workers`: wall time and whether the rows are the same.

Usage: python tools/benchmark_workers.py [--study demo] [--preset laptop] [--seeds 2] [--workers 2]

Runs `imbgan run STUDY` three times, each into a fresh run folder with a fresh, empty cache (so every feature
extractor and GAN really trains, as on a new machine):
- serial:   one row at a time, with every torch thread of the machine (what `imbgan run` does by default);
- workers:  `--workers N`, the machine's threads shared out between the N processes;
- serial-1: one row at a time with the workers' thread count per row (`--threads`), the run whose rows `workers`
            must equal exactly: the same thread count gives the same arithmetic in any process.
It prints each wall time (start-up of the command included), the ratio workers / serial, whether `workers` equals
`serial-1` in every number, and the largest difference of any metric from `serial` (thread counts differ there, so
sums run in another order). Not a test: times vary with the machine and its load; run it on an idle machine."""
import argparse, json, os, shutil, subprocess, tempfile, time
from pathlib import Path

METRICS = ('accuracy', 'macro_f1', 'minority_recall', 'minority_f1', 'gm', 'acsa')


def run(study, preset, seeds, out, *extra):
    "Wall seconds of one `imbgan run` into `out`, with an empty cache of its own."
    env = {**os.environ, 'IMBGAN_DATA': tempfile.mkdtemp(prefix='imbgan_bench_cache_')}
    t0 = time.perf_counter()
    subprocess.run([shutil.which('imbgan') or 'imbgan', 'run', study, '--preset', preset, '--seeds', str(seeds), '--out', str(out),
                    '--quiet', *extra], check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def numbers(out):
    "The rows of a run folder without what depends on the process (seconds, threads)."
    rows = [json.loads(l) for l in (Path(out)/'rows.jsonl').read_text().splitlines()]
    return [{k: v for k, v in r.items() if k not in ('seconds', 'environment')} for r in rows]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--study', default='demo')
    ap.add_argument('--preset', default='laptop')
    ap.add_argument('--seeds', type=int, default=2)
    ap.add_argument('--workers', type=int, default=2)
    args = ap.parse_args()
    import torch
    threads = max(1, torch.get_num_threads() // args.workers)
    tmp = Path(tempfile.mkdtemp(prefix='imbgan_bench_'))
    t_serial = run(args.study, args.preset, args.seeds, tmp/'serial')
    t_workers = run(args.study, args.preset, args.seeds, tmp/'workers', '--workers', str(args.workers))
    t_one = run(args.study, args.preset, args.seeds, tmp/'serial1', '--threads', str(threads))
    serial, workers, one = numbers(tmp/'serial'), numbers(tmp/'workers'), numbers(tmp/'serial1')
    drift = max(abs(a[m] - b[m]) for a, b in zip(workers, serial) for m in METRICS)
    print(f"study {args.study}, preset {args.preset}, {args.seeds} seeds, {len(serial)} rows; {os.cpu_count()} CPUs, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU kernel {torch.backends.cpu.get_cpu_capability()}")
    print(f"{'run':34s} {'wall s':>8s}")
    print(f"{'serial (' + str(torch.get_num_threads()) + ' threads)':34s} {t_serial:8.1f}")
    print(f"{f'--workers {args.workers} ({threads} thread(s) each)':34s} {t_workers:8.1f}")
    print(f"{f'serial, --threads {threads}':34s} {t_one:8.1f}")
    print(f"workers / serial: {t_workers / t_serial:.2f}")
    print(f"rows of --workers equal to serial --threads {threads} in every number: {workers == one}")
    print(f"largest metric difference from the serial run ({torch.get_num_threads()} threads): {drift:.4f}")


if __name__ == '__main__':
    main()
