"""A study's rows in parallel, on local processes and on a local Ray: the same rows as a serial run, one writer."""
import json, os, shutil, subprocess, sys

import pytest

from imbgan_nb.runs import _drain, local_rows, ray_rows, run_study
from imbgan_nb.studies import study_scenarios

EXE = shutil.which('imbgan')


def numbers(folder):
    "A folder's rows without what depends on the process (seconds, threads)."
    rows = [json.loads(l) for l in (folder/'rows.jsonl').read_text().splitlines()]
    return [{k: v for k, v in r.items() if k not in ('seconds', 'environment')} for r in rows]


@pytest.fixture(scope='module')
def env(tmp_path_factory):
    "One cache folder for the module (the runs share feature extractors), a non-interactive matplotlib."
    return {**os.environ, 'IMBGAN_DATA': str(tmp_path_factory.mktemp('cache')), 'MPLBACKEND': 'Agg'}


@pytest.fixture(scope='module')
def serial(env, tmp_path_factory):
    "The demo at ci, 2 seeds, one row at a time with one torch thread per row: the rows the others must equal."
    out = tmp_path_factory.mktemp('runs')/'serial'
    res = subprocess.run([EXE, 'run', 'demo', '--preset', 'ci', '--seeds', '2', '--threads', '1', '--out', str(out), '--quiet'],
                         env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    return out


def test_two_workers_write_the_serial_rows(env, serial, tmp_path):
    out = tmp_path/'workers'
    res = subprocess.run([EXE, 'run', 'demo', '--preset', 'ci', '--seeds', '2', '--workers', '2', '--threads', '1', '--out', str(out), '--quiet'],
                         env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    assert '2 workers' in res.stdout
    assert numbers(out) == numbers(serial)                                   # every number, in the study's order
    assert sorted(p.name for p in (out/'manifests').iterdir()) == sorted(p.name for p in (serial/'manifests').iterdir())
    assert all((out/'manifests'/p.name).read_text() == p.read_text() for p in (serial/'manifests').iterdir())
    assert not (out/'run.lock').read_text()                                  # released by the one process that held it
    again = subprocess.run([EXE, 'run', 'demo', '--preset', 'ci', '--seeds', '2', '--workers', '2', '--out', str(out), '--quiet'],
                           env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and '6 of 6 rows already done' in again.stdout


def test_on_a_local_ray_the_rows_are_the_serial_rows(env, serial, tmp_path, monkeypatch):
    ray = pytest.importorskip('ray', reason='Ray is not installed (pip install -e ".[ray]")')
    monkeypatch.setenv('IMBGAN_DATA', env['IMBGAN_DATA'])
    ray.init(num_cpus=2, include_dashboard=False, logging_level='warning',
             runtime_env={'env_vars': {'IMBGAN_DATA': env['IMBGAN_DATA'], 'MPLBACKEND': 'Agg'}})
    try: run_study('demo', tmp_path/'ray', preset='ci', seeds=2, ray=True, threads=1, progress=False)
    finally: ray.shutdown()
    assert numbers(tmp_path/'ray') == numbers(serial)


def test_the_cli_runs_on_a_local_ray(env, serial, tmp_path):
    pytest.importorskip('ray', reason='Ray is not installed (pip install -e ".[ray]")')
    out = tmp_path/'cli_ray'
    res = subprocess.run([EXE, 'run', 'demo', '--preset', 'ci', '--seeds', '2', '--ray', '--threads', '1', '--out', str(out), '--quiet'],
                         env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    assert 'on Ray' in res.stdout and numbers(out) == numbers(serial)


class Handles:
    "Stand-in futures: each handle finishes in the order given, with a row or an error; cancel drops what is queued."
    def __init__(self, results, running): self.results, self.running, self.cancelled = results, running, []
    def wait(self, pending): return [next(h for h in self.results if h in pending)]
    def get(self, h):
        if isinstance(self.results[h], Exception): raise self.results[h]
        return self.results[h]
    def cancel(self, pending):
        for h in [h for h in pending if h not in self.running]: pending.pop(h); self.cancelled.append(h)


def test_a_failed_row_keeps_the_running_ones_drops_the_queued_and_raises():
    results = {'a': ('row a', [0]), 'b': ValueError('row b failed'), 'c': ('row c', [2]), 'd': ('row d', [3])}
    handles = Handles(results, running={'c'})                       # c was running when b failed; d had not started
    got = []
    with pytest.raises(ValueError, match='row b failed'):
        for sc, row, index in _drain({h: f"scenario {h}" for h in results}, handles): got.append(row)
    assert got == ['row a', 'row c'] and handles.cancelled == ['d']


def test_bad_parallel_settings_are_refused_in_one_line(monkeypatch, tmp_path):
    todo = study_scenarios('demo', 'ci', 1)
    with pytest.raises(ValueError, match=r"workers=0: give a whole number of at least 1"): next(local_rows(todo, workers=0))
    with pytest.raises(ValueError, match=r"threads=0: give a whole number of at least 1"): next(local_rows(todo, workers=2, threads=0))
    monkeypatch.setitem(sys.modules, 'ray', None)                    # as on a machine without Ray
    with pytest.raises(ValueError, match=r'Ray is not installed: `pip install -e ".\[ray\]"`'): next(ray_rows(todo))
    res = subprocess.run([EXE, 'run', 'demo', '--preset', 'ci', '--workers', '-2', '--out', str(tmp_path/'x')],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and res.stderr.count('\n') == 1 and '--workers -2' in res.stderr


def test_rows_that_train_a_model_start_first():
    "A pool takes rows in order: GAN, game and decoder rows go first, so that no long row starts last and ends the run alone."
    from imbgan_nb.runs import _slow_first
    from imbgan_nb.studies import study_scenarios
    order = [sc.name for sc in _slow_first(study_scenarios('003p', 'laptop', 2))]
    assert order == ['GAMO2pix+CN', 'GAMO2pix+CN', 'Baseline CN', 'Baseline CN']
    order = [sc.name for sc in _slow_first(study_scenarios('003k', 'laptop', 1))]
    assert order == ['GAMO (LS), cnn2 as F', 'Kit cnn2 (tuned)']
