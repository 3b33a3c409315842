"""The documentation check: build the site from the notebooks as nbdev's docs build does, render it, and check it.

Quarto cannot be installed on an offline machine, so this builds with nbdev's own steps (`refresh_quarto_yml`,
`nbdev_sidebar`, then each notebook through `nbdev.serve_drv`, exactly what `nbdev.serve.proc_nbs` runs) and renders
the processed project with `smalldocs`, a pure-Python renderer of `_quarto.yml` projects. The real site is still
built by Quarto in `.github/workflows/deploy.yaml`. Everything happens in a copy of the repository under a temp
folder, with an empty data cache that must stay empty (the docs build trains nothing and downloads nothing).

It fails on what a reader would see:
- a notebook that fails to process, a notebook without a page, a heading of a notebook missing from its page or out
  of order (a page cut short), a broken internal link or anchor;
- in a page: a traceback, an output block of more than MAX_LINES lines, an absolute machine path, a widget's text
  repr (`VBox(children=...`), a progress bar's frozen text, a `__main__.` type name, maths left as raw `$` or `\\(`;
- in the notebooks' prose and docstrings: a raw HTML tag that is not HTML (`<title>`): Quarto reads it as HTML, and
  the rest of the page can vanish;
- with a browser (chromium through playwright, every page): a missing sidebar, figure or API anchor, and maths not
  typeset. KaTeX, which the pages load from a CDN, is served to the browser from a local copy (downloaded once from the
  npm registry and checked against its published sha512), so maths is checked offline while the published site keeps
  the CDN. A screenshot of every page goes to `$IMBGAN_ARTIFACTS/docs/` when that is set.
Prints its time.

    python tools/check_docs.py [--browser] [--keep DIR]

`--browser` is required (a missing browser is a failure) when IMBGAN_REQUIRE_BROWSER is set, and tried when it is
available otherwise.
"""
import argparse, base64, hashlib, io, json, os, re, shutil, subprocess, sys, tarfile, tempfile, time, urllib.request
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
# What a page must not show. ipywidgets' text repr (a live widget shown as text), tqdm's frozen bars, a type name of a
# notebook's own namespace, maths that no typesetter saw.
WIDGET_REPR = re.compile(r"\b[A-Z]\w*\(children=\(")
PROGRESS_BAR = re.compile(r"\b\d+it \[\d+:\d+|\b\d+/\d+ \[\d+:\d+|\d+%\|[^|\n]{0,40}\|")
MAIN_MODULE = re.compile(r"\b__main__\.")
RAW_MATH = re.compile(r"(?<![\\\w])\$[^$\s][^$\n]{0,200}?\$|\\\(|\\\[")
# HTML that prose and docstrings may hold; any other `<word>` is read as a tag by Quarto's pandoc (`<title>` ends a page)
HTML_TAGS = set('a abbr b blockquote br code dd del details div dl dt em figcaption figure h1 h2 h3 h4 h5 h6 hr i iframe img '
                'ins kbd li mark ol p pre s small source span strong sub summary sup table tbody td tfoot th thead tr u ul '
                'video svg g path rect circle line text'.split())
KATEX = ('0.16.11', 'sha512-RQrI8rlHY92OLf3rho/Ts8i/XvjgguEjOkO1BEXcU3N8BqPpSzBNwV/G0Ukr+P/l3ivvJUE/Fa/CwbS6HesGNQ==')
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


_VOID = {'area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr'}

class _Page(HTMLParser):
    "The ids, links, images, visible text (all of it, and the prose alone) and the main content's headings of one HTML page."
    def __init__(self):
        super().__init__(); self.ids, self.links, self.imgs, self.text, self.prose, self.headings = set(), [], [], [], [], []
        self._open = []                                       # (tag, hidden, code or maths, in main) of each open element
    def _flag(self, i): return any(o[i] for o in self._open)
    def handle_starttag(self, tag, attrs):
        a = dict(attrs); cls = (a.get('class') or '').split()
        if a.get('id'): self.ids.add(a['id'])
        if tag == 'a' and a.get('href'): self.links.append(a['href'])
        if tag == 'img' and a.get('src'): self.imgs.append(a['src'])
        if tag in ('h1', 'h2', 'h3', 'h4') and self._flag(3) and a.get('id') != 'toc-title': self.headings.append('')
        if tag not in _VOID:
            self._open.append((tag, tag in ('script', 'style'), tag in ('code', 'pre') or 'math' in cls, tag == 'main'))
    def handle_endtag(self, tag):
        if any(o[0] == tag for o in self._open):              # close up to the matching tag (HTML forgives unclosed ones)
            while self._open.pop()[0] != tag: pass
    def handle_data(self, data):
        if self._flag(1): return
        self.text.append(data)
        if not self._flag(2): self.prose.append(data)
        if any(o[0] in ('h1', 'h2', 'h3', 'h4') for o in self._open) and self.headings: self.headings[-1] += data


LAB_PLAN = '14c_lab_plan.html'

def check_lab_plan(pages:dict, notebooks:list) -> list[str]:
    "The instructors' lab plan: a page, linked from the home page, whose tables give cold and cached times for every notebook."
    if LAB_PLAN not in pages: return [f"no lab plan page ({LAB_PLAN}): instructors have no page that says what fits a lab period"]
    problems, text = [], ''.join(pages[LAB_PLAN].text)
    if not any(h.split('#')[0].endswith(LAB_PLAN) for h in pages.get('index.html', _Page()).links):
        problems.append(f"the home page does not link the lab plan ({LAB_PLAN})")
    for column in ('cold min', 'cached min', 'from the pack', 'ends at min'):
        if column not in text: problems.append(f"{LAB_PLAN}: no {column!r} in its tables (the times or the 90-minute plans are missing)")
    missing = [n for n in notebooks if n[0].isdigit() and n not in text]
    if missing: problems.append(f"{LAB_PLAN}: its table leaves out {len(missing)} notebook(s): {', '.join(missing[:4])}")
    return problems


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
        problems += check_page_text(name, page)
    for target, sources in sorted(missing.items()):
        problems.append(f"broken link: {len(sources)} page(s) link to {target}, which is not in the site ({', '.join(sorted(sources)[:3])}...)")
    return problems, pages


def _shown(text:str, m) -> str: return repr(text[max(0, m.start() - 40):m.end() + 40])

def check_page_text(name:str, page:_Page) -> list[str]:
    "What a reader must not see in a page: a widget's repr, a frozen progress bar, a `__main__.` type, raw maths in prose."
    text, prose, problems = ''.join(page.text), ''.join(page.prose), []
    for what, pattern, where in (("a widget shown as its text repr (show a picture of it on the site)", WIDGET_REPR, text),
                                 ("a progress bar's frozen text in an output", PROGRESS_BAR, text),
                                 ("a type named `__main__.` (annotate with the kit's own class)", MAIN_MODULE, text),
                                 ("maths left as raw text (escape a dollar sign meant as text: \\$)", RAW_MATH, prose)):
        if m := pattern.search(where): problems.append(f"{name}: {what}: ...{_shown(where, m)}...")
    return problems


def _words(s:str) -> str:
    "A heading as comparable text: no markdown marks, no maths, lower case, single spaces."
    s = re.sub(r"\$[^$]*\$|\\\(.*?\\\)", ' ', s)
    s = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", s)
    s = s.translate(str.maketrans("\u2018\u2019\u201c\u201d\u2013\u2014", "''\"\"--"))   # the typographic quotes a renderer may use
    return ' '.join(re.sub(r"[`*]|\\", '', s).lower().split())


def notebook_headings(nb:dict) -> list[str]:
    "The headings of a notebook's markdown, in order, outside code fences and callout blocks (their titles render apart)."
    out = []
    for cell in nb['cells']:
        if cell['cell_type'] != 'markdown': continue
        fence = callout = False
        for line in (''.join(cell['source']) if isinstance(cell['source'], list) else cell['source']).splitlines():
            if line.lstrip().startswith('```'): fence = not fence; continue
            if line.startswith(':::'): callout = line.strip() != ':::' ; continue
            if not fence and not callout and (m := re.match(r"(#{2,4})\s+(.+)", line)): out.append(_words(m.group(2)))
    return [h for h in out if h]


def check_headings(proc:Path, pages:dict) -> list[str]:
    "Every heading of a notebook appears among its page's headings, in order: a page cut short loses its last ones."
    problems = []
    for path in sorted(proc.glob('*.ipynb')):
        page = pages.get(f"{path.stem}.html")
        if page is None: continue
        shown, at = [_words(h) for h in page.headings], 0
        for h in notebook_headings(json.loads(path.read_text())):
            hit = next((i for i in range(at, len(shown)) if shown[i] == h), None)
            if hit is None:
                problems.append(f"{path.stem}.html: the heading {h!r} of the notebook is not on the page (or not in order): the page "
                                "is cut before it, or the heading is not rendered"); break
            at = hit + 1
    return problems


def check_raw_html(proc:Path) -> list[str]:
    "Tags in the notebooks' prose and docstrings (show_doc outputs) that are not HTML: Quarto treats them as HTML all the same."
    problems = []
    for path in sorted(proc.glob('*.ipynb')):
        for i, cell in enumerate(json.loads(path.read_text())['cells']):
            texts = [cell['source']] if cell['cell_type'] == 'markdown' else [
                out.get('data', {}).get('text/markdown', '') for out in cell.get('outputs', [])]
            for t in texts:
                t = ''.join(t) if isinstance(t, list) else t
                t = re.sub(r"```.*?```|`[^`\n]*`", '', t, flags=re.S)         # code is shown as written
                for m in re.finditer(r"<(/?)([A-Za-z][\w-]*)[^<>]*>", t):
                    if m.group(2).lower() not in HTML_TAGS:
                        problems.append(f"{path.name} cell {i}: a raw <{m.group(2)}> in prose or a docstring, which Quarto reads as "
                                        f"HTML (the rest of the page can vanish): write it in backticks or as &lt;{m.group(2)}&gt;"); break
    return problems


def katex_dir(cache:Path|None=None) -> Path|None:
    "A local copy of the KaTeX the pages load from a CDN: downloaded once from the npm registry, checked against its sha512; None offline."
    version, integrity = KATEX
    cache = cache or Path(os.environ.get('IMBGAN_DOCS_CACHE') or Path.home()/'.cache'/'imbgan_nb_docs')
    folder = cache/f'katex-{version}'
    if (folder/'katex.min.js').exists(): return folder
    try: blob = urllib.request.urlopen(f"https://registry.npmjs.org/katex/-/katex-{version}.tgz", timeout=30).read()
    except OSError: return None
    if 'sha512-' + base64.b64encode(hashlib.sha512(blob).digest()).decode() != integrity:
        raise SystemExit(f"FAIL the KaTeX {version} download does not match its published sha512: not used")
    tmp = cache/f'.katex-{version}.{os.getpid()}'
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        members = [m for m in tar.getmembers() if m.isfile() and m.name.startswith('package/dist/')]
        for m in members:
            dest = tmp/m.name[len('package/dist/'):]
            dest.parent.mkdir(parents=True, exist_ok=True); dest.write_bytes(tar.extractfile(m).read())
    os.replace(tmp, folder)
    return folder


def check_browser(site:Path, katex:Path|None=None, shots:Path|None=None) -> list[str]:
    """Open every page in chromium: the sidebar must list the notebooks, the GAN page show a figure and its API anchor,
    and (with `katex`, a local copy served in place of the CDN) every formula be typeset. A screenshot of each page goes to `shots`."""
    from playwright.sync_api import sync_playwright
    problems = []
    args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
            '--no-first-run', '--disable-sync', '--disable-quic']
    def route(r):
        m = re.match(r"https://cdn\.jsdelivr\.net/npm/katex@([\d.]+)/dist/(.+)", r.request.url)
        if katex is None or m is None: return r.abort()                         # offline: nothing else is fetched
        if m.group(1) != KATEX[0]: problems.append(f"the pages load KaTeX {m.group(1)}: set KATEX in tools/check_docs.py to it")
        local = katex/m.group(2).split('?')[0]
        return r.fulfill(path=str(local)) if local.is_file() else r.abort()
    if shots: shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            page = browser.new_page(viewport={'width': 1280, 'height': 900})
            page.route(re.compile(r"^https?://"), route)
            for path in sorted(site.glob('*.html')):
                name = path.name
                page.goto(path.as_uri(), wait_until='load')
                links = page.locator('#quarto-sidebar a').count()
                if links < 10: problems.append(f"browser, {name}: the sidebar shows {links} links (expected one per notebook)")
                if katex is not None:
                    page.wait_for_timeout(200)                                   # auto-render runs on DOMContentLoaded
                    raw = page.locator('.math').evaluate_all('els => els.filter(e => !e.querySelector(".katex")).map(e => e.textContent.slice(0, 60))')
                    if raw: problems.append(f"browser, {name}: {len(raw)} formula(s) not typeset, e.g. {raw[0]!r}")
                if name == f'{GAN_PAGE}.html':
                    imgs = page.locator('main img').evaluate_all('els => els.filter(e => e.complete && e.naturalWidth > 50).length')
                    if imgs < 1: problems.append(f"browser, {name}: no figure is displayed")
                    page.goto(path.as_uri() + f'#{GAN_API_ANCHOR}')
                    if page.locator(f'[id="{GAN_API_ANCHOR}"]').count() != 1 or not page.locator(f'[id="{GAN_API_ANCHOR}"]').is_visible():
                        problems.append(f"browser, {name}: the API anchor #{GAN_API_ANCHOR} is missing or hidden")
                if shots: page.screenshot(path=str(shots/f"{path.stem}.png"), full_page=True)
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
        problems += check_processed(proc) + check_outputs_kept(repo/'nbs', proc) + check_raw_html(proc)

        try: from smalldocs.site import build
        except ImportError: print('FAIL smalldocs is not installed: pip install -e ".[dev]" (Python 3.11 or newer)'); return 1
        site = build(proc, quiet=True)
        notes = [w for w in site.warnings if SMALLDOCS_LIMITS.search(w)]   # what smalldocs leaves to Quarto; links: checked below
        problems += [f"smalldocs: {w}" for w in site.warnings if w not in notes]
        out = site.out
        problems_site, pages = check_site(out, _doc_url(repo))
        problems += problems_site + check_headings(proc, pages) + check_lab_plan(pages, [nb.stem for nb in nbs])
        for nb in nbs:
            if f"{nb.stem}.html" not in pages: problems.append(f"{nb.name}: no page in the site")
        print(f"rendered {len(pages)} pages with smalldocs; checked links, anchors, outputs and paths")
        missing = browser_here()
        if args.browser or os.environ.get('IMBGAN_REQUIRE_BROWSER') or not missing:
            if missing: problems.append(f"the browser check needs {missing}")
            else:
                katex = katex_dir()
                if katex is None:
                    if os.environ.get('IMBGAN_REQUIRE_BROWSER'): problems.append("the maths check needs KaTeX: the npm registry could not be reached")
                    else: print("maths check skipped: KaTeX could not be downloaded from the npm registry (offline)")
                shots = Path(os.environ['IMBGAN_ARTIFACTS'])/'docs' if os.environ.get('IMBGAN_ARTIFACTS') else None
                problems += check_browser(out, katex, shots)
                print("opened every page in chromium" + (", maths typeset with a local KaTeX" if katex else '') +
                      (f", screenshots in {shots.name}/" if shots else ''))
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
