# Copyright (c) mmlwgan contributors. All rights reserved.
"""A local web app for the three tasks (``make web``; needs the ``web``
extra: ``pip install -e .[web]``).

Gradio is imported only by :func:`~.app.build_app`; nothing in the core
package imports this subpackage.
"""
from .runner import WebRunner, error_line, source_list, to_browser_video

__all__ = ['WebRunner', 'error_line', 'source_list', 'to_browser_video']
