# Copyright (c) mmlwgan contributors. All rights reserved.
"""Convert the Liquid Warping GAN release's assets folder in one go.

The release ships two archives (``pretrains.zip``, unpacked to
``assets/pretrains``, and ``checkpoints.zip``, to ``outputs/checkpoints`` or
``assets/checkpoints``). :func:`find_release_files` finds the files mmlwgan
uses under any folders given, :func:`convert_release` converts them with the
single-file converters of this package and writes a folder that runs as
is::

    OUT/lwgan.pth          generator.* (+ discriminator.*): --checkpoint
    OUT/hmr.pth            HMR (the model keeps it out of its checkpoints)
    OUT/smpl_neutral.npz   the neutral SMPL stored in hmr_tf2pt.pth, with
                           smpl_faces.npy (and the part labels of
                           smpl_part_info.json)
    OUT/mapper.txt         the UV mapper of the condition maps (copied)
    OUT/sphere20a.pth      SphereFace-20a (face identity loss), if found
    OUT/config.py          inherits the released recipe, every path above
                           filled in relative to the config's folder

=============================================  ==============================
release file                                    used for
=============================================  ==============================
``*/lwb_imper_fashion_place/net_epoch_30_id_G``  generator (the release's
                                                 default; ``generator=``
                                                 picks another folder / file)
``..._id_D.pth`` next to it                      discriminator (optional)
``pretrains/hmr_tf2pt.pth``                      HMR + the neutral SMPL
``pretrains/smpl_faces.npy``                     SMPL triangles
                                                 (or ``smpl_model.pkl``)
``pretrains/mapper.txt``                         UV condition maps
``pretrains/sphere20a_20171020.pth``             face loss (optional)
``pretrains/smpl_part_info.json``                body parts (optional)
=============================================  ==============================

Every file is read through the allow-listed unpickler
(:func:`mmlwgan.utils.safe_pickle.load_torch_file`, SMPL pickles through
:func:`mmlwgan.models.body.load_smpl_model_data`); nothing is downloaded.
"""
import json
import os
import os.path as osp
import re
import shutil
import time
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from .utils import ConversionError

__all__ = [
    'find_release_files', 'convert_release', 'release_config_text',
    'RELEASE_DEFAULT_GENERATOR', 'OUTPUT_NAMES'
]

#: the release's default generator folder (``--load_path`` of its options)
RELEASE_DEFAULT_GENERATOR = 'lwb_imper_fashion_place'
#: folders of release networks mmlwgan does not use (background inpainter)
_UNUSED_FOLDERS = ('deepfillv2', )
_EPOCH_FILE = re.compile(r'^net_epoch_(\d+)_id_([GD])\.pth$')
#: file name -> role, for the files of ``pretrains.zip`` mmlwgan uses
_PRETRAIN_FILES = {
    'hmr_tf2pt.pth': 'hmr',
    'smpl_faces.npy': 'smpl_faces',
    'smpl_model.pkl': 'smpl_model',
    'mapper.txt': 'mapper',
    'sphere20a_20171020.pth': 'sphereface',
    'smpl_part_info.json': 'part_info',
}
#: where each required file is in the release, for messages
_WHERE = dict(
    generator='checkpoints.zip (lwb_imper_fashion_place/'
    'net_epoch_30_id_G.pth)',
    hmr='pretrains.zip (hmr_tf2pt.pth)',
    smpl_faces='pretrains.zip (smpl_faces.npy, or smpl_model.pkl)',
    mapper='pretrains.zip (mapper.txt)')
#: names of the files written in the output folder
OUTPUT_NAMES = dict(checkpoint='lwgan.pth', hmr='hmr.pth',
                    smpl='smpl_neutral.npz', mapper='mapper.txt',
                    sphereface='sphere20a.pth', config='config.py')
#: recipe config of each generator variant (under configs/)
_RECIPES = dict(lwb='lwgan/lwgan_lwb_1xb4-30e_iper-256.py',
                concat='lwgan/lwgan_wc_1xb4-30e_iper-256.py')


def _configs_dir() -> str:
    pkg = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    for folder in (osp.join(osp.dirname(pkg), 'configs'),
                   osp.join(pkg, '.mim', 'configs')):
        if osp.isdir(folder):
            return osp.realpath(folder)
    raise ConversionError(
        "cannot find mmlwgan's configs/ folder (the released recipe the "
        'written config inherits); pass base_config=')


def _walk(dirs: Sequence[str]):
    seen = set()
    for root in dirs:
        if not osp.isdir(root):
            raise ConversionError(f'release folder {root!r} does not exist')
        for folder, subdirs, files in os.walk(root):
            subdirs.sort()
            for name in sorted(files):
                path = osp.join(folder, name)
                real = osp.realpath(path)
                if real not in seen:
                    seen.add(real)
                    yield path


def find_release_files(dirs: Sequence[str],
                       generator: Optional[str] = None) -> Dict[str, Any]:
    """Find the release's files under ``dirs`` (searched recursively).

    Args:
        dirs (Sequence[str]): folders, e.g. ``['assets']`` or
            ``['assets', 'outputs/checkpoints']``.
        generator (str, optional): which generator: a file, or the name of
            its folder (``lwb_imper``, ``lwb_imper_place``,
            ``lwb_imper_fashion_place``). Default: the release's default
            (``lwb_imper_fashion_place``), else the only one found. The
            latest epoch of the folder is taken.

    Returns:
        dict: paths by role (``generator``, ``discriminator``, ``hmr``,
        ``smpl_faces``, ``smpl_model``, ``mapper``, ``sphereface``,
        ``part_info``; None when absent), ``generators`` (every generator
        folder found) and ``unused`` (files found that mmlwgan does not
        use).

    Raises:
        ConversionError: a required file is missing, or several generators
            fit and none was chosen.
    """
    found: Dict[str, Any] = {role: None for role in _PRETRAIN_FILES.values()}
    runs: Dict[str, Dict[int, Dict[str, str]]] = OrderedDict()
    unused: List[str] = []
    for path in _walk(dirs):
        name = osp.basename(path)
        match = _EPOCH_FILE.match(name)
        folder = osp.basename(osp.dirname(path))
        if match and folder not in _UNUSED_FOLDERS:
            run = runs.setdefault(osp.dirname(path), {})
            run.setdefault(int(match.group(1)), {})[match.group(2)] = path
        elif name in _PRETRAIN_FILES and found[_PRETRAIN_FILES[name]] is None:
            found[_PRETRAIN_FILES[name]] = path
        elif name.endswith(('.pth', '.pkl', '.npy', '.json', '.txt')):
            unused.append(path)

    gen_file = None
    if generator is not None and osp.isfile(generator):
        gen_file = generator
        match = _EPOCH_FILE.match(osp.basename(generator))
        disc = None
        if match:
            disc = osp.join(osp.dirname(generator),
                            f'net_epoch_{match.group(1)}_id_D.pth')
        found['discriminator'] = disc if disc and osp.isfile(disc) else None
    else:
        with_g = OrderedDict((d, e) for d, e in runs.items()
                             if any('G' in f for f in e.values()))
        names = [osp.basename(d) for d in with_g]
        want = generator or RELEASE_DEFAULT_GENERATOR
        chosen = [d for d in with_g if osp.basename(d) == want]
        if not chosen and generator is None and len(with_g) == 1:
            chosen = list(with_g)
        if generator is not None and not chosen:
            raise ConversionError(
                f'no generator {generator!r} under {list(dirs)}: found '
                f'{names or "none"} (give a folder name or a *_id_G.pth '
                'file)')
        if len(chosen) > 1:
            raise ConversionError(
                f'several generator folders named {want!r}: {chosen}; give '
                'the file itself')
        if not chosen and with_g:
            raise ConversionError(
                f'found generators {names} but not the release\'s default '
                f'{RELEASE_DEFAULT_GENERATOR!r}: choose one with '
                '--generator NAME')
        if chosen:
            epochs = with_g[chosen[0]]
            epoch = max(e for e, f in epochs.items() if 'G' in f)
            gen_file = epochs[epoch]['G']
            found['discriminator'] = epochs[epoch].get('D')
        found['generators'] = names
    found['generator'] = gen_file
    if found.get('generators') is None:
        found['generators'] = [osp.basename(osp.dirname(gen_file))]
    used = {osp.realpath(p) for p in (gen_file, found.get('discriminator'))
            if p}
    found['unused'] = unused + [
        f for e in runs.values() for nets in e.values()
        for f in nets.values() if osp.realpath(f) not in used]

    missing = [role for role in ('generator', 'hmr', 'mapper')
               if found[role] is None]
    if found['smpl_faces'] is None and found['smpl_model'] is None:
        missing.append('smpl_faces')
    if missing:
        raise ConversionError(
            f'not found under {list(dirs)}: ' + '; '.join(
                f'{role} from the release\'s {_WHERE[role]}'
                for role in missing) + '. Unpack pretrains.zip and '
            'checkpoints.zip and give their folders (searched recursively)')
    return found


def _generator_variant(state_dict) -> str:
    return 'lwb' if any(k.startswith(('src_model.', 'src_net.'))
                        for k in state_dict) else 'concat'


def _part_labels(path: str, num_faces: int):
    """Per-face labels and names from ``smpl_part_info.json`` (sorted part
    names, as the release); None when it does not cover every face once."""
    with open(path) as f:
        data = json.load(f)
    names = sorted(data)
    labels = np.full(num_faces, -1, dtype=np.int64)
    for i, name in enumerate(names):
        ids = data[name]['face'] if isinstance(data[name], dict) \
            else data[name]
        ids = np.asarray(ids, dtype=np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= num_faces):
            return None
        labels[ids] = i
    if (labels < 0).any():
        return None
    return labels, names


def release_config_text(base_config: str, files: Dict[str, str],
                        image_size: int, sources: Dict[str, str]) -> str:
    """The written ``config.py``: inherits ``base_config``; paths of
    ``files`` (output names) are relative to the config's folder."""
    def rel(name):
        return f"release_dir + '/{name}'"

    src_lines = ''.join(f'#   {role:<14} {path}\n'
                        for role, path in sources.items() if path)
    model = [f"    body_model=dict(model_path={rel(files['smpl'])}),",
             "    cond_encoder=dict(_delete_=True, type='CondMapEncoder', "
             f"mode='uv',\n                      uv_mapping="
             f"{rel(files['mapper'])}),",
             '    rasterizer=dict(image_size=image_size),',
             "    hmr=dict(type='HMR', pretrained="
             f"{rel(files['hmr'])}),"]
    if files.get('sphereface'):
        model.append(f"    face_loss=dict(pretrained="
                     f"{rel(files['sphereface'])}),")
    if files.get('vgg19'):
        model.append(f"    perceptual_loss=dict(pretrained="
                     f"{files['vgg19']!r}),")
    return (
        '# The Liquid Warping GAN release\'s weights, converted by\n'
        '# tools/model_converters/convert_release.py on '
        f"{time.strftime('%Y-%m-%d %H:%M:%S')} from:\n"
        f'{src_lines}'
        '#\n# Run it (nothing to edit; paths are relative to this file\'s '
        'folder,\n# which can be moved as a whole):\n'
        '#   python demo/motion_imitation.py --config '
        f"DIR/{OUTPUT_NAMES['config']} \\\n"
        f"#       --checkpoint DIR/{files['checkpoint']} --src photo.jpg "
        '--ref dance.mp4\n'
        '# HMR estimates the SMPL of the photo and the video; the body '
        'model, the\n# UV mapper and the face-loss network are the '
        "release's.\n"
        "# mmlwgan's released recipe (rerun the converter if the mmlwgan "
        'checkout moves)\n'
        f'_base_ = [{base_config!r}]\n\n'
        "release_dir = '{{ fileDirname }}'\n"
        '# the size the model runs at (the release: 256)\n'
        f'image_size = {int(image_size)}\n\n'
        'model = dict(\n' + '\n'.join(model) + '\n)\n')


def convert_release(dirs: Sequence[str],
                    out_dir: str,
                    generator: Optional[str] = None,
                    image_size: int = 256,
                    vgg19: Optional[str] = None,
                    base_config: Optional[str] = None,
                    verify: bool = True,
                    log=print) -> Dict[str, Any]:
    """Convert the release's assets under ``dirs`` into ``out_dir``.

    Args:
        dirs (Sequence[str]): release folders (searched recursively).
        out_dir (str): output folder (created; files in it are replaced).
        generator (str, optional): see :func:`find_release_files`.
        image_size (int): size the written config runs at. Defaults to 256
            (the release's).
        vgg19 (str, optional): torchvision's ``vgg19-dcbb9e9d.pth`` for the
            perceptual loss (training); the release downloads it, it is not
            in its assets.
        base_config (str, optional): the recipe to inherit. Defaults to the
            released recipe of the generator's variant in mmlwgan's
            ``configs/``.
        verify (bool): build the model from the written config and
            checkpoint (every network loads strictly). Defaults to True.
        log (callable): where progress lines go.

    Returns:
        dict: ``found`` (:func:`find_release_files`), ``written`` (paths by
        role), ``variant``.

    Raises:
        ConversionError: missing files or files that do not convert.
    """
    import torch

    from mmlwgan.models.body.smpl_io import (load_smpl_model_data,
                                             save_smpl_npz)
    from mmlwgan.utils.io import atomic_path
    from .cli import conversion_meta, conversion_summary
    from .hmr import convert_hmr, extract_smpl_from_hmr, load_raw_state_dict
    from .lwgan import convert_lwgan_discriminator, convert_lwgan_generator
    from .sphereface import convert_sphereface
    from .utils import load_checkpoint_file

    found = find_release_files(dirs, generator)
    os.makedirs(out_dir, exist_ok=True)
    out = {k: osp.join(out_dir, v) for k, v in OUTPUT_NAMES.items()}
    written: Dict[str, str] = {}

    # generator (+ discriminator) -> one model checkpoint
    g_sd = load_checkpoint_file(found['generator'])
    variant = _generator_variant(g_sd)
    state = OrderedDict(('generator.' + k, v) for k, v in
                        convert_lwgan_generator(g_sd, variant).items())
    log(conversion_summary(state, found['generator'], out['checkpoint']))
    del g_sd
    if found['discriminator']:
        d_sd = convert_lwgan_discriminator(
            load_checkpoint_file(found['discriminator']))
        log(conversion_summary(d_sd, found['discriminator'],
                               out['checkpoint']))
        state.update(('discriminator.' + k, v) for k, v in d_sd.items())
    meta = conversion_meta(
        found['generator'], 'convert_release', variant=variant,
        discriminator=osp.basename(found['discriminator'] or '') or None,
        flow_align_corners_of_fusion=True)
    with atomic_path(out['checkpoint']) as tmp:
        torch.save(dict(meta=meta, state_dict=state), tmp)
    written['checkpoint'] = out['checkpoint']
    del state

    # HMR -> hmr.pth; its SMPL buffers (+ faces) -> smpl_neutral.npz
    hmr_raw = load_raw_state_dict(found['hmr'])
    try:
        hmr_sd = convert_hmr(hmr_raw)
    except KeyError as e:
        raise ConversionError(f"{found['hmr']}: {e.args[0]}") from None
    with atomic_path(out['hmr']) as tmp:
        torch.save(dict(meta=conversion_meta(found['hmr'], 'convert_release',
                                             model='HMR'),
                        state_dict=hmr_sd), tmp)
    log(conversion_summary(hmr_sd, found['hmr'], out['hmr']))
    written['hmr'] = out['hmr']
    faces = found['smpl_faces']
    if faces is None:
        faces = load_smpl_model_data(found['smpl_model'])['f']
    if any(k.startswith('smpl.') for k in hmr_raw):
        smpl = extract_smpl_from_hmr(hmr_raw, faces=faces)
        smpl_from = found['hmr']
    elif found['smpl_model']:
        smpl = load_smpl_model_data(found['smpl_model'])
        smpl_from = found['smpl_model']
    else:
        raise ConversionError(
            f"{found['hmr']} holds no SMPL buffers (smpl.*) and no "
            'smpl_model.pkl was found')
    del hmr_raw, hmr_sd
    num_faces = int(np.asarray(smpl['f']).shape[0])
    if found['part_info']:
        parts = _part_labels(found['part_info'], num_faces)
        if parts is None:
            log(f"{found['part_info']}: does not cover the {num_faces} faces "
                'once each; body parts left out')
        else:
            smpl['face_part_labels'], smpl['part_names'] = parts
    with atomic_path(out['smpl']) as tmp:
        save_smpl_npz(smpl, tmp)
    log(f'{smpl_from} -> {out["smpl"]}: SMPL, '
        f'{smpl["v_template"].shape[0]} vertices, {num_faces} faces'
        + (', body parts' if 'part_names' in smpl else ''))
    written['smpl'] = out['smpl']

    # UV mapper: copied, checked against the faces
    from mmlwgan.models.renderers import load_uv_mapping
    try:
        face_uv = load_uv_mapping(found['mapper'])['face_uv']
    except (ValueError, IndexError) as e:
        raise ConversionError(f"{found['mapper']}: not a UV mapper ({e})")
    if face_uv.shape[0] != num_faces:
        raise ConversionError(
            f"{found['mapper']} maps {face_uv.shape[0]} faces, the SMPL of "
            f'{smpl_from} has {num_faces}')
    if osp.realpath(found['mapper']) != osp.realpath(out['mapper']):
        shutil.copyfile(found['mapper'], out['mapper'])
    log(f"{found['mapper']} -> {out['mapper']}: UV map of {num_faces} faces")
    written['mapper'] = out['mapper']

    files = dict(OUTPUT_NAMES)
    if found['sphereface']:
        try:
            sf_sd = convert_sphereface(load_raw_state_dict(
                found['sphereface']))
        except KeyError as e:
            raise ConversionError(
                f"{found['sphereface']}: {e.args[0]}") from None
        with atomic_path(out['sphereface']) as tmp:
            torch.save(dict(meta=conversion_meta(
                found['sphereface'], 'convert_release',
                model='SphereFace20a'), state_dict=sf_sd), tmp)
        log(conversion_summary(sf_sd, found['sphereface'],
                               out['sphereface']))
        written['sphereface'] = out['sphereface']
    else:
        files['sphereface'] = None
        log('no sphere20a_20171020.pth: the face loss (personalisation, '
            'training) stays random')
    if vgg19:
        files['vgg19'] = osp.abspath(vgg19)

    if base_config is None:
        base_config = osp.join(_configs_dir(), _RECIPES[variant])
    sources = OrderedDict(
        generator=found['generator'], discriminator=found['discriminator'],
        hmr=found['hmr'], smpl_faces=found['smpl_faces'],
        smpl_model=None if found['smpl_faces'] else found['smpl_model'],
        mapper=found['mapper'], sphereface=found['sphereface'],
        part_info=found['part_info'])
    text = release_config_text(osp.abspath(base_config), files, image_size,
                               {k: osp.abspath(v) for k, v in sources.items()
                                if v})
    with atomic_path(out['config']) as tmp:
        with open(tmp, 'w') as f:
            f.write(text)
    written['config'] = out['config']
    log(f"config -> {out['config']} (inherits {base_config})")

    if verify:
        from mmlwgan.apis.inference import init_model
        model = init_model(out['config'], out['checkpoint'])
        if model.hmr is None or model.hmr.checkpoint is None:
            raise ConversionError('the written config builds no HMR')
        del model
        log('verified: the model builds from the config and every network '
            'loads its weights')
    if found['unused']:
        log('not used by mmlwgan: ' + ', '.join(
            osp.relpath(p, osp.commonpath([osp.abspath(d) for d in dirs]))
            if len(dirs) else p for p in found['unused']))
    return dict(found=found, written=written, variant=variant)
