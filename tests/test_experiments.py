"""Experiments as data: study definitions and run-folder bookkeeping (the end-to-end runs are in test_imbgan_cli)."""
import json

import pytest

from imbgan_nb.experiments import Scenario, _drop_partial_line, read_rows, study_scenarios


def test_study_002_reports_the_four_reduced_classes_in_every_row():
    assert {s.minority for s in study_scenarios('002', 'ci')} == {(2, 3, 4, 6)}
    assert [s.classifier for s in study_scenarios('002', 'ci')] == ['cnn_svm'] * 4


def test_studies_follow_the_source_documents():
    s000, s001 = study_scenarios('000', 'ci'), study_scenarios('001', 'ci', seeds=2)
    assert [(s.oversampler, s.target, s.classifier) for s in s000] == [('none', 'mean', 'cnn2'), ('vanilla', 'mean', 'cnn2'), ('wgan_gp', 'mean', 'cnn2')]
    assert [s.oversampler for s in s001[:4]] == ['none', 'vanilla', 'dcgan', 'cgan'] and {s.seed for s in s001} == {0, 1}
    assert all(s.target == 'majority' and s.classifier == 'cnn3' and s.protocol == 'mnist0_300' for s in s001)
    with pytest.raises(ValueError, match="Unknown preset"):
        Scenario('x', 'y', 'digits', None, preset='fast')


def test_a_half_written_row_is_dropped_before_appending(tmp_path):
    path = tmp_path/'rows.jsonl'
    path.write_text(json.dumps({'key': 'a'}) + '\n' + '{"key": "b", "accur')
    assert [r['key'] for r in read_rows(tmp_path)] == ['a']
    _drop_partial_line(path)
    with open(path, 'a') as f: f.write(json.dumps({'key': 'b'}) + '\n')
    assert [r['key'] for r in read_rows(tmp_path)] == ['a', 'b']
