"""long_sum_matmul: the product it claims, in slices, whatever the thread count."""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from ttnet import blas
from ttnet.blas import MIN_SLICE, long_sum_matmul


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize("K", [7, MIN_SLICE, 2 * MIN_SLICE + 1, 5 * MIN_SLICE + 3])
def test_two_dimensional_is_a_matrix_product(dtype, tol, K):
    rng = np.random.default_rng(K)
    a, b = rng.standard_normal((5, K)).astype(dtype), rng.standard_normal((K, 3)).astype(dtype)
    out = long_sum_matmul(a, b)
    assert out.shape == (5, 3) and out.dtype == dtype
    np.testing.assert_allclose(out, a.astype(np.float64) @ b, rtol=tol, atol=tol * np.sqrt(K))


def test_stacked_is_the_sum_of_the_products_and_reads_transposes_in_place():
    rng = np.random.default_rng(0)
    D = rng.standard_normal((4, 6, 3 * MIN_SLICE + 5))
    T = rng.standard_normal((4, 2, 3 * MIN_SLICE + 5))
    out = long_sum_matmul(D, T.transpose(0, 2, 1))             # Σ_p D[p] T[p]ᵀ
    np.testing.assert_allclose(out, sum(D[p] @ T[p].T for p in range(4)), rtol=1e-12)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_the_split_follows_the_blas_thread_count_and_is_deterministic(threads, monkeypatch):
    seen = []
    original = blas._partial

    def spy(a, b, start, stop):
        seen.append((start, stop))
        return original(a, b, start, stop)

    monkeypatch.setattr(blas, "_partial", spy)
    rng = np.random.default_rng(1)
    K = 4 * MIN_SLICE
    a, b = rng.standard_normal((3, K)), rng.standard_normal((K, 3))
    with threadpool_limits(limits=threads, user_api="blas"):
        first = long_sum_matmul(a, b)
        second = long_sum_matmul(a, b)
    assert sorted(seen) == sorted([(K * t // threads, K * (t + 1) // threads)
                                   for t in range(threads)] * 2)
    np.testing.assert_array_equal(first, second)               # same slices, same order


def test_short_sums_run_as_one_product(monkeypatch):
    calls = []
    original = blas._partial
    monkeypatch.setattr(blas, "_partial", lambda a, b, s, e: calls.append((s, e)) or
                        original(a, b, s, e))
    a, b = np.ones((2, MIN_SLICE)), np.ones((MIN_SLICE, 2))
    with threadpool_limits(limits=2, user_api="blas"):
        np.testing.assert_array_equal(long_sum_matmul(a, b), np.full((2, 2), MIN_SLICE))
    assert calls == [(0, MIN_SLICE)]


def test_nan_propagates():
    a, b = np.ones((2, 3 * MIN_SLICE)), np.ones((3 * MIN_SLICE, 2))
    a[1, -1] = np.nan
    out = long_sum_matmul(a, b)
    assert np.isnan(out[1]).all() and np.isfinite(out[0]).all()


@pytest.mark.parametrize("a, b, error, words", [
    ([[1.0]], np.ones((1, 1)), TypeError, "a must be a float32 or float64 ndarray"),
    (np.ones((1, 1)), np.ones((1, 1), np.int64), TypeError, "b must be a float32 or float64"),
    (np.ones((1, 1)), np.ones((1, 1), np.float32), TypeError, "one dtype"),
    (np.ones((2, 3)), np.ones((2, 3)), ValueError, r"got shapes \(2, 3\) and \(2, 3\)"),
    (np.ones((2, 2, 3)), np.ones((3, 3, 1)), ValueError, "must be"),
    (np.ones(3), np.ones(3), ValueError, "must be"),
])
def test_bad_input_gets_a_clear_error(a, b, error, words):
    with pytest.raises(error, match=words):
        long_sum_matmul(a, b)


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("shared", [True, False])
def test_batched_matmul_is_np_matmul_product_by_product(threads, shared):
    rng = np.random.default_rng(threads)
    b = rng.standard_normal((5, 4, 3)).astype(np.float32)
    a = rng.standard_normal((2, 4) if shared else (5, 2, 4)).astype(np.float32)
    with threadpool_limits(limits=threads, user_api="blas"):
        out = blas.batched_matmul(a, b)
    with threadpool_limits(limits=1, user_api="blas"):
        expected = np.matmul(a, b)
    assert out.shape == (5, 2, 3) and out.dtype == np.float32
    np.testing.assert_array_equal(out, expected)    # each product as one thread computes it


def test_a_stack_of_one_is_np_matmul():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((1, 4, 5))
    np.testing.assert_array_equal(blas.batched_matmul(a, b), np.matmul(a, b))


def test_batched_matmul_refuses_shapes_that_do_not_chain():
    with pytest.raises(ValueError, match=r"got shapes \(2, 5\) and \(3, 4, 1\)"):
        blas.batched_matmul(np.ones((2, 5)), np.ones((3, 4, 1)))
    with pytest.raises(ValueError, match="must be"):
        blas.batched_matmul(np.ones((2, 2, 4)), np.ones((3, 4, 1)))
    with pytest.raises(TypeError, match="one dtype"):
        blas.batched_matmul(np.ones((2, 4)), np.ones((3, 4, 1), np.float32))


def test_the_callers_floating_point_settings_reach_the_threads():
    a = np.full((2, 3 * MIN_SLICE), np.inf)
    b = np.zeros((3 * MIN_SLICE, 2))                         # inf * 0: "invalid value"
    with threadpool_limits(limits=2, user_api="blas"):
        with np.errstate(all="ignore"):                    # silenced here, and in the workers
            assert np.isnan(long_sum_matmul(a, b)).all()
            assert np.isnan(blas.batched_matmul(a[:, :4], np.zeros((3, 4, 2)))).all()
        with np.errstate(invalid="raise"):
            with pytest.raises(FloatingPointError):
                long_sum_matmul(a, b)


@pytest.mark.parametrize("threads", [1, 2])
def test_batched_matmul_writes_into_out_with_any_strides(threads, monkeypatch):
    monkeypatch.setattr(blas, "_blas_threads", lambda: threads)
    rng = np.random.default_rng(6)
    a, b = rng.standard_normal((3, 4, 5)), rng.standard_normal((3, 5, 6))
    buffer = np.zeros((3, 7, 6))
    out = buffer[:, 1:5]                                 # strided: rows 1..4 of each matrix
    assert blas.batched_matmul(a, b, out=out) is out
    np.testing.assert_array_equal(out, np.matmul(a, b))
    assert not buffer[:, [0, 5, 6]].any()


def test_batched_matmul_refuses_a_bad_out():
    a, b = np.ones((2, 3, 4)), np.ones((2, 4, 5))
    with pytest.raises(TypeError, match="out must be a NumPy array"):
        blas.batched_matmul(a, b, out=[[0.0]])
    with pytest.raises(ValueError,
                       match=r"out must be an array of shape \(2, 3, 5\) and dtype float64"):
        blas.batched_matmul(a, b, out=np.empty((2, 3, 5), np.float32))
    with pytest.raises(ValueError, match=r"out must be an array of shape \(2, 3, 5\)"):
        blas.batched_matmul(a, b, out=np.empty((2, 5, 3)))
    read_only = np.empty((2, 3, 5))
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="out must be writeable"):
        blas.batched_matmul(a, b, out=read_only)


def test_batched_matmul_refuses_an_out_that_overlaps_its_inputs():
    b = np.ones((2, 4, 4))
    with pytest.raises(ValueError, match="out must not overlap a or b"):
        blas.batched_matmul(np.ones((2, 4, 4)), b, out=b)


# ---------------------------------------------------------------- map_on_threads
@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("count", [0, 1, 2, 7])
def test_map_on_threads_calls_work_once_per_item_and_keeps_their_order(threads, count):
    seen = []

    def work(item, t):
        seen.append(item)
        assert 0 <= t < max(1, min(threads, count))
        return item * item
    with threadpool_limits(limits=threads, user_api="blas"):
        assert blas.map_on_threads(work, range(count)) == [i * i for i in range(count)]
    assert sorted(seen) == list(range(count))


def test_map_on_threads_shares_the_items_out_as_the_threads_fall_free():
    """One slow call does not hold up the other items: the other thread takes them."""
    import threading
    import time
    threads_of = {}

    def work(item, t):
        if item == 0:
            time.sleep(0.3)
        threads_of[item] = threading.get_ident()
    with threadpool_limits(limits=2, user_api="blas"):
        blas.map_on_threads(work, range(6))
    assert all(threads_of[item] != threads_of[0] for item in range(1, 6))


def test_map_on_threads_runs_each_call_on_one_blas_thread():
    with threadpool_limits(limits=2, user_api="blas"):
        counts = blas.map_on_threads(lambda item, t: blas._blas_threads(), range(4))
    assert counts == [1] * 4


def test_map_on_threads_raises_what_a_call_raises_and_refuses_a_non_callable():
    def work(item, t):
        if item == 3:
            raise ArithmeticError(f"item {item} failed")
    with threadpool_limits(limits=2, user_api="blas"):
        with pytest.raises(ArithmeticError, match="item 3 failed"):
            blas.map_on_threads(work, range(5))
    with pytest.raises(TypeError, match="work must be callable"):
        blas.map_on_threads(3, range(2))
    with pytest.raises(TypeError, match=r"items must be an iterable, got 3 \(int\)"):
        blas.map_on_threads(lambda item, t: item, 3)


def test_map_on_threads_nested_in_work_runs_inline():
    def outer(item, t):
        return sum(blas.map_on_threads(lambda inner, t2: inner * item, range(3)))
    with threadpool_limits(limits=2, user_api="blas"):
        assert blas.map_on_threads(outer, range(4)) == [3 * i for i in range(4)]


# ---------------------------------------------------------------- batch_chunks, OrderedSum
@pytest.mark.parametrize("batch, per_image, most, fewest", [
    (128, 256, 1024, 8), (128, 16, 1024, 8), (7, 16, 1024, 8), (5, 4096, 1024, 8),
    (1, 16, 1024, 8), (0, 16, 1024, 8), (100, 1, 10**6, 3), (9, 5, 10, 1)])
def test_batch_chunks_cut_the_batch_in_order_into_enough_small_pieces(batch, per_image, most,
                                                                       fewest):
    chunks = blas.batch_chunks(batch, per_image, most, fewest)
    assert [b for b0, b1 in chunks for b in range(b0, b1)] == list(range(batch))
    assert all(b1 - b0 == 1 or (b1 - b0) * per_image <= most for b0, b1 in chunks)
    assert len(chunks) >= min(batch, fewest)
    assert len({b1 - b0 for b0, b1 in chunks[:-1]}) <= 1            # equal but the last


@pytest.mark.parametrize("args, error, words", [
    ((-1, 1, 1, 1), ValueError, "batch must be >= 0"),
    ((4, 0, 1, 1), ValueError, "per_image must be >= 1"),
    ((4, 1, 0, 1), ValueError, "most must be >= 1"),
    ((4, 1, 1, 0), ValueError, "fewest must be >= 1"),
    ((4.0, 1, 1, 1), TypeError, "batch must be an integer"),
])
def test_batch_chunks_refuses_bad_numbers(args, error, words):
    with pytest.raises(error, match=words):
        blas.batch_chunks(*args)


@pytest.mark.parametrize("arrival", [(0, 1, 2), (2, 1, 0), (1, 2, 0), (2, 0, 1)])
def test_ordered_sum_adds_the_parts_in_their_order_whatever_order_they_arrive_in(arrival):
    # in float32, (1e8 + (-1e8)) + 1 = 1, while any other order loses the 1 (1e8 + 1 rounds to 1e8)
    parts = [np.float32(1e8) * np.ones(2, np.float32), np.float32(-1e8) * np.ones(2, np.float32),
             np.ones(2, np.float32)]
    total = blas.OrderedSum((2,), np.float32)
    for number in arrival:
        total.add(number, parts[number])
    result = total.result(3)
    assert result.dtype == np.float32
    np.testing.assert_array_equal(result, [1.0, 1.0])
    assert float(np.float32(1e8) + np.float32(1) - np.float32(1e8)) == 0.0   # the other order


def test_ordered_sum_keeps_only_the_parts_that_came_early():
    total = blas.OrderedSum((3,), np.float64)
    total.add(1, np.ones(3))
    total.add(2, np.ones(3))
    assert sorted(total._waiting) == [1, 2]
    total.add(0, np.ones(3))
    assert total._waiting == {}
    np.testing.assert_array_equal(total.result(3), np.full(3, 3.0))


def test_ordered_sum_follows_ieee_arithmetic_without_warnings():
    total = blas.OrderedSum((2,), np.float64)
    with np.errstate(all="raise"):
        total.add(0, np.array([np.inf, 1.0]))
        total.add(1, np.array([-np.inf, np.inf]))
    result = total.result(2)
    assert np.isnan(result[0]) and result[1] == np.inf
    np.testing.assert_array_equal(blas.OrderedSum((3,), np.float64).result(0), np.zeros(3))


def test_ordered_sum_refuses_bad_parts_and_missing_or_repeated_numbers():
    total = blas.OrderedSum((2,), np.float32)
    with pytest.raises(TypeError, match="part must be an ndarray of dtype float32"):
        total.add(0, np.ones(2))                                      # float64
    with pytest.raises(ValueError, match=r"part must have shape \(2,\), got \(1,\)"):
        total.add(0, np.ones(1, np.float32))                          # no broadcasting
    with pytest.raises(ValueError, match="number must be >= 0"):
        total.add(-1, np.ones(2, np.float32))
    total.add(0, np.ones(2, np.float32))
    total.add(2, np.ones(2, np.float32))
    with pytest.raises(ValueError, match="part 0 was added already"):
        total.add(0, np.ones(2, np.float32))
    with pytest.raises(ValueError, match="part 2 was added already"):
        total.add(2, np.ones(2, np.float32))
    with pytest.raises(ValueError, match=r"expected parts 0 to 2, got 0 to 0 in order and \[2\]"):
        total.result(3)


def test_map_on_threads_nested_in_work_leaves_the_thread_limit_alone(monkeypatch):
    """A call from inside another's work (BLAS on one thread already) runs inline without
    entering the thread limit, which the outer call holds for all its workers."""
    entered = []
    real = blas._controller()

    class Counting:
        def select(self, **kwargs):
            return real.select(**kwargs)

        def limit(self, **kwargs):
            entered.append(kwargs)
            return real.limit(**kwargs)

    monkeypatch.setattr(blas, "_controller", lambda: Counting())

    def outer(item, t):
        return sum(blas.map_on_threads(lambda inner, t2: inner * item, range(3)))
    with threadpool_limits(limits=2, user_api="blas"):
        assert blas.map_on_threads(outer, range(4)) == [3 * i for i in range(4)]
    assert len(entered) == 1                                          # the outer call only
