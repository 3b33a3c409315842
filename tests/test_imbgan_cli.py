"""The `imbgan` command end to end, run as a user runs it: the installed console script in a subprocess."""
import json, os, shutil, signal, subprocess, sys, time

import pytest

EXE = shutil.which('imbgan')


@pytest.fixture(scope='module')
def env(tmp_path_factory):
    "A fresh cache folder (so generators really train) and a non-interactive matplotlib."
    return {**os.environ, 'IMBGAN_DATA': str(tmp_path_factory.mktemp('cache')), 'MPLBACKEND': 'Agg'}


def imbgan(*args, env, cwd, timeout=600):
    assert EXE, "pip install -e . should install the imbgan command"
    return subprocess.run([EXE, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def rows(folder):
    return [json.loads(l) for l in (folder/'rows.jsonl').read_text().splitlines()]


def test_help_teaches(env, tmp_path):
    res = imbgan('--help', env=env, cwd=tmp_path)
    assert res.returncode == 0 and 'imbgan run demo' in res.stdout and 'interrupted run' in res.stdout
    res = imbgan('list', env=env, cwd=tmp_path)
    assert res.returncode == 0 and 'demo' in res.stdout and 'gamo_ir100' in res.stdout


def test_run_demo_writes_report_and_rows_then_skips_them(env, tmp_path):
    res = imbgan('run', 'demo', '--preset', 'ci', '--seeds', '1', '--out', 'run', env=env, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    run = tmp_path/'run'
    got = rows(run)
    assert [r['name'] for r in got] == ['Baseline', 'Random oversampling', 'DCGAN']
    assert got[0]['n_synthetic'] == 0 and got[1]['n_synthetic'] == got[2]['n_synthetic'] > 0
    assert got[2]['quality']['7']['fd'] > 0 and 0 <= got[2]['minority_recall'] <= 1
    report = (run/'report.md').read_text()
    assert 'Study demo' in report and 'Random oversampling' in report and '±' in report
    assert (run/'figures'/'scenarios.png').stat().st_size > 0
    assert any((run/'checkpoints').iterdir()) and any((run/'manifests').iterdir())
    assert 'minority_recall' in res.stdout
    before = (run/'rows.jsonl').read_bytes()
    t0 = time.perf_counter()
    again = imbgan('run', 'demo', '--preset', 'ci', '--seeds', '1', '--out', 'run', env=env, cwd=tmp_path)
    assert again.returncode == 0 and '3 of 3 rows already done' in again.stdout
    assert (run/'rows.jsonl').read_bytes() == before
    report_again = imbgan('report', 'run', env=env, cwd=tmp_path)
    assert report_again.returncode == 0 and 'Baseline' in report_again.stdout


def test_killed_run_resumes_without_losing_or_repeating_rows(env, tmp_path):
    run = tmp_path/'run'
    proc = subprocess.Popen([EXE, 'run', 'demo', '--preset', 'ci', '--seeds', '2', '--out', 'run', '--quiet'],
                            env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and not ((run/'rows.jsonl').exists() and (run/'rows.jsonl').read_text().count('\n') >= 1):
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL); proc.wait()
    done_before = len(rows(run))
    assert 1 <= done_before < 6, "the run should have been killed part-way"
    res = imbgan('run', 'demo', '--preset', 'ci', '--seeds', '2', '--out', 'run', '--quiet', env=env, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    keys = [r['key'] for r in rows(run)]
    assert len(keys) == 6 and len(set(keys)) == 6
    assert f"{done_before} of 6 rows already done" in res.stdout


@pytest.mark.parametrize('args, message', [
    (['run', 'nosuch', '--out', 'x'], "Unknown study 'nosuch'"),
    (['run', 'demo', '--preset', 'huge', '--out', 'x'], "Unknown preset 'huge'"),
    (['run', 'demo', '--seeds', '0', '--out', 'x'], "seeds must be at least 1"),
    (['report', 'nowhere'], "not an imbgan run folder"),
    (['analyze', '--dataset', 'svhn'], "Unknown dataset 'svhn'"),
])
def test_bad_input_fails_cleanly(env, tmp_path, args, message):
    res = imbgan(*args, env=env, cwd=tmp_path)
    assert res.returncode == 2 and message in res.stderr and 'Traceback' not in res.stderr
    assert not (tmp_path/'x').exists()


def test_folder_of_another_study_is_not_touched(env, tmp_path):
    run = tmp_path/'run'; run.mkdir()
    (run/'study.json').write_text(json.dumps({'study': '000', 'preset': 'ci'}))
    (run/'rows.jsonl').write_text('{"key": "000/Baseline/seed0"}\n')
    snapshot = {p.name: p.read_bytes() for p in run.iterdir()}
    res = imbgan('run', 'demo', '--preset', 'ci', '--out', 'run', env=env, cwd=tmp_path)
    assert res.returncode == 2 and "holds rows of study '000'" in res.stderr
    assert {p.name: p.read_bytes() for p in run.iterdir()} == snapshot


def test_missing_dataset_offline_is_explained(env, tmp_path):
    res = imbgan('run', '001', '--preset', 'ci', '--out', 'run', env=env, cwd=tmp_path, timeout=300)
    assert res.returncode == 2 and 'No train files of mnist' in res.stderr and 'Traceback' not in res.stderr
