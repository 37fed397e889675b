# Copyright (c) mmlwgan contributors. All rights reserved.
"""Rasterizer backends and render-side encoders."""
from .cond_maps import (CANONICAL_BACKGROUND, UV_BACKGROUND, CondMapEncoder,
                        canonical_cond_map, face_values_map,
                        interpolate_face_vertex_values,
                        interpolate_vertex_values, load_uv_mapping,
                        release_face_uv, silhouette, uv_cond_map,
                        uv_cond_map_interp)
from .fragments import BACKGROUND_DEPTH, BACKGROUND_FACE, Fragments
from .pytorch3d_backend import (pytorch3d_available,
                                rasterize_meshes_pytorch3d)
from .rasterizer import MeshRasterizer
from .shading import face_normals, shade_vertex_colors, texture_lookup
from .torch_backend import rasterize_meshes_torch

__all__ = [
    'Fragments', 'BACKGROUND_DEPTH', 'BACKGROUND_FACE', 'MeshRasterizer',
    'rasterize_meshes_torch', 'rasterize_meshes_pytorch3d',
    'pytorch3d_available', 'silhouette', 'face_values_map',
    'interpolate_face_vertex_values', 'interpolate_vertex_values',
    'uv_cond_map', 'uv_cond_map_interp', 'canonical_cond_map',
    'load_uv_mapping', 'release_face_uv', 'CondMapEncoder', 'UV_BACKGROUND',
    'CANONICAL_BACKGROUND', 'face_normals', 'shade_vertex_colors',
    'texture_lookup'
]
