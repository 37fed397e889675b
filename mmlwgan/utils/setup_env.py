# Copyright (c) mmlwgan contributors. All rights reserved.
"""``register_all_modules``.

The packages it registers (``mmlwgan.models`` first) import
:mod:`mmlwgan.utils`, so it imports them when called, never at module level
(as mmpose and mmagic do): importing :mod:`mmlwgan.utils` loads no other
mmlwgan package, and any import order works
(``tests/test_utils/test_import_order.py``).
"""
import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every mmlwgan module so that its parts are registered.

    Args:
        init_default_scope (bool): Whether to set the default scope to
            ``'mmlwgan'``, so that registries resolve ``type`` names without a
            scope prefix. Defaults to True.
    """
    import mmlwgan.models  # noqa: F401,F403 (here, not at module level)
    from .checkpoint import use_safe_checkpoint_loader
    use_safe_checkpoint_loader()

    for name in ('datasets', 'engine', 'evaluation', 'visualization', 'apis'):
        try:
            __import__(f'mmlwgan.{name}')
        except ModuleNotFoundError as e:  # package not written yet
            if e.name != f'mmlwgan.{name}':
                raise

    if not init_default_scope:
        return
    never_created = (DefaultScope.get_current_instance() is None
                     or not DefaultScope.check_instance_created('mmlwgan'))
    if never_created:
        DefaultScope.get_instance('mmlwgan', scope_name='mmlwgan')
        return
    current_scope = DefaultScope.get_current_instance()
    if current_scope.scope_name != 'mmlwgan':
        warnings.warn('The current default scope '
                      f'"{current_scope.scope_name}" is not "mmlwgan", '
                      '`register_all_modules` will force the current '
                      'default scope to be "mmlwgan". If this is not '
                      'expected, please set `init_default_scope=False`.')
        # avoid name conflict
        new_instance_name = f'mmlwgan-{datetime.datetime.now()}'
        DefaultScope.get_instance(new_instance_name, scope_name='mmlwgan')
