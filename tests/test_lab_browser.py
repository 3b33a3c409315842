"""The live lab in a real JupyterLab, driven by headless Chromium: run the lab notebook, move the ratio slider, change
the oversampler, and check that the distribution, the images and the metrics on the page change accordingly.

Needs Python `playwright` (the dev extras) and Debian's `chromium` (`apt-get install chromium`); playwright's own
browser download is not used. Where IMBGAN_REQUIRE_BROWSER is set (.ci/run sets it), a missing browser is a failure,
not a skip. A screenshot of the lab goes to $IMBGAN_ARTIFACTS, else to an `artifacts` folder in pytest's basetemp."""
import json, os, re, secrets, shutil, socket, subprocess, sys, time, urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path('/usr/bin/chromium')
CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
                  '--no-first-run', '--disable-sync', '--disable-quic']
RUN_ALL_TIMEOUT_MS = 600_000   # the whole lab notebook at the ci preset, generators and extractor trained from scratch
UPDATE_TIMEOUT_MS = 180_000    # one lab update


def _need_browser():
    missing = []
    try: import playwright.sync_api  # noqa: F401
    except ImportError: missing.append('Python playwright (pip install -e ".[dev]")')
    if not CHROMIUM.exists(): missing.append(f'{CHROMIUM} (apt-get install chromium)')
    try: import jupyterlab, jupyterlab_widgets  # noqa: F401
    except ImportError: missing.append('jupyterlab and jupyterlab_widgets (pip install -e .)')
    if missing:
        if os.environ.get('IMBGAN_REQUIRE_BROWSER'):   # .ci/run installs them and sets this: missing is a failure there
            pytest.fail(f"the browser test is required here but lacks: {', '.join(missing)}")
        pytest.skip(f"no real browser here: {', '.join(missing)}")


@pytest.fixture(scope='session')
def browser():
    "One headless Debian Chromium for the session (playwright allows one sync_playwright per process)."
    _need_browser()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope='session')
def artifacts(tmp_path_factory):
    "One folder for the session's screenshots (both browser tests write there)."
    folder = Path(os.environ['IMBGAN_ARTIFACTS']) if os.environ.get('IMBGAN_ARTIFACTS') else tmp_path_factory.getbasetemp()/'artifacts'
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _lab_notebook(dest:Path) -> Path:
    "The real lab notebook, without its committed outputs and its hidden nbdev_export cell (which would write the package)."
    nb = json.loads((ROOT/'nbs'/'14_lab.ipynb').read_text())
    nb['cells'] = [c for c in nb['cells'] if 'nbdev_export()' not in ''.join(c['source'])]
    for c in nb['cells']:
        if c['cell_type'] == 'code': c['outputs'], c['execution_count'] = [], None   # so that every output seen is this run's
    assert any('Lab()' in ''.join(c['source']) for c in nb['cells']), "the lab notebook no longer builds a Lab"
    path = dest/'14_lab.ipynb'
    path.write_text(json.dumps(nb))
    return path


def _toy_notebook(dest:Path) -> Path:
    "The plane lab's own cell from 04a (the widget built and shown), after the import it needs."
    source = json.loads((ROOT/'nbs'/'04a_gan_playground.ipynb').read_text())
    cells = source['cells']
    build = [c for c in cells if c['cell_type'] == 'code' and ''.join(c['source']).startswith('toy_lab = ToyLab(')]
    assert len(build) == 1, "04a no longer builds its ToyLab in one cell"
    code = lambda i, s: {'cell_type': 'code', 'id': f'toy-lab-{i}', 'metadata': {}, 'execution_count': None, 'outputs': [], 'source': s}
    nb = {'cells': [code(0, 'from imbgan_nb.toy import ToyLab'), code(1, ''.join(build[0]['source']))],
          'metadata': source['metadata'], 'nbformat': 4, 'nbformat_minor': 5}    # the kernel the real notebook names
    path = dest/'04a_toy_lab.ipynb'
    path.write_text(json.dumps(nb))
    return path


@pytest.fixture
def jupyter_lab(tmp_path):
    "A JupyterLab server on a free loopback port, with its own HOME and Jupyter folders; yields (base url, token, notebook)."
    _need_browser()
    home, work = tmp_path/'home', tmp_path/'work'
    for d in (home, work): d.mkdir()
    settings = home/'lab-settings'/'@jupyterlab'/'apputils-extension'
    settings.mkdir(parents=True)
    (settings/'notification.jupyterlab-settings').write_text(json.dumps({'fetchNews': 'false'}))   # no news toast over the page
    notebook = home/'lab-settings'/'@jupyterlab'/'notebook-extension'
    notebook.mkdir(parents=True)
    (notebook/'tracker.jupyterlab-settings').write_text(json.dumps({'windowingMode': 'none'}))       # every cell stays in the page
    nb = _lab_notebook(work)
    _toy_notebook(work)
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, 'HOME': str(home), 'JUPYTER_CONFIG_DIR': str(home/'config'), 'JUPYTER_DATA_DIR': str(home/'data'),
           'JUPYTER_RUNTIME_DIR': str(home/'runtime'), 'JUPYTERLAB_SETTINGS_DIR': str(home/'lab-settings'),
           'JUPYTERLAB_WORKSPACES_DIR': str(home/'workspaces'), 'IPYTHONDIR': str(home/'ipython'),
           'MPLCONFIGDIR': str(home/'mpl'), 'IMBGAN_PRESET': 'ci', 'MPLBACKEND': 'module://matplotlib_inline.backend_inline',
           'PYTHONPATH': os.pathsep.join([str(ROOT), *filter(None, [os.environ.get('PYTHONPATH')])])}
    env.setdefault('IMBGAN_DATA', str(home/'imbgan-cache'))   # a fresh cache unless the caller chose one
    cmd = [sys.executable, '-m', 'jupyter', 'lab', '--no-browser', '--ServerApp.ip=127.0.0.1', f'--ServerApp.port={port}',
           '--ServerApp.port_retries=0', f'--IdentityProvider.token={token}', f'--ServerApp.root_dir={work}']
    if hasattr(os, 'geteuid') and os.geteuid() == 0: cmd.append('--allow-root')
    log = open(tmp_path/'jupyter.log', 'w')
    server = subprocess.Popen(cmd, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f'http://127.0.0.1:{port}'
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                pytest.fail(f"JupyterLab exited with {server.returncode}:\n{(tmp_path/'jupyter.log').read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f'{base}/api/status?token={token}', timeout=5) as r:
                    if r.status == 200: break
            except OSError: pass
            if time.monotonic() > deadline: pytest.fail(f"JupyterLab did not answer on {base} within 120 s")
            time.sleep(0.5)
        yield base, token, nb
    finally:
        server.terminate()
        try: server.wait(30)
        except subprocess.TimeoutExpired: server.kill(); server.wait()
        log.close()
        print(f"JupyterLab log: {tmp_path/'jupyter.log'}")


_PIXELS = """sel => { const img = document.querySelector(sel);
  if (!img || !img.complete || !img.naturalWidth) return null;
  const c = document.createElement('canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight;
  c.getContext('2d').drawImage(img, 0, 0); return c.toDataURL(); }"""


def _snapshot(page) -> dict:
    "What the lab shows now: status and metrics text, and the pixels of its figures."
    return {'status': page.text_content('.imbgan-lab-status'), 'metrics': page.text_content('.imbgan-lab-metrics'),
            'error': page.text_content('.imbgan-lab-error'),
            **{k: page.evaluate(_PIXELS, f'img.imbgan-lab-{k}') for k in ('distribution', 'images', 'nearest', 'confusions', 'history')}}


def _wait_for_update(page, *needles):
    "Wait until the lab's status says an update finished and mentions every needle."
    page.wait_for_function("""needles => { const s = document.querySelector('.imbgan-lab-status');
        return s && s.textContent.includes(' done: ') && needles.every(n => s.textContent.includes(n)); }""",
                           arg=list(needles), timeout=UPDATE_TIMEOUT_MS)


def test_lab_in_a_real_browser(browser, jupyter_lab, artifacts):
    base, token, nb = jupyter_lab
    page = browser.new_page(viewport={'width': 1500, 'height': 2000})
    page.set_default_timeout(120_000)
    errors = []
    page.on('pageerror', lambda e: errors.append(str(e)))
    try:
        page.goto(f'{base}/lab/tree/{nb.name}?token={token}')
        page.wait_for_function("() => document.querySelector('#jp-main-statusbar')?.textContent.includes('Idle')", timeout=120_000)
        page.get_by_role('menuitem', name='Run', exact=True).click()
        page.locator('li.lm-Menu-item[data-command="runmenu:run-all"]').click()
        # The notebook drives the lab itself, then its last cell shows the run clock: wait for that, and for the kernel.
        page.wait_for_selector('text=Outputs above:', timeout=RUN_ALL_TIMEOUT_MS)
        page.wait_for_function("() => document.querySelector('#jp-main-statusbar')?.textContent.includes('Idle')", timeout=120_000)
        assert page.locator('.jp-OutputArea-output:has-text("Traceback")').count() == 0, "a cell of the lab notebook failed"
        _wait_for_update(page, 'smote')
        page.locator('img.imbgan-lab-distribution').scroll_into_view_if_needed()
        before = _snapshot(page)
        assert before['error'].strip() == '' and 'minority recall' in before['metrics'] and 'smote' in before['metrics']
        assert all(before[k] for k in ('distribution', 'images', 'nearest', 'confusions', 'history')), "a figure did not render"

        # Move the ratio slider: type into its readout, as a student can (a drag is one request too).
        readout = page.locator('.imbgan-lab-ir .widget-readout')
        readout.click(); page.keyboard.press('Control+A'); page.keyboard.type('40'); page.keyboard.press('Enter')
        # The status gives the ratio reached: 40.0 on Fashion-MNIST (6,000 per class); on the digits standing in for it
        # (about 144 per class) the minority keeps a whole number of images, so the ratio reached is a little above 40.
        page.wait_for_function("""before => { const s = document.querySelector('.imbgan-lab-status');
            return s && s.textContent.includes(' done: ') && s.textContent.includes('smote') && s.textContent !== before; }""",
                               arg=before['status'], timeout=UPDATE_TIMEOUT_MS)
        ir = 'IR ' + re.search(r'IR ([\d.]+)', page.text_content('.imbgan-lab-status')).group(1)
        digits = page.locator('.imbgan-lab-dataset select').input_value() == 'digits'
        assert ir == 'IR 40.0' or (digits and 40 <= float(ir[3:]) < 50), ir
        _wait_for_update(page, ir, 'smote')
        moved = _snapshot(page)
        for k in ('distribution', 'images', 'nearest', 'metrics', 'history'): assert moved[k] != before[k], f"{k} did not change with the ratio"
        assert moved['error'].strip() == ''

        # Change the oversampler.
        page.select_option('.imbgan-lab-oversampler select', 'random')
        _wait_for_update(page, ir, 'random')
        changed = _snapshot(page)
        for k in ('distribution', 'images', 'nearest', 'metrics', 'confusions'): assert changed[k] != moved[k], f"{k} did not change with the oversampler"
        assert 'random' in changed['metrics'] and 'smote' not in changed['metrics'] and changed['error'].strip() == ''

        # Bad input shows in the lab: a ratio that leaves no minority image.
        readout.click(); page.keyboard.press('Control+A'); page.keyboard.type('1000'); page.keyboard.press('Enter')
        page.wait_for_function("() => document.querySelector('.imbgan-lab-error')?.textContent.includes('leaves no training image')",
                               timeout=UPDATE_TIMEOUT_MS)
        readout.click(); page.keyboard.press('Control+A'); page.keyboard.type('40'); page.keyboard.press('Enter')
        _wait_for_update(page, ir, 'random')
        page.wait_for_function("() => document.querySelector('.imbgan-lab-error')?.textContent.trim() === ''")
        assert not errors, errors
    finally:
        shot = artifacts/'lab_browser.png'
        lab = page.locator('.jp-OutputArea-output', has=page.locator('.imbgan-lab-status'))
        try: (lab if lab.count() else page).screenshot(path=str(shot))
        except Exception: page.screenshot(path=str(shot))
        print(f"screenshot: {shot}")
        page.close()
    assert shot.stat().st_size > 10_000


def _open_and_run_all(page, base, token, name):
    page.goto(f'{base}/lab/tree/{name}?token={token}')
    page.wait_for_function("() => document.querySelector('#jp-main-statusbar')?.textContent.includes('Idle')", timeout=120_000)
    page.get_by_role('menuitem', name='Run', exact=True).click()
    page.locator('li.lm-Menu-item[data-command="runmenu:run-all"]').click()


def test_plane_lab_in_a_real_browser(browser, jupyter_lab, artifacts):
    "04a's GAN lab: Step D, Step G and Run / Pause clicked in the page change the steps counted and the figure drawn."
    base, token, nb = jupyter_lab
    page = browser.new_page(viewport={'width': 1200, 'height': 1400})
    page.set_default_timeout(120_000)
    errors = []
    page.on('pageerror', lambda e: errors.append(str(e)))
    status = lambda: page.text_content('.imbgan-toy-status')
    def wait_status(text): page.wait_for_function("t => document.querySelector('.imbgan-toy-status')?.textContent.includes(t)", arg=text)
    try:
        _open_and_run_all(page, base, token, '04a_toy_lab.ipynb')
        wait_status('0 D steps, 0 G steps')
        first = page.evaluate(_PIXELS, 'img.imbgan-toy-figure')
        assert first, "the plane lab's figure did not render"
        page.click('button.imbgan-toy-step-d')
        wait_status('1 D steps, 0 G steps')
        after_d = page.evaluate(_PIXELS, 'img.imbgan-toy-figure')
        assert after_d and after_d != first, "a D step did not change the figure"
        page.click('button.imbgan-toy-step-g')
        wait_status('1 D steps, 1 G steps')
        after_g = page.evaluate(_PIXELS, 'img.imbgan-toy-figure')
        assert after_g != after_d, "a G step did not change the figure"
        play = page.locator('.imbgan-toy-play button')
        play.first.click()                                  # Run: each tick plays 25 rounds
        page.wait_for_function("() => { const m = (document.querySelector('.imbgan-toy-status')?.textContent || '').match(/(\\d+) G steps/);"
                               " return m && +m[1] >= 51; }", timeout=120_000)
        play.nth(1).click()                                 # Pause
        page.wait_for_timeout(1500)
        paused = status()
        page.wait_for_timeout(1500)
        assert status() == paused, "the run went on after Pause"
        assert page.evaluate(_PIXELS, 'img.imbgan-toy-figure') != after_g
        assert not errors, errors
    finally:
        shot = artifacts/'plane_lab_browser.png'
        try: page.screenshot(path=str(shot))
        except Exception: pass
        page.close()
