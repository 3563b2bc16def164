"""A tiny learnable image task and tiny networks for the training tests (not a test module)."""

import numpy as np

from ttnet.nn import (BatchNorm2d, Conv2d, Dropout, Flatten, Linear, MaxPool2d, Module, ReLU,
                      Sequential)


def make_task(n, seed=0, size=8):
    """uint8 images (n, 1, size, size) of 3 classes: a bright row, a bright column, the diagonal.

    The position of the bar is random and the background is noise, so the
    classes are learnable but not trivially separable by one pixel.
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n).astype(np.int64)
    images = rng.integers(0, 120, (n, 1, size, size)).astype(np.uint8)
    where = rng.integers(0, size, n)
    for k in range(n):
        if labels[k] == 0:
            images[k, 0, where[k], :] = 230
        elif labels[k] == 1:
            images[k, 0, :, where[k]] = 230
        else:
            images[k, 0, np.arange(size), np.arange(size)] = 230
    return images, labels


def prepare(images, rng, training):
    """Scale to [-1, 1] in float32; in training, flip the batch upside down with probability 1/2.

    The flip keeps every label (a row stays a row, a column a column, and the
    diagonal becomes the anti-diagonal, still class 2) and it consumes the
    generator, as a real augmentation does.
    """
    x = images.astype(np.float32) * np.float32(2 / 255) - np.float32(1)
    if training:
        flip = rng.random(len(x)) < 0.5
        x[flip] = x[flip, :, ::-1, :]
    return x


def linear_net(seed=0, size=8, dtype=np.float32):
    """Flatten + Linear: the smallest model."""
    return Sequential(Flatten(), Linear(size * size, 3, rng=seed, dtype=dtype))


def conv_net(seed=0, size=8, dropout=0.25):
    """Conv (no bias) + BatchNorm + ReLU + max-pool + Dropout + Linear: buffers and an RNG."""
    rng = np.random.default_rng(seed)
    return Sequential(Conv2d(1, 4, 3, padding=1, bias=False, rng=rng), BatchNorm2d(4), ReLU(),
                      MaxPool2d(2), Flatten(), Dropout(dropout, rng=rng.integers(2**31)),
                      Linear(4 * (size // 2) ** 2, 3, rng=rng))


class Poison(Module):
    """``y = scale · x`` (one parameter, 1.0) that turns bad on chosen calls, to test NaN handling.

    ``kind`` says what goes bad on the calls numbered in ``at`` (1-based; training-mode
    forward calls for "output" and "huge", evaluation-mode ones for "eval_output", backward
    calls for "grad" and "huge_grad"):

    * ``"output"`` / ``"eval_output"`` — the output is NaN;
    * ``"huge"`` — the output is multiplied by 1e30 (finite in float32);
    * ``"grad"`` — the gradient of ``scale`` is NaN (the input gradient stays finite);
    * ``"huge_grad"`` — the gradient of ``scale`` is 3e19 (finite; its square is not).
    """

    def __init__(self, kind, at):
        super().__init__()
        self.kind, self.at = kind, set(at)
        self.forward_calls = self.eval_calls = self.backward_calls = 0
        self.add_param("scale", np.ones(1, np.float32))

    def forward(self, x):
        self._cache = x
        y = x * self.params["scale"][0]
        if self.training:
            self.forward_calls += 1
            if self.forward_calls in self.at and self.kind == "output":
                y = np.full_like(y, np.nan)
            if self.forward_calls in self.at and self.kind == "huge":
                y = y * np.float32(1e30)
        else:
            self.eval_calls += 1
            if self.eval_calls in self.at and self.kind == "eval_output":
                y = np.full_like(y, np.nan)
        return y

    def backward(self, dout):
        x = self._last_cache()
        self.backward_calls += 1
        grad = np.sum(dout * x, dtype=np.float32)
        if self.backward_calls in self.at and self.kind == "grad":
            grad = np.float32(np.nan)
        if self.backward_calls in self.at and self.kind == "huge_grad":
            grad = np.float32(3e19)
        self.grads["scale"][...] = grad
        return dout * self.params["scale"][0]


def poisoned_net(kind, at, seed=0, size=8):
    """Flatten + Poison + Linear; the Poison layer is ``model.layers[1]``, parameter '1.scale'."""
    return Sequential(Flatten(), Poison(kind, at), Linear(size * size, 3, rng=seed))
