# Copyright (c) mmlwgan contributors. All rights reserved.
"""The web app's bundled examples and the model they go with.

The model is the one ``make demo`` runs: the narrow LWB generator trained on
the project's synthetic data (``demo/checkpoints/``), with the synthetic
SMPL-format body it was trained with (regenerated once into a cache
folder). The inputs are ``demo/data/``: a held-out synthetic person with its
SMPL, and a dance as a SMPL sequence. Appearance transfer needs a second
person whose clothes to take: one is rendered once (deterministically,
a held-out synthetic actor in a rest pose) into the cache folder.
"""
import os
import os.path as osp
import pickle
from typing import Dict

import numpy as np

__all__ = ['DEMO_DIR', 'DEMO_CONFIG', 'DEMO_CHECKPOINT', 'demo_inputs',
           'demo_cfg_options', 'clothes_example']

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
#: ``demo/`` of the repository (or of the installed package's ``.mim``)
DEMO_DIR = osp.join(ROOT, 'demo')
if not osp.isdir(DEMO_DIR):  # pragma: no cover - installed, not editable
    DEMO_DIR = osp.join(ROOT, 'mmlwgan', '.mim', 'demo')
_CONFIGS = osp.join(osp.dirname(DEMO_DIR), 'configs')
DEMO_CONFIG = osp.join(_CONFIGS, 'lwgan',
                       'lwgan_lwb-tiny-v3_1xb4-4000i_synthetic-64.py')
DEMO_CHECKPOINT = osp.join(DEMO_DIR, 'checkpoints',
                           'lwgan_lwb-tiny-v3_synthetic-64_fp16.pth')
DEFAULT_CACHE = osp.expanduser('~/.cache/mmlwgan/synthetic_smpl')


def demo_inputs() -> Dict[str, str]:
    """Paths of the bundled inputs: ``source`` (image), ``source_smpl``
    and ``motion`` (a 60-frame SMPL sequence)."""
    data = osp.join(DEMO_DIR, 'data')
    return dict(source=osp.join(data, 'source.png'),
                source_smpl=osp.join(data, 'source_smpl.pkl'),
                motion=osp.join(data, 'motion.pkl'))


def demo_cfg_options(cache_dir: str = DEFAULT_CACHE) -> Dict[str, str]:
    """Config overrides pointing the demo model at the synthetic body
    (written once into ``cache_dir``)."""
    from mmlwgan.synthetic import get_synthetic_smpl_path
    return {'model.body_model.model_path': get_synthetic_smpl_path(cache_dir)}


def clothes_example(cache_dir: str = DEFAULT_CACHE,
                    size: int = 128) -> Dict[str, str]:
    """A second synthetic person (other body, other clothes) for appearance
    transfer, rendered once into ``cache_dir``.

    Returns:
        dict: ``image`` (``clothes.png``) and ``smpl``
        (``clothes_smpl.pkl``, the iPER ``pose_shape.pkl`` layout).
    """
    image = osp.join(cache_dir, 'clothes.png')
    smpl = osp.join(cache_dir, 'clothes_smpl.pkl')
    if osp.isfile(image) and osp.isfile(smpl):
        return dict(image=image, smpl=smpl)
    import torch

    from mmlwgan.synthetic import get_synthetic_smpl_path
    from mmlwgan.synthetic.motions import rest_arms_down
    from mmlwgan.synthetic.iper import (SyntheticIPERRenderer, actor_params,
                                        make_cloth_spec, synthetic_background)
    from mmlwgan.utils import atomic_path, write_image
    from mmlwgan.visualization import fit_weak_perspective_camera
    renderer = SyntheticIPERRenderer(get_synthetic_smpl_path(cache_dir), size)
    seed, actor_id = 2024, 9  # not an actor of the training data
    actor = actor_params(seed, actor_id)
    cloth = make_cloth_spec(seed, actor_id, 0)
    pose = torch.from_numpy(rest_arms_down(1, arm_angle=1.1)).float()
    betas = torch.tensor([actor['betas']], dtype=torch.float32)
    with torch.no_grad():
        verts = renderer.renderer.posed_vertices(pose, betas)
        cam = fit_weak_perspective_camera(verts, 0.15)
    theta = torch.cat([cam, pose, betas], 1).numpy().astype(np.float32)
    frames, _ = renderer.render(theta, actor, cloth,
                                synthetic_background(size, seed + 1))
    os.makedirs(cache_dir, exist_ok=True)
    write_image(image, frames[0])
    with atomic_path(smpl) as tmp, open(tmp, 'wb') as f:
        pickle.dump(dict(cams=theta[:, :3], pose=theta[:, 3:75],
                         shape=theta[:, 75:]), f)
    return dict(image=image, smpl=smpl)
