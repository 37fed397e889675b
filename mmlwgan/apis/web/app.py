# Copyright (c) mmlwgan contributors. All rights reserved.
"""The Gradio page: one tab per task, over a :class:`WebRunner`.

Each tab takes photo(s) of the person (and optionally their SMPL file), a
reference where the task has one, the main options, and shows the result
video (playable and downloadable) with the status line of the run: the
frame count and time, or the one ``error: ...`` line the command-line demos
print. Runs go through Gradio's queue, one at a time across all tabs
(``concurrency_id='lwgan'``), with a progress bar fed by the inferencers'
progress callback.
"""
import functools
import traceback
from typing import Any, Callable, Dict, List, Optional, Tuple

from .runner import WebRunner, error_line, source_list

__all__ = ['build_app', 'launch_kwargs']

CSS = """
.status-line textarea {font-family: ui-monospace, monospace;}
footer {display: none !important;}
"""

INTRO = """# mmlwgan: Liquid Warping GAN
Upload a photo of a person (or several: front, back...) and a reference,
or click an example. The bundled model is a tiny 64 px generator trained on
the project's **synthetic** people: it shows the pipeline, it is not a model
of real people. Without a SMPL file for a photo, the model's HMR estimates it.
"""

BACKGROUNDS = ['inpainted', 'original', 'generated', 'picture']
FILE_HEIGHT = 130  # px, upload boxes
VIDEO_HEIGHT = 300  # px, result players


def _progress_callback(progress: Any) -> Callable:
    """A ``(stage, done, total)`` callback driving a ``gr.Progress``."""

    def callback(stage: str, done: int, total: Optional[int]) -> None:
        progress((done, total), desc=stage, unit='steps')

    return callback


def _background(choice: str, picture: Optional[str]) -> str:
    if choice == 'picture':
        if not picture:
            raise ValueError("background 'picture': upload a background "
                             'picture')
        return picture
    return choice


def _result(res: Dict[str, Any], what: str) -> Tuple[str, Any, Any, list]:
    """Status line, result video, side-by-side video and the files to
    download, from a :meth:`WebRunner.run` result."""
    files = [
        res[k] for k in ('video', 'side_by_side', 'image') if res.get(k)
    ]
    n = res['num_frames']
    status = (f"done: {n} {what if n != 1 else what[:-1]} in "
              f"{res['seconds']:.1f} s "
              f"({n / max(res['seconds'], 1e-6):.1f} frames/s)")
    return status, res.get('video'), res.get('side_by_side'), files


def _guarded(fn: Callable) -> Callable:
    """Turn an exception of ``fn`` into the CLI's one ``error:`` line in the
    status box (and empty outputs) instead of a failed event; the traceback
    goes to the server's console."""

    @functools.wraps(fn)  # keeps the gr.Progress parameter visible
    def run(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as e:  # noqa: BLE001 - as the CLIs: one line
            traceback.print_exc()
            return error_line(e), None, None, []

    return run


def _person_inputs(gr, tab: str) -> Tuple[Any, Any]:
    src = gr.File(label='Photo(s) of the person', file_count='multiple',
                  file_types=['image'], height=FILE_HEIGHT,
                  elem_id=f'{tab}-src')
    src_smpl = gr.File(label='Their SMPL (optional: .pkl / .npz / .npy)',
                       file_types=['.pkl', '.npz', '.npy'],
                       height=FILE_HEIGHT, elem_id=f'{tab}-src-smpl')
    return src, src_smpl


def _common_options(gr, tab: str) -> List[Any]:
    with gr.Row():
        bg = gr.Radio(BACKGROUNDS, value='inpainted', label='Background',
                      info="'inpainted': the photo's own, the person removed "
                      "by OpenCV; 'original': the same, filled by the "
                      "model's G_BG; 'generated': all G_BG's (models that "
                      "keep the known pixels: as 'original'); or a picture",
                      elem_id=f'{tab}-background')
        bg_pic = gr.Image(label='Background picture', type='filepath',
                          height=120, elem_id=f'{tab}-background-picture')
    with gr.Row():
        sbs = gr.Checkbox(label='Side by side (source | reference | '
                          'result)', value=True, elem_id=f'{tab}-sbs')
        steps = gr.Slider(0, 200, value=0, step=10,
                          label='Personalisation steps (0: off; ~7 s a '
                          'step at 256 px on a CPU)',
                          elem_id=f'{tab}-steps')
    return [bg, bg_pic, sbs, steps]


def _outputs(gr, tab: str) -> List[Any]:
    status = gr.Textbox(label='Status', interactive=False, lines=1,
                        max_lines=3, elem_id=f'{tab}-status',
                        elem_classes=['status-line'])
    with gr.Row():
        video = gr.Video(label='Result', interactive=False, loop=True,
                         autoplay=True, buttons=['download'],
                         height=VIDEO_HEIGHT, elem_id=f'{tab}-video')
        sbs_video = gr.Video(label='Side by side', interactive=False,
                             loop=True, autoplay=True, buttons=['download'],
                             height=VIDEO_HEIGHT,
                             elem_id=f'{tab}-sbs-video')
    files = gr.File(label='Download', file_count='multiple',
                    interactive=False, elem_id=f'{tab}-files')
    return [status, video, sbs_video, files]


def build_app(runner: WebRunner, examples: Optional[Dict[str, str]] = None,
              clothes: Optional[Dict[str, str]] = None,
              part_names: Optional[List[str]] = None) -> Any:
    """Build the Gradio Blocks of the three tasks.

    Args:
        runner (WebRunner): runs the tasks.
        examples (dict, optional): :func:`~.examples.demo_inputs` (source,
            source_smpl, motion) offered as clickable examples.
        clothes (dict, optional): :func:`~.examples.clothes_example`
            (image, smpl) for appearance transfer's example.
        part_names (list, optional): body parts offered to keep from the
            person in appearance transfer.

    Returns:
        gradio.Blocks: call ``.queue(...).launch(**launch_kwargs())``.
    """
    import gradio as gr

    def imitate(src, src_smpl, ref, ref_smpl, bg, bg_pic, sbs, steps, cam,
                smooth, progress=gr.Progress()):
        res = runner.run(
            'imitation', _progress_callback(progress),
            src=_need(source_list(src), 'upload a photo of the person'),
            ref=_need(ref, 'upload a reference video, image or SMPL file'),
            src_smpl=src_smpl, ref_smpl=ref_smpl, cam_strategy=cam,
            smooth=int(smooth) if int(smooth) > 1 else False,
            background=_background(bg, bg_pic), side_by_side=bool(sbs),
            personalize_steps=int(steps))
        return _result(res, 'frames')

    def transfer(src, src_smpl, ref, ref_smpl, keep, bg, bg_pic, sbs, steps,
                 progress=gr.Progress()):
        res = runner.run(
            'transfer', _progress_callback(progress),
            src=_need(source_list(src), 'upload a photo of the person'),
            ref=_need(ref, 'upload a photo or video of the clothes'),
            src_smpl=src_smpl, ref_smpl=ref_smpl,
            keep_parts=tuple(keep or ()),
            background=_background(bg, bg_pic), side_by_side=bool(sbs),
            personalize_steps=int(steps))
        return _result(res, 'frames')

    def novel_view(src, src_smpl, views, t_pose, bg, bg_pic, sbs, steps,
                   progress=gr.Progress()):
        res = runner.run(
            'view', _progress_callback(progress),
            src=_need(source_list(src), 'upload a photo of the person'),
            src_smpl=src_smpl, num_views=int(views), t_pose=bool(t_pose),
            background=_background(bg, bg_pic), side_by_side=bool(sbs),
            personalize_steps=int(steps))
        return _result(res, 'views')

    ex = examples or {}
    with gr.Blocks(title='mmlwgan', analytics_enabled=False) as app:
        gr.Markdown(INTRO)
        with gr.Tabs():
            with gr.Tab('Motion imitation', id='imitation'):
                with gr.Row():
                    with gr.Column():
                        src, src_smpl = _person_inputs(gr, 'imitation')
                        ref = gr.File(
                            label='Reference: video, image or SMPL '
                            'sequence (.pkl / .npz / .npy)',
                            height=FILE_HEIGHT, elem_id='imitation-ref')
                        ref_smpl = gr.File(
                            label='Reference SMPL (optional, one per frame)',
                            file_types=['.pkl', '.npz', '.npy'],
                            height=FILE_HEIGHT, elem_id='imitation-ref-smpl')
                    with gr.Column():
                        opts = _common_options(gr, 'imitation')
                        with gr.Row():
                            cam = gr.Dropdown(
                                ['smooth', 'source', 'copy'], value='smooth',
                                label='Camera', elem_id='imitation-cam')
                            smooth = gr.Slider(
                                1, 15, value=1, step=2,
                                label='Smoothing window (frames; 1: off)',
                                elem_id='imitation-smooth')
                        run = gr.Button('Run motion imitation',
                                        variant='primary',
                                        elem_id='imitation-run')
                outs = _outputs(gr, 'imitation')
                if ex:
                    gr.Examples([[[ex['source']], ex['source_smpl'],
                                  ex['motion']]], [src, src_smpl, ref],
                                label='Example: synthetic person + dance '
                                '(SMPL sequence)')
                run.click(_guarded(imitate),
                          [src, src_smpl, ref, ref_smpl] + opts +
                          [cam, smooth], outs, concurrency_id='lwgan',
                          concurrency_limit=1)

            with gr.Tab('Appearance transfer', id='transfer'):
                with gr.Row():
                    with gr.Column():
                        t_src, t_src_smpl = _person_inputs(gr, 'transfer')
                        t_ref = gr.File(
                            label='Clothes: photo(s) or video of another '
                            'person', height=FILE_HEIGHT,
                            elem_id='transfer-ref')
                        t_ref_smpl = gr.File(
                            label='Their SMPL (optional)',
                            file_types=['.pkl', '.npz', '.npy'],
                            height=FILE_HEIGHT, elem_id='transfer-ref-smpl')
                    with gr.Column():
                        keep = gr.CheckboxGroup(
                            part_names or ['head'], value=['head'],
                            label='Keep from the person',
                            elem_id='transfer-keep')
                        t_opts = _common_options(gr, 'transfer')
                        t_run = gr.Button('Run appearance transfer',
                                          variant='primary',
                                          elem_id='transfer-run')
                t_outs = _outputs(gr, 'transfer')
                if ex and clothes:
                    gr.Examples([[[ex['source']], ex['source_smpl'],
                                  clothes['image'], clothes['smpl']]],
                                [t_src, t_src_smpl, t_ref, t_ref_smpl],
                                label='Example: two synthetic people')
                t_run.click(_guarded(transfer),
                            [t_src, t_src_smpl, t_ref, t_ref_smpl, keep] +
                            t_opts, t_outs, concurrency_id='lwgan',
                            concurrency_limit=1)

            with gr.Tab('Novel view', id='view'):
                with gr.Row():
                    with gr.Column():
                        v_src, v_src_smpl = _person_inputs(gr, 'view')
                    with gr.Column():
                        with gr.Row():
                            views = gr.Slider(1, 96, value=36, step=1,
                                              label='Number of views '
                                              '(a 360-degree turn)',
                                              elem_id='view-num')
                            t_pose = gr.Checkbox(label='T-pose',
                                                 elem_id='view-tpose')
                        v_opts = _common_options(gr, 'view')
                        v_run = gr.Button('Run novel view',
                                          variant='primary',
                                          elem_id='view-run')
                v_outs = _outputs(gr, 'view')
                if ex:
                    gr.Examples([[[ex['source']], ex['source_smpl']]],
                                [v_src, v_src_smpl],
                                label='Example: synthetic person')
                v_run.click(_guarded(novel_view),
                            [v_src, v_src_smpl, views, t_pose] + v_opts,
                            v_outs, concurrency_id='lwgan',
                            concurrency_limit=1)
    return app


def _need(value: Any, what: str) -> Any:
    if not value:
        raise ValueError(what)
    return value


def launch_kwargs(runner: WebRunner, host: str = '127.0.0.1',
                  port: Optional[int] = None) -> Dict[str, Any]:
    """Arguments of ``Blocks.launch``: local only, no share link, offline
    theme (system fonts), results folder served."""
    import gradio as gr
    font = ['ui-sans-serif', 'system-ui', 'sans-serif']
    mono = ['ui-monospace', 'monospace']
    return dict(server_name=host, server_port=port, share=False,
                inbrowser=False, allowed_paths=[runner.out_root],
                theme=gr.themes.Default(font=font, font_mono=mono), css=CSS,
                show_error=False, quiet=True)
