"""The docs check (tools/check_docs.py) finds what it is for: each check, on a planted site or notebook, fails; a clean one passes.
The full check (nbdev's processing of every notebook, smalldocs, chromium) runs in .ci/run and prints its time."""
import importlib.util, json, os
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


# ---- what a reader sees: each defect planted in a page or a notebook makes the check fail; the clean page passes

CLEAN = "<h1 class='title'>T</h1><h2 id='a'>The loss</h2><p>The critic's score <span class='math inline'>\\(C(x)\\)</span> costs $5.</p>"

@pytest.mark.parametrize('planted, found', [
    ("<pre><code>VBox(children=(HBox(children=(Button(description='Step D'</code></pre>", 'widget shown as its text repr'),
    ("<pre><code>wgan_gp on 120 images:   0%|          | 0/150 [00:00&lt;?, ?it/s]</code></pre>", 'progress bar'),
    ("<pre><code>vanilla on 120 images: 0it [00:00, ?it/s]</code></pre>", 'progress bar'),
    ("<pre><code>def GamoGame(discriminator:__main__.ConditionalDiscriminator | None)</code></pre>", '__main__'),
    ("<p>G steps towards $1 - $ one-hot(i)</p>", 'maths left as raw text'),
    ("<p>the penalty \\( \\lambda \\) weighs</p>", 'maths left as raw text'),
])
def test_page_defects_are_seen(tmp_path, planted, found):
    problems, _ = check_docs.check_site(_site(tmp_path/'clean', {'index.html': CLEAN}), URL)
    assert problems == []
    problems, _ = check_docs.check_site(_site(tmp_path/'bad', {'index.html': CLEAN + planted}), URL)
    assert len(problems) == 1 and found in problems[0], problems


def _md(src, id='m1'): return {'cell_type': 'markdown', 'id': id, 'source': src, 'metadata': {}}


def test_a_page_cut_short_is_seen(tmp_path):
    "02 stopped at plot_confusions: every heading of the notebook must be on its page, in order."
    _nb(tmp_path/'02_x.ipynb', _md("## The loss\n\ntext\n\n```python\n## not a heading\n```\n"), _md("## Exercises\n", id='m2'),
        _md("::: {.callout-tip}\n## Solution 1\n:::\n", id='m3'))
    sites = iter(range(10))
    page = lambda body: check_docs.check_site(_site(tmp_path/f"site{next(sites)}", {'02_x.html': body}), URL)[1]
    assert check_docs.check_headings(tmp_path, page("<h2>The loss</h2><h2>Exercises</h2>")) == []
    cut = check_docs.check_headings(tmp_path, page("<h2>The loss</h2><p>then nothing"))
    assert len(cut) == 1 and "'exercises'" in cut[0]
    swapped = check_docs.check_headings(tmp_path, page("<h2>Exercises</h2><h2>The loss</h2>"))
    assert len(swapped) == 1


def test_a_raw_tag_in_a_docstring_is_seen(tmp_path):
    "A docstring's '(a) <title>' is read as HTML by Quarto, and the page after it vanished."
    doc = {'output_type': 'display_data', 'metadata': {}, 'data': {'text/markdown': "Draw confusion matrices, titled '(a) <title>'"}}
    _nb(tmp_path/'02_x.ipynb', _code('show_doc(plot_confusions)', doc), _md("a `<title>` in code is fine, <b>bold</b> too", id='m2'))
    problems = check_docs.check_raw_html(tmp_path)
    assert len(problems) == 1 and '<title>' in problems[0] and 'cell 0' in problems[0]


def test_katex_is_checked_against_its_published_hash(tmp_path, monkeypatch):
    "A tampered or truncated download is refused, not served to the browser."
    class Fake:
        def read(self): return b'not katex'
    monkeypatch.setattr(check_docs.urllib.request, 'urlopen', lambda *a, **k: Fake())
    with pytest.raises(SystemExit, match='does not match its published sha512'):
        check_docs.katex_dir(tmp_path)
    assert not (tmp_path/f'katex-{check_docs.KATEX[0]}').exists()


def test_maths_is_typeset_offline_and_an_unreadable_formula_is_seen(tmp_path):
    "In chromium, with KaTeX served from the local copy instead of the CDN: a formula renders; one KaTeX cannot read is flagged."
    missing = check_docs.browser_here()
    if missing:
        if os.environ.get('IMBGAN_REQUIRE_BROWSER'): pytest.fail(f"the browser check is required here and needs {missing}")
        pytest.skip(f"no browser here ({missing})")
    katex = check_docs.katex_dir(tmp_path/'cache')
    if katex is None:
        if os.environ.get('IMBGAN_REQUIRE_BROWSER'): pytest.fail("KaTeX could not be downloaded from the npm registry")
        pytest.skip("KaTeX could not be downloaded from the npm registry (offline)")
    cdn = f"https://cdn.jsdelivr.net/npm/katex@{check_docs.KATEX[0]}/dist"
    head = (f"<link rel='stylesheet' href='{cdn}/katex.min.css'><script src='{cdn}/katex.min.js' defer></script>"
            f"<script src='{cdn}/contrib/auto-render.min.js' defer></script><script defer src='render.js'></script>")
    nav = "<nav id='quarto-sidebar'>" + ''.join(f"<a href='index.html'>{i}</a>" for i in range(12)) + "</nav>"
    def site(name, formula):
        folder = tmp_path/name; folder.mkdir()
        (folder/'render.js').write_text("renderMathInElement(document.body, {delimiters: [{left: '\\\\(', right: '\\\\)', display: false}], throwOnError: false});")
        (folder/'index.html').write_text(f"<!DOCTYPE html><html><head>{head}</head><body>{nav}<main><span class='math inline'>\\({formula}\\)</span></main></body></html>")
        return folder
    assert check_docs.check_browser(site('good', 'C(x) = \\frac{1}{2}'), katex, tmp_path/'shots') == []
    assert (tmp_path/'shots'/'index.png').stat().st_size > 1000                      # a screenshot of the page
    bad = check_docs.check_browser(site('bad', '\\frac{1}{'), katex)
    assert len(bad) == 1 and 'not typeset' in bad[0], bad


def test_a_missing_or_thin_lab_plan_is_seen(tmp_path):
    "Instructors need the lab plan: a page linked from the home page with cold and cached times for every notebook and two plans."
    table = "<table><tr><th>notebook</th><th>cold min</th><th>cached min</th><th>from the pack</th><th>ends at min</th></tr>" \
            "<tr><td>00_core</td></tr><tr><td>06_dcgan</td></tr></table>"
    pages = lambda index, plan: check_docs.check_site(_site(tmp_path/f"s{len(index)}{len(plan)}", {'index.html': index, **plan}), URL)[1]
    good = pages("<a href='14c_lab_plan.html'>lab plan</a>", {'14c_lab_plan.html': table})
    assert check_docs.check_lab_plan(good, ['index', '00_core', '06_dcgan']) == []
    assert 'no lab plan page' in check_docs.check_lab_plan(pages("home", {}), ['00_core'])[0]
    unlinked = check_docs.check_lab_plan(pages("home", {'14c_lab_plan.html': table}), ['00_core'])
    assert len(unlinked) == 1 and 'does not link the lab plan' in unlinked[0]
    thin = check_docs.check_lab_plan(good, ['00_core', '06_dcgan', '07_cgan'])
    assert len(thin) == 1 and '07_cgan' in thin[0]
    no_times = check_docs.check_lab_plan(pages("<a href='14c_lab_plan.html'>x</a>", {'14c_lab_plan.html': '<p>00_core</p>'}), ['00_core'])
    assert len(no_times) == 4
