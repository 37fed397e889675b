# Copyright (c) mmlwgan contributors. All rights reserved.
"""Test helpers: a brute-force rasterizer (the reference of the rasterizer
tests) and a fake release assets folder (random weights in the release's
exact key layout). Synthetic data lives in :mod:`mmlwgan.synthetic`."""
