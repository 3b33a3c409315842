"""GAMO and GAMO2pix on real (embedded) data: the convex contract, learning, the scenario path, and bad input."""
import pytest
import torch

import imbgan_nb.gamo as gamo_mod
from imbgan_nb.core import get_preset
from imbgan_nb.data import to_unit_range
from imbgan_nb.imbalance import get_protocol
from imbgan_nb.classifier import evaluate, fit_classifier
from imbgan_nb.core import run_environment
from imbgan_nb.experiments import Scenario, run_scenario
from imbgan_nb.gamo import fit_gamo, class_priors, classes_for_classifier, shortfall
from imbgan_nb.gamo2pix import fit_gamo2pix


@pytest.fixture(scope='module')
def ir100(digits):
    "The digits cut to GAMO's IR-100 profile (scaled to the digits' class size), and 35 test images per class."
    return get_protocol('gamo_ir100').apply(*digits, seed=0)


@pytest.fixture(scope='module')
def flat_gamo(ir100):
    return fit_gamo(ir100[0], 'flat', 'ls', preset=get_preset('ci', clf_epochs=15, clf_batch=32), seed=0, device='cpu', progress=False)


def test_generated_points_are_convex_combinations_of_the_class(ir100, flat_gamo):
    train = ir100[0]
    for c in flat_gamo.bank:
        x, w = flat_gamo.sample(c, 50, seed=c)
        real = to_unit_range(train.images[flat_gamo.members[c]]).flatten(1)
        assert (w >= 0).all() and torch.allclose(w.sum(1), torch.ones(50), atol=1e-5)
        assert torch.allclose(x, w @ real, atol=1e-5)
        assert (x >= real.min(0).values - 1e-5).all() and (x <= real.max(0).values + 1e-5).all()
        assert (train.labels[flat_gamo.members[c]] == c).all()


def test_gamo_learns_a_classifier_on_real_digits(ir100, flat_gamo):
    train, test = ir100
    untrained = fit_gamo(train, 'flat', 'ls', preset=get_preset('ci', clf_epochs=0), device='cpu', progress=False)
    before, after = evaluate(untrained.classifier, test)['acsa'], evaluate(flat_gamo.classifier, test)['acsa']
    assert before < 0.3 and after > 0.6, (before, after)


def test_step10_labels_follow_the_shortfall(ir100):
    P = class_priors(ir100[0].labels, 10)
    labels = classes_for_classifier(P, 50_000, torch.Generator().manual_seed(0))
    freq = torch.bincount(labels, minlength=10).double() / 50_000
    assert freq[P.argmax()] == 0
    assert torch.allclose(freq, shortfall(P) / shortfall(P).sum(), atol=0.01)


def test_a_nan_loss_stops_training_with_the_fix(ir100, monkeypatch):
    real = gamo_mod.target_loss
    monkeypatch.setattr(gamo_mod, 'target_loss', lambda p, t, kind: real(p, t, kind) * float('nan'))
    with pytest.raises(FloatingPointError, match="GAMO's M real loss became nan in round 0.*Lower lr"):
        fit_gamo(ir100[0], 'flat', preset=get_preset('ci', clf_epochs=1), device='cpu', progress=False)


def test_bad_input_is_refused(ir100, digits):
    train = ir100[0]
    with pytest.raises(ValueError, match='Unknown GAMO variant'):
        fit_gamo(train, 'pixels', progress=False)
    without_5 = train.subset(torch.nonzero(train.labels != 5).flatten())
    with pytest.raises(ValueError, match=r'class\(es\) \[5\] have no training images'):
        fit_gamo(without_5, 'flat', progress=False)


def test_gamo_scenario_runs_through_the_experiments_path(tmp_path):
    sc = Scenario(study='t', name='GAMO (LS)', dataset='digits', protocol='gamo_ir100', oversampler='gamo', target='majority', classifier='gamo_cn', preset='ci', seed=0,
                  overrides=(('data_fraction', 1.0), ('test_fraction', 1.0), ('clf_epochs', 2)), loss='ls')
    row = run_scenario(sc, out=tmp_path, device='cpu', progress=False)
    assert row['oversampler'] == 'gamo' and row['loss'] == 'ls' and row['n_synthetic'] == 0
    assert row['environment'] == run_environment('cpu')          # what decides the row's last digits: torch, threads, kernel
    assert row['n_real'] == 96 + 48 + 24 + 18 + 12 + 8 + 5 + 2 + 1 + 1
    assert 0 <= row['gm'] <= row['acsa'] <= 1
    # every minority class reports how collapsed G is: the mean largest weight and the distinct vertices over 256 z
    assert sorted(row['collapse']) == sorted(row['minority'])
    for c, g in row['collapse'].items():
        assert 0 < g['max_weight'] <= 1 and 1 <= g['distinct_sources'] <= min(256, g['n_real'])


def test_ablation_and_baseline_rows_use_the_same_classifier(tmp_path):
    from dataclasses import replace
    base = Scenario(study='t', name='Baseline CN', dataset='digits', protocol='gamo_ir100', oversampler='none', target='majority', classifier='gamo_cn', preset='ci', seed=0,
                    overrides=(('data_fraction', 1.0), ('test_fraction', 1.0), ('clf_epochs', 2)), loss='ls')
    rows = {ovs: run_scenario(replace(base, oversampler=ovs), device='cpu', progress=False) for ovs in ('none', 'cg', 'cg_d', 'transforms')}
    assert rows['none']['collapse'] == {} and rows['none']['n_synthetic'] == 0
    assert rows['transforms']['n_synthetic'] == 9 * 96 - (48 + 24 + 18 + 12 + 8 + 5 + 2 + 1 + 1)   # Augment+CN: the CN on a balanced set
    for ovs in ('cg', 'cg_d'):                     # cG makes free points: no convex weights, but their nearest real points are counted
        g = rows[ovs]['collapse']
        assert g and all('max_weight' not in v and 1 <= v['distinct_nearest'] <= v['n_real'] for v in g.values())


def test_batch_norm_keeps_the_generator_from_collapsing_in_the_plane():
    from imbgan_nb.gamo_view import toy_classes, play_in_the_plane
    points, labels = toy_classes((240, 40, 16))
    distinct = {bn: sum(int(w.argmax(1).unique().numel()) for _, w in play_in_the_plane(points, labels, 15, (15,), batch_norm=bn)[15].values())
                for bn in (True, False)}
    assert distinct[True] > distinct[False], distinct


def test_ls_classifier_loss_trains(ir100):
    clf = fit_classifier(ir100[0], 'cnn2', preset=get_preset('ci', clf_epochs=3, clf_batch=32), device='cpu', progress=False, loss='ls')
    assert clf.history[-1]['loss'] < clf.history[0]['loss']
    with pytest.raises(ValueError, match='Unknown classifier loss'):
        fit_classifier(ir100[0], 'cnn2', preset=get_preset('ci', clf_epochs=1), progress=False, loss='hinge')


def test_gamo2pix_decoders_learn_and_refuse_bad_input(ir100, flat_gamo):
    train = ir100[0]
    with pytest.raises(ValueError, match='flattened GAMO makes images already'):
        fit_gamo2pix(flat_gamo, train, progress=False)
    conv = fit_gamo(train, 'conv', preset=get_preset('ci', clf_epochs=1), device='cpu', progress=False)
    with pytest.raises(ValueError, match='pass GAMO.s own training set'):
        fit_gamo2pix(conv, train.subset(torch.arange(10)), progress=False)
    g2p = fit_gamo2pix(conv, train, classes=['1'], steps=300, device='cpu', progress=False)
    h = g2p.history[1]
    assert h[-20:, 0].mean() < 0.7 * h[:20, 0].mean()
    x = g2p.sample(4, 1, rng=torch.Generator().manual_seed(0))
    assert x.shape == (4, 1, 28, 28) and x.min() >= -1 and x.max() <= 1


def test_gamo_is_an_oversampler_of_the_lab():
    from imbgan_nb.lab import LabSettings, lab_figures, run_lab
    res = run_lab(LabSettings(dataset='digits', minority=(7,), ir=10, oversampler='gamo'), preset='ci', device='cpu')
    assert res.row['oversampler'] == 'gamo' and res.row['n_synthetic'] == 0
    assert res.baseline['oversampler'] == 'none' and 0 <= res.row['acsa'] <= 1
    assert 'distribution' in lab_figures(res)


def test_mlp_scenarios_play_gamo_on_flattened_pixels(monkeypatch):
    from dataclasses import replace
    from imbgan_nb.studies import study_scenarios
    import imbgan_nb.experiments as experiments_mod      # the scenario path calls fit_gamo through the experiments module
    seen, real = [], gamo_mod.fit_gamo
    monkeypatch.setattr(experiments_mod, 'fit_gamo', lambda train, variant, *a, **k: seen.append(variant) or real(train, variant, *a, **k))
    sc = Scenario(study='t', name='GAMO (LS)', dataset='digits', protocol='gamo_ir100', oversampler='gamo', target='majority', classifier='gamo_mlp', preset='ci', seed=0,
                  overrides=(('data_fraction', 1.0), ('test_fraction', 1.0), ('clf_epochs', 2)), loss='ls')
    row = run_scenario(sc, device='cpu', progress=False)
    base = run_scenario(replace(sc, name='Baseline CN', oversampler='none'), device='cpu', progress=False)
    assert seen == ['flat', 'flat'] and row['classifier'] == base['classifier'] == 'gamo_mlp'
    assert 0 <= row['acsa'] <= 1 and 0 <= base['acsa'] <= 1
    assert {s.classifier for s in study_scenarios('003m', 'ci')} == {'gamo_mlp'}
    assert {s.dataset for s in study_scenarios('003m', 'ci')} == {'mnist'}


def test_the_generator_steps_class_by_class_and_moves_only_that_class_block():
    from imbgan_nb.gamo import ConvexGenerator, ConditionalDiscriminator, GamoGame
    from imbgan_nb.classifier import gamo_head
    torch.manual_seed(0)
    G = ConvexGenerator({1: 5, 2: 3}, n_classes=3, dim=4, latent_dim=6, hidden=(8, 8))
    game = GamoGame(gamo_head(4, 3, hidden=(8, 8)), G, ConditionalDiscriminator(4, 3), torch.tensor([0.6, 0.25, 0.15]),
                    batch=8, rng=torch.Generator().manual_seed(0))
    assert set(game.opt_G_M) == set(game.opt_G_D) == {1, 2} and game.opt_G_M[1] is not game.opt_G_M[2]
    bank, igu, ctmu = torch.randn(8, 4), G.igu.weight.detach().clone(), G.layers[0].weight.detach().clone()
    loss = G.for_class(torch.randn(3, 6), torch.full((3,), 2), 2, bank).pow(2).sum()
    game.opt_G_M[2].zero_grad(); loss.backward(); game.opt_G_M[2].step()
    moved = (G.igu.weight.detach() != igu).any(1)
    assert not moved[:5].any() and moved[5:].all() and (G.layers[0].weight.detach() != ctmu).any()
    x, y = torch.randn(16, 4), torch.tensor([0] * 10 + [1] * 4 + [2] * 2)
    losses = game.play(x, y, bank)
    assert losses.shape == (6,) and torch.isfinite(losses).all() and (G.igu.weight.detach() != igu).any(1).all()
    joint = GamoGame(gamo_head(4, 3, hidden=(8, 8)), G, None, torch.tensor([0.6, 0.25, 0.15]), batch=8, class_steps=False)
    assert list(joint.opt_G_M) == [None] and joint.opt_G_D == {} and joint.gen_labels[None].tolist() == [1, 1, 1, 2, 2, 2]


def test_gamo_plays_on_cnn2_features_with_cnn2s_recipe(ir100, monkeypatch):
    "F is the kit's cnn2 up to its 128 features; F trains with cnn2's Adam (1e-3, 0.9), the game's players with the authors' (2e-4, 0.5)."
    made = []
    real_adam = gamo_mod._adam
    monkeypatch.setattr(gamo_mod, '_adam', lambda params, lr, beta1: made.append((lr, beta1)) or real_adam(params, lr, beta1))
    train, test = ir100
    r = fit_gamo(train, 'cnn2', 'ls', preset=get_preset('ci', clf_epochs=6, clf_batch=32), seed=0, device='cpu', progress=False)
    assert made[-1] == (1e-3, 0.9) and set(made[:-1]) == {(2e-4, 0.5)}, made     # players first, F last
    assert r.points.shape[1] == 128 and (r.points >= 0).all()                     # cnn2's ReLU features
    x, w = r.sample(7, 20, seed=0)
    assert torch.allclose(x, w @ r.bank[7], atol=1e-5)                            # still convex in F's space
    assert evaluate(r.classifier, test)['acsa'] > 0.5


def test_gamo2pix_stops_at_its_validation_plateau_and_keeps_the_best_decoder(ir100):
    from imbgan_nb.gamo2pix import GAMO2PIX_MIN_GAIN, GAMO2PIX_STEPS
    train = ir100[0]
    conv = fit_gamo(train, 'conv', preset=get_preset('ci', clf_epochs=1), device='cpu', progress=False)
    one = int(train.counts().argmin())
    assert train.counts()[one] == 1
    g2p = fit_gamo2pix(conv, train, classes=[1, 7, one], preset=get_preset('ci'), steps=1500, patience=2, check_every=100, device='cpu', progress=False)
    assert g2p.validation[one] == {'steps_run': GAMO2PIX_STEPS['ci'], 'best_step': None, 'stopped_step': None, 'n_validation': 0, 'val_loss': []}
    assert len(g2p.history[one]) == GAMO2PIX_STEPS['ci']                             # one image: nothing to hold out, the preset's steps
    for c in (1, 7):
        v, n = g2p.validation[c], len(conv.members[c])
        assert v['n_validation'] == max(1, round(0.1 * n)) and len(g2p.history[c]) == v['steps_run']
        steps, losses = zip(*v['val_loss'])
        assert list(steps) == list(range(100, v['steps_run'] + 1, 100))
        if v['stopped_step'] is not None:                                         # stopped: the last `patience` checks gained < 1%
            assert v['stopped_step'] == v['steps_run'] < 1500
            best = losses[steps.index(v['best_step'])]
            assert all(l >= best * (1 - GAMO2PIX_MIN_GAIN) for l in losses[steps.index(v['best_step']) + 1:])
            assert steps[-1] - v['best_step'] == 2 * 100
    assert any(g2p.validation[c]['stopped_step'] for c in (1, 7)), 'no decoder reached a plateau: the test shows nothing'
    with pytest.raises(ValueError, match='patience=-1'):
        fit_gamo2pix(conv, train, patience=-1, progress=False)
    assert fit_gamo2pix(conv, train, classes=[1], steps=50, device='cpu', progress=False).validation == {}   # no patience: no held-out images


def test_gamo2pix_is_a_scenario_oversampler_and_not_a_lab_slider():
    from imbgan_nb.gamo2pix import GAMO2PIX_MAX_STEPS
    from imbgan_nb.lab_widget import Lab
    sc = Scenario(study='t', name='GAMO2pix+CN', dataset='digits', protocol='gamo_ir100', oversampler='gamo2pix', target='majority',
                  classifier='gamo_cn', preset='ci', seed=0, overrides=(('data_fraction', 1.0), ('test_fraction', 1.0), ('clf_epochs', 2), ('gan_patience', 1)),
                  loss='ls')
    row = run_scenario(sc, device='cpu', progress=False)
    assert row['n_synthetic'] > 0 and row['collapse'] == {}
    assert 5 <= len(row['quality']) and set(row['quality']) <= set(row['minority'])   # a class needs 2 real images for a distance
    for q in row['quality'].values():
        assert q['decoder']['n_validation'] >= 1 and 250 <= q['decoder']['steps_run'] <= GAMO2PIX_MAX_STEPS['ci'] and q['fd'] > 0
    options = Lab(preset='ci', dataset='digits', background=False).oversampler.options
    assert 'gamo2pix' not in options and 'gamo' in options
