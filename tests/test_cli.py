"""`imbgan analyze`, run as a user runs it: the console script in a subprocess."""
import csv, os, shutil, subprocess, sys

import pytest


def run(*args, cwd):
    exe = shutil.which('imbgan')
    cmd = ([exe] if exe else [sys.executable, '-c', 'from imbgan_nb.cli import console; console()']) + ['analyze']
    env = {**os.environ, 'MPLBACKEND': 'Agg'}
    return subprocess.run(cmd + list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_console_script_is_installed():
    assert shutil.which('imbgan'), "pip install -e . should install the imbgan command"


def test_analyze_digits_writes_table_and_figures(tmp_path):
    res = run('--dataset', 'digits', '--protocol', 'gamo_ir100', '--out', 'out', cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert 'IR before 1.1, IR after 96.0' in res.stdout and 'gamo_ir100' in res.stdout
    out = tmp_path/'out'
    for name in ('class_counts.csv', 'class_counts.png', 'samples_per_class.png', 'minority.png', 'kept_train_indices.txt'):
        assert (out/name).stat().st_size > 0, name
    rows = {r['class']: r for r in csv.DictReader(open(out/'class_counts.csv'))}
    assert [int(rows[str(c)]['after']) for c in range(10)] == [96, 48, 24, 18, 12, 8, 5, 2, 1, 1]
    assert len((out/'kept_train_indices.txt').read_text().split()) == 215
    assert (out/'class_counts.png').read_bytes()[:4] == b'\x89PNG'


@pytest.mark.parametrize('args, message', [
    (['--dataset', 'svhn'], "Unknown dataset 'svhn'"),
    (['--protocol', 'ir7'], "Unknown protocol 'ir7'"),
    (['--dataset', 'mnist', '--root', 'nowhere'], "not a readable folder"),
])
def test_bad_input_fails_cleanly(tmp_path, args, message):
    res = run(*args, '--out', 'out', cwd=tmp_path)
    assert res.returncode != 0
    assert message in res.stderr and 'Traceback' not in res.stderr
    assert not (tmp_path/'out').exists()
