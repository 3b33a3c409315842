"""The docs check (tools/check_docs.py) finds what it is for: each check, on a planted site or notebook, fails; a clean one passes.
The full check (nbdev's processing of every notebook, smalldocs, chromium) runs in .ci/run and prints its time."""
import importlib.util, json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location('check_docs', ROOT/'tools'/'check_docs.py')
check_docs = importlib.util.module_from_spec(spec); spec.loader.exec_module(check_docs)
URL = 'https://imbgan-nb.github.io/imbgan_nb/'


def _page(body, title='p'): return f"<html><body><nav id='quarto-sidebar'></nav><main>{body}</main></body></html>"


def _site(tmp_path, pages:dict) -> Path:
    site = tmp_path/'site'; site.mkdir(parents=True)
    for name, body in pages.items(): (site/name).write_text(_page(body))
    return site


def test_site_links_and_anchors(tmp_path):
    good = {'index.html': "<a href='00_core.html#get_preset'>x</a> <a href='" + URL + "core.html#get_preset'>y</a>"
                          "<a href='https://pytorch.org/'>z</a><a href='#top'>t</a><h1 id='top'>i</h1>",
            '00_core.html': "<h3 id='get_preset'>get_preset</h3>"}
    problems, pages = check_docs.check_site(_site(tmp_path/'a', good), URL)
    assert problems == [] and set(pages) == {'index.html', '00_core.html'}
    bad = {**good, 'index.html': good['index.html'] + "<a href='00_core.html#nope'>a</a><a href='" + URL + "gamo.html'>b</a>"
                                                   "<a href='missing.png'>c</a>"}
    problems, _ = check_docs.check_site(_site(tmp_path/'b', bad), URL)
    assert any('broken anchor' in p and 'nope' in p for p in problems)
    assert any('gamo.html' in p for p in problems) and any('missing.png' in p for p in problems)


def test_site_machine_path(tmp_path):
    problems, _ = check_docs.check_site(_site(tmp_path, {'index.html': "<pre>folder /tmp/tmpab12/demo</pre>"}), URL)
    assert len(problems) == 1 and 'machine path' in problems[0]


def _nb(path:Path, *cells):
    path.write_text(json.dumps({'cells': list(cells), 'metadata': {}, 'nbformat': 4, 'nbformat_minor': 5}))


def _code(src, *outputs, id='c1'): return {'cell_type': 'code', 'id': id, 'source': src, 'metadata': {}, 'outputs': list(outputs)}
def _stream(text): return {'output_type': 'stream', 'name': 'stdout', 'text': text}


@pytest.mark.parametrize('output, found', [
    (_stream("epoch 1\n"), None),
    (_stream("Traceback (most recent call last):\n  File ...\nNameError: name 'yt' is not defined\n"), 'traceback'),
    ({'output_type': 'error', 'ename': 'NameError', 'evalue': 'x', 'traceback': ['NameError: x']}, 'traceback'),
    (_stream("step\n" * 301), 'output block'),
    (_stream("rows already done in /root/.cache/imbgan_nb/runs\n"), 'machine path'),
])
def test_processed_outputs(tmp_path, output, found):
    _nb(tmp_path/'05_x.ipynb', _code('run()', output))
    problems = check_docs.check_processed(tmp_path)
    assert (problems == []) if found is None else (len(problems) >= 1 and found in problems[0]), problems


def test_committed_outputs_are_kept(tmp_path):
    (tmp_path/'nbs').mkdir(); (tmp_path/'proc').mkdir()
    committed = _code('train()', _stream("Outputs above: `laptop` preset\n"))
    _nb(tmp_path/'nbs'/'06_x.ipynb', committed)
    _nb(tmp_path/'proc'/'06_x.ipynb', committed)
    assert check_docs.check_outputs_kept(tmp_path/'nbs', tmp_path/'proc') == []
    _nb(tmp_path/'proc'/'06_x.ipynb', _code('train()', _stream("Outputs above: `ci` preset\n")))   # re-run at docs time
    assert len(check_docs.check_outputs_kept(tmp_path/'nbs', tmp_path/'proc')) == 1


def test_browser_check_says_what_is_missing(monkeypatch):
    monkeypatch.setattr(check_docs, 'CHROMIUM', '/no/such/chromium')
    assert '/no/such/chromium' in check_docs.browser_here()
