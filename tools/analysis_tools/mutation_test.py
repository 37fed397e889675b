# Copyright (c) mmlwgan contributors. All rights reserved.
"""Mutation testing: plant known bugs one at a time and check the tests
catch each.

Every mutation names a file, an exact snippet of it (which must occur
exactly once), its replacement and the few tests that must fail once it is
applied. The script copies the project (``mmlwgan/``, ``tests/``,
``tools/``, ``configs/``, ``demo/``, ``pytest.ini``, ``setup.py``) to a
temporary folder, checks the listed tests pass there unmutated (the
baseline), then applies each mutation alone to the copy, runs its tests
with a timeout and puts the file back. A small pytest plugin records which
``mmlwgan`` the tests imported, so a run that silently used the installed
package instead of the mutated copy is an error, not a catch.

Prints a markdown table ``mutation | kind | file | result | seconds``. The
exit status is 0 only if every mutation was caught; a mutation that
survives, a snippet that is missing or not unique (a refactor moved the
code: update the mutation), a failing baseline or a run error gives 1.

Examples:
    .venv/bin/python tools/analysis_tools/mutation_test.py --list
    .venv/bin/python tools/analysis_tools/mutation_test.py
    .venv/bin/python tools/analysis_tools/mutation_test.py \\
        --only d-step-labels-swapped --only mask-loss-target-inverted
"""
import argparse
import os
import os.path as osp
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: what is copied into the temporary tree
COPY_ITEMS = ('mmlwgan', 'tests', 'tools', 'configs', 'demo', 'pytest.ini',
              'setup.py')
PROBE_MODULE = '_mutation_probe'
PROBE_ENV = 'MMLWGAN_MUTATION_PROBE'
PROBE_SOURCE = '''\
"""pytest plugin of tools/analysis_tools/mutation_test.py: records which
mmlwgan package the tests imported."""
import os
import sys


def pytest_sessionfinish(session, exitstatus):
    module = sys.modules.get('mmlwgan')
    path = getattr(module, '__file__', None) or ''
    with open(os.environ['{env}'], 'w') as f:
        f.write(path)
'''.format(env=PROBE_ENV)


class Mutation(NamedTuple):
    """One planted bug.

    Attributes:
        name (str): short unique name (``--only``).
        kind (str): area: geometry, generator, losses, data, inference.
        file (str): path relative to the repository root.
        original (str): exact snippet, present exactly once in ``file``.
        replacement (str): what the snippet becomes.
        tests (tuple[str]): pytest node ids (files or ``file::test``) that
            must fail.
        why (str): the bug it stands for.
    """
    name: str
    kind: str
    file: str
    original: str
    replacement: str
    tests: Tuple[str, ...]
    why: str


LWGAN = 'mmlwgan/models/editors/liquid_warping_gan.py'
MI_INF = 'mmlwgan/apis/inferencers/motion_imitation_inferencer.py'
BEHAVIOUR = 'tests/test_models/test_editors/test_lwgan_behaviour.py'
INF_VS_MODEL = 'tests/test_apis/test_inferencer_matches_model.py'
TRAIN_LOSSES = BEHAVIOUR + '::test_train_step_logs_hand_computed_losses'
FRAMES = INF_VS_MODEL + '::test_imitation_frames_equal_the_model_forward'
DEMO = 'tests/test_tools/test_demo.py::test_bundled_demo_runs'

MUTATIONS: List[Mutation] = [
    # ----------------------------------------------------------- geometry
    Mutation(
        'model-warp-ignores-release-convention', 'geometry', LWGAN,
        "                             padding_mode='zeros',\n"
        '                             align_corners=self.align_corners)',
        "                             padding_mode='zeros',\n"
        '                             align_corners=False)',
        (BEHAVIOUR + '::test_identity_target_reads_where_the_convention_says',
         ),
        "the model's I_syn ignores the released weights' sampling "
        "convention (flow_convention='release': T sampled with "
        'align_corners=True)'),
    Mutation(
        'rasterizer-farthest-face-wins', 'geometry',
        'mmlwgan/models/renderers/torch_backend.py',
        "zbuf.scatter_reduce_(0, pix, key, reduce='amin', include_self=True)",
        "zbuf.scatter_reduce_(0, pix, key, reduce='amax', include_self=True)",
        ('tests/test_models/test_renderers/test_rasterizer.py', ),
        'the z-buffer keeps the farthest face'),
    Mutation(
        'rasterizer-half-pixel-shift', 'geometry',
        'mmlwgan/models/renderers/torch_backend.py',
        'py = (face_verts[..., 1] + 1.0) * (0.5 * height) - 0.5',
        'py = (face_verts[..., 1] + 1.0) * (0.5 * height)',
        ('tests/test_models/test_renderers/test_rasterizer.py', ),
        'pixel centres off by half a pixel vertically'),
    Mutation(
        'flow-barycentric-weights-swapped', 'geometry',
        'mmlwgan/models/flows/flow.py',
        'torch.addcmul(w[..., 0, :] * pts[..., 0, :], w[..., 1, :],\n'
        '                      pts[..., 1, :]), w[..., 2, :], '
        'pts[..., 2, :])',
        'torch.addcmul(w[..., 0, :] * pts[..., 0, :], w[..., 1, :],\n'
        '                      pts[..., 2, :]), w[..., 2, :], '
        'pts[..., 1, :])',
        ('tests/test_models/test_flows/test_flow.py', ),
        'the flow pairs barycentric weights with the wrong vertices'),
    Mutation(
        'camera-translation-not-scaled', 'geometry',
        'mmlwgan/models/body/cameras.py',
        'xy = s * (points[..., :2] + t)',
        'xy = s * points[..., :2] + t',
        ('tests/test_models/test_body/test_cameras.py', ),
        'weak perspective s * X + t instead of s * (X + t)'),
    # ---------------------------------------------------------- generator
    Mutation(
        'model-gsid-fed-background', 'generator', LWGAN,
        "src_inputs = torch.cat([src_img * geo['src_fg_mask'], "
        "geo['src_cond']],",
        "src_inputs = torch.cat([src_img * geo['bg_input_mask'], "
        "geo['src_cond']],",
        (BEHAVIOUR + '::test_gsid_gets_the_source_body', ),
        "the model's G_SID sees the background instead of the body"),
    Mutation(
        'lwb-fusion-drops-sources', 'generator',
        'mmlwgan/models/generators/lwb.py',
        '        return tgt_feat + self.warped_sum(src_feats, flows,',
        '        return tgt_feat + 0 * self.warped_sum(src_feats, flows,',
        ('tests/test_models/test_generators/test_lwb.py', ),
        'the Liquid Warping Block adds nothing from the sources'),
    Mutation(
        'lwb-fusion-first-source-only', 'generator',
        'mmlwgan/models/generators/lwb.py',
        'return warped[:, 0] if warped.shape[1] == 1 else '
        'warped.sum(dim=1)',
        'return warped[:, 0]',
        ('tests/test_models/test_generators/test_lwb.py', ),
        'with several sources only the first is fused'),
    Mutation(
        'composite-shows-background-only', 'generator',
        'mmlwgan/models/generators/lwb_generator.py',
        '    return mask * bg + (1 - mask) * color',
        '    return bg + 0 * (mask * color)',
        (DEMO, ),
        'the attention composite drops the generated person (the demo '
        'video would show the background only)'),
    # ------------------------------------------------------------- losses
    Mutation(
        'mask-loss-target-inverted', 'losses', LWGAN,
        "loss = self.mask_loss(out['tsf_mask'], geo['tgt_bg_mask'])",
        "loss = self.mask_loss(out['tsf_mask'], 1 - geo['tgt_bg_mask'])",
        (TRAIN_LOSSES, ),
        'the attention mask is trained towards the body, not the '
        'background'),
    Mutation(
        'mask-loss-bce-target-inverted', 'losses',
        'mmlwgan/models/losses/mask_losses.py',
        'p, t = pred.float(), target.float()',
        'p, t = pred.float(), 1 - target.float()',
        ('tests/test_models/test_losses/test_mask_losses.py', ),
        'MaskLoss inverts its target'),
    Mutation(
        'd-step-labels-swapped', 'losses', LWGAN,
        'loss_gan_d_real=self.gan_loss(pred_real, True, is_disc=True),\n'
        '            loss_gan_d_fake=self.gan_loss(pred_fake, False, '
        'is_disc=True))',
        'loss_gan_d_real=self.gan_loss(pred_real, False, is_disc=True),\n'
        '            loss_gan_d_fake=self.gan_loss(pred_fake, True, '
        'is_disc=True))',
        (TRAIN_LOSSES, ),
        'the discriminator learns real as fake and fake as real'),
    Mutation(
        'd-step-real-fake-inputs-swapped', 'losses', LWGAN,
        'pred_real = self.discriminator(self._disc_input(tgt_img, cond))\n'
        '        pred_fake = self.discriminator(\n'
        '            self._disc_input(fake_img.detach(), cond))',
        'pred_real = self.discriminator(\n'
        '            self._disc_input(fake_img.detach(), cond))\n'
        '        pred_fake = self.discriminator(self._disc_input(tgt_img, '
        'cond))',
        (TRAIN_LOSSES, ),
        'the discriminator is shown the fake as real and the real as '
        'fake'),
    Mutation(
        'g-step-label-fake', 'losses', LWGAN,
        'self.discriminator(fake), target_is_real=True, is_disc=False)',
        'self.discriminator(fake), target_is_real=False, is_disc=False)',
        (TRAIN_LOSSES, ),
        'the generator is pushed towards the fake label'),
    Mutation(
        'rec-loss-against-target', 'losses', LWGAN,
        "losses['loss_rec'] = self.pixel_loss(out['src_img'], src_img)",
        "losses['loss_rec'] = self.pixel_loss(out['src_img'],\n"
        "                                             tgt_img.unsqueeze(1))",
        (TRAIN_LOSSES, ),
        "G_SID's reconstruction is compared with the target image"),
    Mutation(
        'logged-total-loss-drops-generator', 'losses', LWGAN,
        "total = log_vars['loss'] + d_log['loss']",
        "total = d_log['loss'] + d_log['loss']",
        (TRAIN_LOSSES, ),
        "the logged 'loss' is twice D's instead of G's + D's (a bug the "
        'hand-computed test found)'),
    Mutation(
        'perceptual-layer-weights-swapped', 'losses',
        'mmlwgan/models/losses/perceptual.py',
        'relu1_1=1.0 / 32, relu2_1=1.0 / 16,',
        'relu1_1=1.0 / 16, relu2_1=1.0 / 32,',
        ('tests/test_models/test_losses/test_perceptual.py'
         '::test_layer_weights_and_loss_weight', ),
        "the VGG layers' weights are not the release's"),
    Mutation(
        'tv-loss-drops-vertical-term', 'losses',
        'mmlwgan/models/losses/mask_losses.py',
        'dy = (x[..., 1:, :] - x[..., :-1, :]).abs().mean()',
        'dy = 0 * (x[..., 1:, :] - x[..., :-1, :]).abs().mean()',
        ('tests/test_models/test_losses/test_mask_losses.py', ),
        'mask smoothness ignores vertical changes'),
    # --------------------------------------------------------------- data
    Mutation(
        'pair-target-smpl-of-source-frame', 'data',
        'mmlwgan/datasets/iper_dataset.py',
        "tgt_smpl=tinfo['smpl'][tgt].copy(),",
        "tgt_smpl=tinfo['smpl'][srcs[0]].copy(),",
        ('tests/test_datasets/test_iper_dataset.py'
         '::test_train_pair_sampling', ),
        'a training pair gets the SMPL of the wrong frame'),
    Mutation(
        'pair-sources-outside-src-range', 'data',
        'mmlwgan/datasets/iper_dataset.py',
        'srcs = rng.choice(\n            first, size=self.num_sources,',
        'srcs = rng.choice(\n            num_frames, size=self.num_sources,',
        ('tests/test_datasets/test_iper_dataset.py'
         '::test_train_pair_sampling', ),
        'sources are drawn from the whole video, not the first src_range '
        'frames'),
    Mutation(
        'resize-crop-scales-wrong-camera-entry', 'data',
        'mmlwgan/datasets/transforms/processing.py',
        'smpl[:, 0] *= factors',
        'smpl[:, 1] *= factors',
        ('tests/test_datasets/test_transforms.py'
         '::test_resize_keeps_smpl_consistent', ),
        "a centre crop scales the camera's tx instead of its scale"),
    Mutation(
        'pack-transposes-height-width', 'data',
        'mmlwgan/datasets/transforms/formatting.py',
        'np.ascontiguousarray(img.transpose(2, 0, 1))',
        'np.ascontiguousarray(img.transpose(2, 1, 0))',
        ('tests/test_datasets/test_transforms.py::test_pack_inputs', ),
        'packed images are transposed'),
    # ---------------------------------------------------------- inference
    Mutation(
        'inferencer-gsid-fed-background', 'inference', LWGAN,
        "cache = self.generator.encode_sources(geo['src_inputs'], "
        'decode=False)',
        "cache = self.generator.encode_sources(torch.cat([geo['bg_inputs']"
        "[:, None, :3], geo['src_cond']], 2), decode=False)",
        (INF_VS_MODEL + '::test_imitation_feeds_gsid_the_source_body',
         FRAMES),
        "the inferencer's G_SID sees the background instead of the body"),
    Mutation(
        'fast-path-fusion-skipped', 'inference',
        'mmlwgan/models/generators/fast_tsf.py',
        '                return self._fmt(feat, cl).add_(\n'
        '                    block.warped_sum(',
        '                return self._fmt(feat, cl).add_(\n'
        '                    0 * block.warped_sum(',
        (FRAMES, ),
        'the optimised G_TSF skips the LWB fusion'),
    Mutation(
        'texture-warping-residual-ignored', 'generator',
        'mmlwgan/models/generators/baselines.py',
        '        self.residual_color = bool(residual_color)',
        '        self.residual_color = False',
        ('tests/test_models/test_generators/test_residual_color.py'
         '::test_texture_warping_baseline_residual', ),
        "W_T's residual_color=True is silently off"),
    Mutation(
        'inferencer-ignores-smoothing', 'inference', MI_INF,
        'ref_thetas = smooth_thetas(ref_thetas, window, smooth_method)',
        'ref_thetas = ref_thetas',
        (INF_VS_MODEL + '::test_imitation_smooths_the_reference', ),
        'smooth=True does nothing'),
    Mutation(
        'smoothing-camera-scale-stays-log', 'inference',
        'mmlwgan/apis/inferencers/smoothing.py',
        'out[:, 0] = np.exp(out[:, 0])',
        'out[:, 0] = out[:, 0]',
        ('tests/test_apis/test_smoothing.py', ),
        'smoothed camera scales come back in the log domain'),
    Mutation(
        'inferencer-ignores-background-choice', 'inference', MI_INF,
        'enc = self.encode_sources(run.state, run.background)',
        'enc = self.encode_sources(run.state)',
        (FRAMES, ),
        "background='original' gives G_BG's inpainting"),
    Mutation(
        'original-background-inverted', 'inference',
        'mmlwgan/models/editors/background.py',
        'return img * keep + fill * (1 - keep)',
        'return fill * keep + img * (1 - keep)',
        (FRAMES, ),
        "'original' keeps the source inside the body, G_BG outside"),
    Mutation(
        'inpainted-background-fills-g-bg-hole', 'inference', LWGAN,
        "erode(1.0 - geo['src_body'][:, 0], k))",
        "geo['bg_input_mask'][:, 0])",
        ('tests/test_apis/test_inferencers.py::test_backgrounds', ),
        "'inpainted' fills G_BG's wide 15 px hole, not the source's "
        'silhouette grown by a few pixels'),
    Mutation(
        'visualize-ignores-background', 'inference',
        'tools/analysis_tools/visualize_predictions.py',
        "        if background != 'test':",
        "        if background == 'never':",
        ('tests/test_tools/test_visualize_tools.py'
         '::test_visualize_predictions_background', ),
        "the grid's 'ours' column shows test_step's background whatever "
        '--background says'),
    Mutation(
        'ablation-recipe-not-evaluated', 'inference',
        'tools/analysis_tools/benchmark_ablations.py',
        "    cfg.merge_from_dict(options or {})\n",
        '',
        ('tests/test_tools/test_ablation_recipes.py', ),
        'models trained with a recipe are evaluated without its options '
        '(residual colour, kept background)'),
    Mutation(
        'video-writer-writes-black', 'inference',
        'mmlwgan/apis/inferencers/utils/outputs.py',
        '                self._video.write(frame)',
        '                self._video.write(frame * 0)',
        (DEMO, ),
        'the result video is black (right names, right frame count)'),
]


# ----------------------------------------------------------------------
# snippets
# ----------------------------------------------------------------------
def snippet_problems(root: str = ROOT,
                     mutations: Sequence[Mutation] = MUTATIONS
                     ) -> Dict[str, str]:
    """Mutations whose snippet is not in ``root`` exactly once.

    Returns:
        dict[str, str]: mutation name -> what is wrong (empty when all
        snippets are found once).
    """
    problems = {}
    for m in mutations:
        path = osp.join(root, m.file)
        if not osp.isfile(path):
            problems[m.name] = f'{m.file} does not exist'
            continue
        with open(path, encoding='utf-8') as f:
            count = f.read().count(m.original)
        if count != 1:
            problems[m.name] = (f'snippet found {count} times in {m.file} '
                                '(must be exactly once)')
    return problems


def select(names: Optional[Iterable[str]]) -> List[Mutation]:
    """The mutations named (all when ``names`` is empty or None)."""
    if not names:
        return list(MUTATIONS)
    wanted = []
    for item in names:
        wanted.extend(n for n in item.split(',') if n)
    by_name = {m.name: m for m in MUTATIONS}
    unknown = [n for n in wanted if n not in by_name]
    if unknown:
        raise SystemExit(f'unknown mutation(s) {unknown}; see --list')
    return [by_name[n] for n in dict.fromkeys(wanted)]


def union_of_tests(mutations: Sequence[Mutation]) -> List[str]:
    """All node ids of ``mutations`` once each (a whole file absorbs its
    own tests)."""
    ids = list(dict.fromkeys(t for m in mutations for t in m.tests))
    files = {t for t in ids if '::' not in t}
    return [t for t in ids if '::' not in t or t.split('::')[0] not in files]


# ----------------------------------------------------------------------
# running
# ----------------------------------------------------------------------
def make_copy(dest: str, root: str = ROOT) -> None:
    """Copy :data:`COPY_ITEMS` of ``root`` to ``dest`` (no caches) and add
    the probe plugin."""
    ignore = shutil.ignore_patterns('__pycache__', '*.pyc', '*.egg-info',
                                    '.pytest_cache')
    for item in COPY_ITEMS:
        src = osp.join(root, item)
        if osp.isdir(src):
            shutil.copytree(src, osp.join(dest, item), ignore=ignore)
        elif osp.isfile(src):
            shutil.copy2(src, osp.join(dest, item))
    with open(osp.join(dest, PROBE_MODULE + '.py'), 'w') as f:
        f.write(PROBE_SOURCE)


class RunResult(NamedTuple):
    returncode: Optional[int]  # None: timed out
    seconds: float
    imported: str  # mmlwgan.__file__ seen by the tests ('' if none)
    output: str


def run_pytest(copy_root: str, tests: Sequence[str], timeout: float,
               stop_first: bool = True) -> RunResult:
    """Run pytest on ``tests`` inside ``copy_root`` (its own mmlwgan)."""
    probe = osp.join(copy_root, '.probe')
    if osp.exists(probe):
        os.remove(probe)
    env = dict(os.environ)
    env.update({
        PROBE_ENV: probe,
        # no stale bytecode between a mutation and the restored file
        'PYTHONDONTWRITEBYTECODE': '1',
        'PYTHONPATH': os.pathsep.join(
            [copy_root] + ([env['PYTHONPATH']] if env.get('PYTHONPATH')
                           else [])),
    })
    env.setdefault('OMP_NUM_THREADS', '1')
    cmd = [sys.executable, '-m', 'pytest', '-q', '-p', PROBE_MODULE,
           '-p', 'no:cacheprovider', f'--timeout={int(timeout)}']
    if stop_first:
        cmd.append('-x')
    cmd += list(tests)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=copy_root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
        code: Optional[int] = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        code = None
    seconds = time.perf_counter() - start
    imported = ''
    if osp.isfile(probe):
        with open(probe) as f:
            imported = f.read().strip()
    return RunResult(code, seconds, imported, out or '')


def imported_from_copy(result: RunResult, copy_root: str) -> bool:
    path = osp.realpath(result.imported) if result.imported else ''
    return path.startswith(osp.realpath(copy_root) + os.sep)


def verdict(result: RunResult, copy_root: str) -> str:
    """'caught', 'caught (timeout)', 'SURVIVED' or 'ERROR: ...'.

    A pass only counts as a survival when the tests ran the mutated copy
    (else the run proves nothing: an error); failures count as catches (the
    baseline run showed the same tests pass unmutated, from the copy).
    """
    if result.returncode is None:
        return 'caught (timeout)'
    if result.returncode == 0:
        if not imported_from_copy(result, copy_root):
            return ('ERROR: tests imported '
                    f'{result.imported or "no mmlwgan"}, not the copy')
        return 'SURVIVED'
    if result.returncode in (1, 2):  # test failures / collection errors
        return 'caught'
    return f'ERROR: pytest exit status {result.returncode}'


def apply_mutation(copy_root: str, m: Mutation) -> str:
    """Write the mutated file into the copy; return the original text."""
    path = osp.join(copy_root, m.file)
    with open(path, encoding='utf-8') as f:
        text = f.read()
    if text.count(m.original) != 1:
        raise ValueError(f'{m.name}: snippet not found once in {m.file}')
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text.replace(m.original, m.replacement))
    return text


def table(rows: Sequence[Tuple[str, str, str, str, str]]) -> str:
    lines = ['| mutation | kind | file | result | seconds |',
             '|---|---|---|---|---|']
    lines += [f'| {a} | {b} | {c} | {d} | {e} |' for a, b, c, d, e in rows]
    return '\n'.join(lines)


def print_list(mutations: Sequence[Mutation]) -> None:
    print('| mutation | kind | file | tests | bug |')
    print('|---|---|---|---|---|')
    for m in mutations:
        tests = '<br>'.join(m.tests)
        print(f'| {m.name} | {m.kind} | {m.file} | {tests} | {m.why} |')


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        description='Plant known bugs one at a time; check the tests catch '
        'each.')
    parser.add_argument('--list', action='store_true',
                        help='list the mutations and exit')
    parser.add_argument('--only', action='append', metavar='NAME',
                        help='run only these mutations (repeat, or a '
                        'comma-separated list)')
    parser.add_argument('--timeout', type=float, default=300,
                        help='seconds per pytest run (default 300)')
    parser.add_argument('--no-baseline', action='store_true',
                        help='skip the unmutated run of the selected tests')
    parser.add_argument('--keep', action='store_true',
                        help='keep the temporary copy (its path is printed)')
    parser.add_argument('--verbose', action='store_true',
                        help="print each run's pytest output")
    args = parser.parse_args(argv)

    mutations = select(args.only)
    if args.list:
        print_list(mutations)
        return 0
    problems = snippet_problems(ROOT, mutations)
    rows = []
    failed = False
    tmp = tempfile.mkdtemp(prefix='mmlwgan-mutation-')
    try:
        make_copy(tmp)
        print(f'copy of {ROOT} in {tmp}', flush=True)
        if not args.no_baseline:
            tests = union_of_tests(
                [m for m in mutations if m.name not in problems])
            base = run_pytest(tmp, tests, args.timeout * 2, stop_first=False)
            ok = base.returncode == 0 and imported_from_copy(base, tmp)
            print(f'baseline ({len(tests)} test selections, unmutated): '
                  f'{"passed" if ok else "FAILED"} in {base.seconds:.0f} s; '
                  f'mmlwgan imported from {base.imported or "nowhere"}',
                  flush=True)
            if not ok:
                print(base.output[-6000:])
                print('the tests must pass unmutated: fix them first')
                return 1
        for m in mutations:
            if m.name in problems:
                rows.append((m.name, m.kind, m.file,
                             f'ERROR: {problems[m.name]}', '-'))
                failed = True
                continue
            original = apply_mutation(tmp, m)
            try:
                res = run_pytest(tmp, m.tests, args.timeout)
            finally:
                with open(osp.join(tmp, m.file), 'w',
                          encoding='utf-8') as f:
                    f.write(original)
            result = verdict(res, tmp)
            failed |= not result.startswith('caught')
            rows.append((m.name, m.kind, m.file, result,
                         f'{res.seconds:.0f}'))
            print(f'{m.name}: {result} ({res.seconds:.0f} s)', flush=True)
            if args.verbose or result == 'SURVIVED' or \
                    result.startswith('ERROR'):
                print(res.output[-4000:], flush=True)
    finally:
        if args.keep:
            print(f'kept {tmp}')
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print()
    print(table(rows))
    caught = sum(r[3].startswith('caught') for r in rows)
    print(f'\n{caught} of {len(rows)} mutations caught')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
