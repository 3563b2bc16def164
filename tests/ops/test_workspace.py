"""ops/workspace.py: the scratch arrays layers and optimisers keep between calls."""

import numpy as np
import pytest

from ttnet.ops.workspace import scratch, scratch_prefix


def test_scratch_reuses_an_array_of_the_same_shape_and_dtype():
    workspace = {}
    a = scratch(workspace, "cols", (3, 4), np.float32)
    assert scratch(workspace, "cols", (3, 4), np.float32) is a
    assert scratch(workspace, "cols", (4, 3), np.float32) is not a
    assert scratch(None, "cols", (3, 4), np.float32) is not a


def test_scratch_prefix_grows_to_the_largest_request_and_then_reuses_it():
    workspace = {}
    small = scratch_prefix(workspace, "update", (2, 3), np.float32)
    assert small.shape == (2, 3) and small.dtype == np.float32
    big = scratch_prefix(workspace, "update", (5, 4), np.float32)      # grows: a new buffer
    assert not np.shares_memory(small, big)
    again = scratch_prefix(workspace, "update", (3,), np.float32)      # fits: the same buffer
    assert again.shape == (3,) and np.shares_memory(again, big)
    assert workspace["update/float32"].size == 20


def test_scratch_prefix_keeps_one_buffer_per_dtype():
    workspace = {}
    a = scratch_prefix(workspace, "update", (4,), np.float32)
    b = scratch_prefix(workspace, "update", (4,), np.float64)
    assert b.dtype == np.float64 and not np.shares_memory(a, b)
    assert np.shares_memory(scratch_prefix(workspace, "update", (2, 2), np.float32), a)


def test_scratch_prefix_needs_a_dict():
    with pytest.raises(TypeError, match=r"workspace must be a dict, got None"):
        scratch_prefix(None, "update", (2,), np.float32)
