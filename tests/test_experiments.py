"""Experiments as data: study definitions and run-folder bookkeeping (the end-to-end runs are in test_imbgan_cli)."""
import json

import pytest

from imbgan_nb.experiments import Scenario
from imbgan_nb.studies import study_scenarios
from imbgan_nb.runs import read_rows


def test_study_002_reports_the_four_reduced_classes_in_every_row():
    assert {s.minority for s in study_scenarios('002', 'ci')} == {(2, 3, 4, 6)}
    assert [s.classifier for s in study_scenarios('002', 'ci')] == ['cnn_svm'] * 4


def test_studies_follow_the_source_documents():
    s000, s001 = study_scenarios('000', 'ci'), study_scenarios('001', 'ci', seeds=2)
    assert [(s.oversampler, s.target, s.classifier) for s in s000] == [('none', 'mean', 'cnn2'), ('vanilla', 'mean', 'cnn2'), ('wgan_gp', 'mean', 'cnn2')]
    assert [s.oversampler for s in s001[:4]] == ['none', 'vanilla', 'dcgan', 'cgan'] and {s.seed for s in s001} == {0, 1}
    assert all(s.target == 'majority' and s.classifier == 'cnn3' and s.protocol == 'mnist0_300' for s in s001)
    with pytest.raises(ValueError, match="Unknown preset"):
        Scenario(study='x', name='y', dataset='digits', protocol=None, preset='fast')


def test_a_half_written_or_repeated_row_is_read_once_and_repaired(tmp_path, capsys):
    path = tmp_path/'rows.jsonl'
    def row(key, v):    # the fields every row has (a real one has many more)
        return json.dumps({'key': key, 'study': 'demo', 'preset': 'ci', 'name': 'Baseline', 'seed': 0, 'minority': ['7'], 'n_test': 1,
                           'quality': {}, 'collapse': {}, 'per_class': [], 'confusion': [[1]], 'seconds': {}, 'device': 'cpu', 'v': v})
    path.write_text(row('a', 1) + '\n' + row('a', 2) + '\n' + '{"key": "b", "accur')
    assert [(r['key'], r['v']) for r in read_rows(tmp_path)] == [('a', 1)]            # the first of a repeated row
    assert '1 repeated row' in capsys.readouterr().out
    read_rows(tmp_path, repair=True)
    assert path.read_text() == row('a', 1) + '\n'                                    # rewritten whole: no repeat, no half line
