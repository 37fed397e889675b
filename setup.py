# Copyright (c) mmlwgan contributors. All rights reserved.
import os
import os.path as osp
import shutil
import sys
import warnings

from setuptools import find_packages, setup


def readme():
    with open('README.md', encoding='utf-8') as f:
        return f.read()


def get_version():
    scope = {}
    with open(osp.join('mmlwgan', 'version.py'), encoding='utf-8') as f:
        exec(compile(f.read(), 'version.py', 'exec'), scope)
    return scope['__version__']


def parse_requirements(fname):
    """Read a requirements file, skipping comments and ``-r`` includes."""
    reqs = []
    with open(fname, encoding='utf-8') as f:
        for line in f:
            line = line.split('#')[0].strip()
            if line and not line.startswith('-'):
                reqs.append(line)
    return reqs


def add_mim_extension():
    """Copy configs, tools, demo and model-index.yml into ``mmlwgan/.mim``.

    This lets ``mim train mmlwgan ...`` and ``mmlwgan::`` config references
    work from an installed package. Editable installs get symlinks.
    """
    if 'develop' in sys.argv or any('editable' in a for a in sys.argv):
        mode = 'symlink'
    elif 'sdist' in sys.argv or 'bdist_wheel' in sys.argv:
        mode = 'copy'
    else:
        return
    filenames = ['tools', 'configs', 'demo', 'model-index.yml']
    repo_path = osp.dirname(__file__)
    mim_path = osp.join(repo_path, 'mmlwgan', '.mim')
    os.makedirs(mim_path, exist_ok=True)
    for filename in filenames:
        src = osp.join(repo_path, filename)
        tar = osp.join(mim_path, filename)
        if not osp.exists(src):
            continue
        if osp.isfile(tar) or osp.islink(tar):
            os.remove(tar)
        elif osp.isdir(tar):
            shutil.rmtree(tar)
        if mode == 'symlink':
            try:
                os.symlink(osp.relpath(src, osp.dirname(tar)), tar)
                continue
            except OSError:
                warnings.warn(f'Failed to symlink {src}; copying instead.')
        if osp.isfile(src):
            shutil.copyfile(src, tar)
        else:
            shutil.copytree(src, tar)


if __name__ == '__main__':
    add_mim_extension()
    setup(
        name='mmlwgan',
        version=get_version(),
        description='Liquid Warping GAN (motion imitation, appearance '
        'transfer, novel view synthesis) as an OpenMMLab plugin',
        long_description=readme(),
        long_description_content_type='text/markdown',
        keywords='computer vision, human image synthesis, motion imitation',
        packages=find_packages(exclude=('configs', 'tools', 'demo', 'tests')),
        include_package_data=True,
        python_requires='>=3.8',
        license='Apache License 2.0',
        install_requires=parse_requirements('requirements/runtime.txt'),
        extras_require={
            'tests': parse_requirements('requirements/tests.txt'),
            'optional': parse_requirements('requirements/optional.txt'),
            'mim': parse_requirements('requirements/mminstall.txt'),
            'web': parse_requirements('requirements/web.txt'),
            'all': (parse_requirements('requirements/runtime.txt')
                    + parse_requirements('requirements/optional.txt')
                    + parse_requirements('requirements/tests.txt')),
        },
        zip_safe=False)
