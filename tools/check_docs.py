"""The documentation check: build the site from the notebooks as nbdev's docs build does, render it, and check it.

Quarto cannot be installed on an offline machine, so this builds with nbdev's own steps (`refresh_quarto_yml`,
`nbdev_sidebar`, then each notebook through `nbdev.serve_drv`, exactly what `nbdev.serve.proc_nbs` runs) and renders
the processed project with `smalldocs`, a pure-Python renderer of `_quarto.yml` projects. The real site is still
built by Quarto in `.github/workflows/deploy.yaml`. Everything happens in a copy of the repository under a temp
folder, with an empty data cache that must stay empty (the docs build trains nothing and downloads nothing).

It fails on: a notebook that fails to process, a notebook without a page, a broken internal link or anchor, a
traceback in an output, an output block of more than MAX_LINES lines, an absolute machine path in a page, and (with
a browser) a page whose sidebar, figure or API anchor is missing. Prints its time.

    python tools/check_docs.py [--browser] [--keep DIR]

`--browser` also opens the index and a GAN page in Debian's chromium through playwright; it is required (a missing
browser is a failure) when IMBGAN_REQUIRE_BROWSER is set, and tried when it is available otherwise.
"""
import argparse, json, os, re, shutil, subprocess, sys, tempfile, time
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 300
NB_TIMEOUT = 240   # seconds for one notebook: imports, exported cells and show_doc only, so a few seconds each
# An absolute path into a home folder, the root user's folder or a temp folder: a note about one machine.
MACHINE_PATH = re.compile(r"(?<![\w.])(/root/|/home/\w|/Users/\w|/tmp/\w|/var/folders/|/private/var/|[A-Z]:\\\\Users\\\\)")
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|^\w*Error: ", re.M)
GAN_PAGE = '06_dcgan'          # the GAN page the browser opens
GAN_API_ANCHOR = 'make_dcgan'  # an API anchor it must hold
CHROMIUM = '/usr/bin/chromium'
# smalldocs' warnings about what it leaves to Quarto (a commonmark copy, keep-md, nbdev's output-file names) are not
# faults of the site; its broken-link warnings are re-checked below, with nbdev's absolute doc links and anchors too.
SMALLDOCS_LIMITS = re.compile(r"is not built: smalldocs makes only html|is ignored|is not read by smalldocs|broken link")


def _copy_repo(dest:Path) -> Path:
    ignore = shutil.ignore_patterns('.git', '_proc', '_docs', '__pycache__', '*.egg-info', 'imbgan_runs', '.pytest_cache')
    shutil.copytree(ROOT, dest, symlinks=True, ignore=ignore)
    return dest


def _process(repo:Path, nb:Path, env:dict) -> tuple[str, float, str]:
    "Process one notebook as `proc_nbs` does; (name, seconds, error text or '')."
    code = ("import sys; from pathlib import Path; import nbdev.serve_drv as d; from nbdev.processors import FilterDefaults\n"
            "d.main((Path(sys.argv[1]), Path(sys.argv[2]), FilterDefaults))")
    dst = repo/'_proc'/nb.relative_to(repo/'nbs')
    t0 = time.perf_counter()
    try: res = subprocess.run([sys.executable, '-c', code, str(nb), str(dst)], cwd=repo, env=env, capture_output=True, text=True,
                              timeout=NB_TIMEOUT)
    except subprocess.TimeoutExpired:
        return nb.name, time.perf_counter() - t0, f"still running after {NB_TIMEOUT} s: a cell with an import also trains or loads data?"
    if res.returncode == 0 and dst.exists(): return nb.name, time.perf_counter() - t0, ''
    lines = res.stderr.strip().splitlines() or ['(no message)']
    causes = [l.strip() for l in lines if re.match(r'\s*[\w.]*(Error|Exception)\b.*:', l)]   # the root cause comes first
    return nb.name, time.perf_counter() - t0, '\n    '.join(causes[:1] + lines[-4:])


def _output_texts(nb:dict):
    "(cell index, text) of every text output of a notebook."
    for i, cell in enumerate(nb['cells']):
        for out in cell.get('outputs', []):
            if out.get('output_type') == 'error': yield i, '\n'.join(out.get('traceback', [])) or 'Traceback (most recent call last): error output'
            texts = [out.get('text', '')] + [v for k, v in out.get('data', {}).items() if k.startswith('text/') and k != 'text/html']
            for t in texts: yield i, ''.join(t) if isinstance(t, list) else t


def _text_outputs(cell) -> list[str]:
    return [''.join(t) if isinstance(t, list) else t for out in cell.get('outputs', [])
            for t in [out.get('text', '')] + [v for k, v in out.get('data', {}).items() if k.startswith('text/')]]


def check_outputs_kept(nbs:Path, proc:Path) -> list[str]:
    "The site shows the committed outputs: a cell the docs build does not run keeps its text outputs unchanged."
    problems = []
    for path in sorted(proc.glob('*.ipynb')):
        committed = {c.get('id'): c for c in json.loads((nbs/path.name).read_text())['cells']}
        for cell in json.loads(path.read_text())['cells']:
            old = committed.get(cell.get('id'))
            if old is None or cell['cell_type'] != 'code' or not old.get('outputs'): continue
            src = ''.join(old['source'])
            if 'show_doc' in src or re.search(r'^\s*#\|\s*(export|exports|exporti|exec_doc)\b', src, re.M): continue
            if _text_outputs(cell) != _text_outputs(old):
                problems.append(f"{path.name}: the docs build changed the output of {src[:80]!r} (it ran at docs time)")
    return problems


def check_processed(proc:Path) -> list[str]:
    "Problems in the processed notebooks: tracebacks, long output blocks, machine paths (in outputs and prose)."
    problems = []
    for path in sorted(proc.glob('*.ipynb')):
        nb = json.loads(path.read_text())
        for i, text in _output_texts(nb):
            if TRACEBACK.search(text): problems.append(f"{path.name} cell {i}: a traceback in an output: {text.strip()[:200]!r}")
            if text.count('\n') > MAX_LINES: problems.append(f"{path.name} cell {i}: an output block of {text.count(chr(10))} lines (> {MAX_LINES})")
            if m := MACHINE_PATH.search(text): problems.append(f"{path.name} cell {i}: a machine path in an output: ...{text[max(0, m.start()-40):m.end()+40]!r}...")
        for i, cell in enumerate(nb['cells']):
            src = ''.join(cell['source']) if isinstance(cell['source'], list) else cell['source']
            if cell['cell_type'] == 'markdown' and (m := MACHINE_PATH.search(src)):
                problems.append(f"{path.name} cell {i}: a machine path in the prose: ...{src[max(0, m.start()-40):m.end()+40]!r}...")
    return problems


class _Page(HTMLParser):
    "The ids, links, images and visible text of one HTML page."
    def __init__(self):
        super().__init__(); self.ids, self.links, self.imgs, self.text, self._skip = set(), [], [], [], 0
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get('id'): self.ids.add(a['id'])
        if tag == 'a' and a.get('href'): self.links.append(a['href'])
        if tag == 'img' and a.get('src'): self.imgs.append(a['src'])
        if tag in ('script', 'style'): self._skip += 1
    def handle_endtag(self, tag):
        if tag in ('script', 'style'): self._skip -= 1
    def handle_data(self, data):
        if not self._skip: self.text.append(data)


def check_site(site:Path, doc_url:str) -> tuple[list[str], dict]:
    "Problems in the rendered pages: broken internal links and anchors (including nbdev's absolute doc links), machine paths."
    pages, problems, missing = {}, [], {}
    for path in sorted(site.rglob('*.html')):
        p = _Page(); p.feed(path.read_text(encoding='utf-8')); pages[path.relative_to(site).as_posix()] = p
    # nbdev links symbols to `{doc_host}{doc_baseurl}/core.html#get_preset`: Quarto drops the number prefix of a
    # notebook's name, smalldocs keeps it (00_core.html), so map Quarto's names onto the pages written here.
    quarto_name = {re.sub(r'^\d+[a-zA-Z0-9]*_', '', k): k for k in pages}
    for name, page in pages.items():
        for href in page.links:
            target = None
            if href.startswith(doc_url):
                rest = urlsplit(href[len(doc_url):].lstrip('/'))
                target, frag = quarto_name.get(rest.path or 'index.html', rest.path), unquote(rest.fragment)
            elif not re.match(r'^[a-z][a-z0-9+.-]*:|^//', href):
                parts = urlsplit(href)
                target = (Path(name).parent/unquote(parts.path)).as_posix() if parts.path else name
                target, frag = os.path.normpath(target), unquote(parts.fragment)
                if not target.endswith('.html'):
                    if not (site/target).exists(): problems.append(f"{name}: broken link {href}")
                    continue
            if target is None: continue
            if target not in pages: missing.setdefault(target, set()).add(name)
            elif frag and frag not in pages[target].ids: problems.append(f"{name}: broken anchor {href} (no id {frag!r} in {target})")
        text = ''.join(page.text)
        if m := MACHINE_PATH.search(text): problems.append(f"{name}: a machine path in the page: ...{text[max(0, m.start()-40):m.end()+40]!r}...")
    for target, sources in sorted(missing.items()):
        problems.append(f"broken link: {len(sources)} page(s) link to {target}, which is not in the site ({', '.join(sorted(sources)[:3])}...)")
    return problems, pages


def check_browser(site:Path) -> list[str]:
    "Open the index and a GAN page in chromium: the sidebar, a figure and an API anchor must be there."
    from playwright.sync_api import sync_playwright
    problems = []
    args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
            '--no-first-run', '--disable-sync', '--disable-quic']
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            page = browser.new_page()
            for name, want_fig, anchor in (('index.html', False, None), (f'{GAN_PAGE}.html', True, GAN_API_ANCHOR)):
                page.goto((site/name).as_uri())
                links = page.locator('#quarto-sidebar a').count()
                if links < 10: problems.append(f"browser, {name}: the sidebar shows {links} links (expected one per notebook)")
                if want_fig:
                    imgs = page.locator('main img').evaluate_all('els => els.filter(e => e.complete && e.naturalWidth > 50).length')
                    if imgs < 1: problems.append(f"browser, {name}: no figure is displayed")
                if anchor:
                    page.goto((site/name).as_uri() + f'#{anchor}')
                    if page.locator(f'[id="{anchor}"]').count() != 1 or not page.locator(f'[id="{anchor}"]').is_visible():
                        problems.append(f"browser, {name}: the API anchor #{anchor} is missing or hidden")
        finally: browser.close()
    return problems


def browser_here() -> str:
    "'' when playwright and chromium are here, else what is missing."
    missing = [] if Path(CHROMIUM).exists() else [CHROMIUM]
    try: import playwright.sync_api  # noqa: F401
    except ImportError: missing.append('playwright (pip)')
    return ', '.join(missing)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--browser', action='store_true', help='also check two pages in chromium (default: when it is available)')
    ap.add_argument('--keep', help='copy the rendered site to this folder')
    args = ap.parse_args(argv)
    t0, problems = time.perf_counter(), []
    with tempfile.TemporaryDirectory(prefix='imbgan-docs-') as tmp:
        tmp = Path(tmp); repo, cache = _copy_repo(tmp/'repo'), tmp/'data-cache'
        cache.mkdir()
        env = {**os.environ, 'PYTHONPATH': str(repo), 'IMBGAN_DATA': str(cache), 'MPLBACKEND': 'Agg', 'HOME': str(tmp/'home'),
               'MPLCONFIGDIR': str(tmp/'mpl'), 'PYDEVD_DISABLE_FILE_VALIDATION': '1'}
        env.pop('IN_TEST', None)
        prep = ("from nbdev.quarto import refresh_quarto_yml, nbdev_sidebar\n"
                "refresh_quarto_yml(); nbdev_sidebar.__wrapped__()")
        res = subprocess.run([sys.executable, '-c', prep], cwd=repo, env=env, capture_output=True, text=True)
        if res.returncode: print(f"nbdev_sidebar failed:\n{res.stderr}"); return 1
        nbs, proc = sorted((repo/'nbs').glob('*.ipynb')), repo/'_proc'
        proc.mkdir()
        for f in (repo/'nbs').iterdir():   # what proc_nbs copies beside the notebooks (_quarto.yml is followed, not linked)
            if f.is_file() and f.suffix != '.ipynb' and not f.name.startswith('.'): shutil.copy2(f, proc/f.name)
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            results = list(pool.map(lambda nb: _process(repo, nb, env), nbs))
        t_proc = time.perf_counter() - t0
        for name, secs, err in results:
            if err: problems.append(f"{name}: failed to process ({secs:.0f} s):\n    {err}")
        slowest = sorted(results, key=lambda r: -r[1])[:3]
        print(f"processed {len(nbs)} notebooks in {t_proc:.0f} s (slowest: {', '.join(f'{n} {s:.0f} s' for n, s, _ in slowest)})")
        written = [p.relative_to(cache).as_posix() for p in cache.rglob('*')]
        if written: problems.append(f"the docs build wrote to the data cache (it must train and load nothing): {written[:5]}")
        problems += check_processed(proc) + check_outputs_kept(repo/'nbs', proc)

        try: from smalldocs.site import build
        except ImportError: print('FAIL smalldocs is not installed: pip install -e ".[dev]" (Python 3.11 or newer)'); return 1
        site = build(proc, quiet=True)
        notes = [w for w in site.warnings if SMALLDOCS_LIMITS.search(w)]   # what smalldocs leaves to Quarto; links: checked below
        problems += [f"smalldocs: {w}" for w in site.warnings if w not in notes]
        out = site.out
        problems_site, pages = check_site(out, _doc_url(repo))
        problems += problems_site
        for nb in nbs:
            if f"{nb.stem}.html" not in pages: problems.append(f"{nb.name}: no page in the site")
        print(f"rendered {len(pages)} pages with smalldocs; checked links, anchors, outputs and paths")
        missing = browser_here()
        if args.browser or os.environ.get('IMBGAN_REQUIRE_BROWSER') or not missing:
            if missing: problems.append(f"the browser check needs {missing}")
            else:
                problems += check_browser(out)
                print(f"opened index.html and {GAN_PAGE}.html in chromium")
        else: print(f"browser check skipped: no {missing}")
        if args.keep:
            shutil.rmtree(args.keep, ignore_errors=True); shutil.copytree(out, args.keep)
    for p in problems: print(f"FAIL {p}")
    print(f"docs check: {'FAILED, ' + str(len(problems)) + ' problem(s)' if problems else 'passed'} in {time.perf_counter() - t0:.0f} s")
    return 1 if problems else 0


def _doc_url(repo:Path) -> str:
    "The published site's address, from settings.ini, as nbdev writes it into doc links."
    from configparser import ConfigParser
    cfg = ConfigParser(); cfg.read(repo/'settings.ini')
    return (cfg['DEFAULT']['doc_host'] + cfg['DEFAULT']['doc_baseurl']).rstrip('/') + '/'


if __name__ == '__main__': sys.exit(main())
