"""ttnet.interop.torch checked against ttnet itself, in float64.

Forward outputs in training and evaluation mode, every gradient after one SGD
step (within 1e-10 of ttnet's hand-written backward), BatchNorm running
statistics, the bit-exact round trip ttnet → torch → ttnet, the two torch TT
algorithms against each other, and the errors for bad input. Skipped when
PyTorch is not installed (the ``torch`` extra: ``pip install -e ".[torch]"``).
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ttnet import models  # noqa: E402
from ttnet.nn import (AvgPool2d, BatchNorm1d, BatchNorm2d, Conv2d, Dropout, Flatten,  # noqa: E402
                      GlobalAvgPool2d, Linear, MaxPool2d, Module, NaiveTTConv2d, ReLU, Sequential,
                      SoftmaxCrossEntropy, TTConv2d, TTLinear)
from ttnet.interop import torch as tt_torch  # noqa: E402

TOL = 1e-10


@pytest.fixture(autouse=True)
def _one_thread():
    """Keep the shared CI cores free (and the results independent of the thread count)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def small_model(name, dtype=np.float64, rng=0):
    """One of the paper's networks at width 0.125 with ranks 2, for (1, 32, 32) images."""
    _, tt_conv, tt_fc = models.model_parts(name)
    return models.build(name, input_shape=(1, 32, 32), width=0.125,
                        conv_ranks=2 if tt_conv else None, fc_ranks=2 if tt_fc else None,
                        rng=rng, dtype=dtype)


def arrays(model):
    return {**model.params, **model.buffers}


def torch_grads(module, names):
    """ttnet name -> gradient of the torch parameter of that name."""
    params = dict(module.named_parameters())
    return {ttnet: params[key].grad.numpy() for ttnet, key in names.items() if key in params}


def check_layer(layer, x, training, dout_seed=1, algorithm=None, module=None):
    """Forward and backward of ``layer`` and its torch twin on ``x``; compare all of it."""
    layer.train(training)
    if module is None:
        module = tt_torch.to_torch(layer, algorithm=algorithm)
    assert module.training == training
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    y = layer(x)
    yt = module(xt)
    assert yt.dtype == torch.float64
    np.testing.assert_allclose(yt.detach().numpy(), y, rtol=0, atol=TOL)
    dout = np.random.default_rng(dout_seed).standard_normal(y.shape)
    dx = layer.backward(dout)
    (yt * torch.from_numpy(dout)).sum().backward()
    np.testing.assert_allclose(xt.grad.numpy(), dx, rtol=0, atol=TOL)
    names = tt_torch.torch_names(layer)
    grads = torch_grads(module, names)
    assert set(grads) == set(layer.grads)
    for name, g in layer.grads.items():
        np.testing.assert_allclose(grads[name], g, rtol=0, atol=TOL, err_msg=name)
    state = module.state_dict()
    for name, b in layer.buffers.items():        # running statistics after the update
        np.testing.assert_allclose(state[names[name]].numpy(), b, rtol=0, atol=1e-12,
                                   err_msg=name)
    return module


def _image(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


LAYERS = {
    "linear": (lambda: Linear(6, 4, dtype=np.float64, rng=0), (5, 6)),
    "linear-no-bias": (lambda: Linear(6, 4, bias=False, dtype=np.float64, rng=0), (5, 6)),
    "conv": (lambda: Conv2d(3, 4, 3, stride=2, padding=1, dtype=np.float64, rng=0), (2, 3, 7, 6)),
    "conv-rect": (lambda: Conv2d(2, 3, (3, 2), stride=(1, 2), padding=(0, 1), bias=False,
                                 dtype=np.float64, rng=0), (2, 2, 6, 5)),
    "batchnorm1d": (lambda: BatchNorm1d(4, eps=1e-3, momentum=0.3, dtype=np.float64), (6, 4)),
    "batchnorm2d": (lambda: BatchNorm2d(3, dtype=np.float64), (2, 3, 4, 5)),
    "relu": (ReLU, (3, 4, 5)),
    "maxpool": (lambda: MaxPool2d(3, stride=2, padding=1), (2, 3, 7, 8)),
    "avgpool": (lambda: AvgPool2d(2, stride=1, padding=1), (2, 3, 5, 4)),
    "globalavgpool": (GlobalAvgPool2d, (2, 3, 5, 4)),
    "flatten": (Flatten, (2, 3, 4, 5)),
    "dropout-p0": (lambda: Dropout(0.0, rng=0), (3, 7)),
    "ttlinear": (lambda: TTLinear((2, 3), (3, 2), 2, dtype=np.float64, rng=0), (4, 6)),
    "ttconv": (lambda: TTConv2d((2, 2), (3, 2), (3, 2), 3, stride=2, padding=1,
                                dtype=np.float64, rng=0), (2, 4, 7, 6)),
    "naive-ttconv": (lambda: NaiveTTConv2d(3, 4, (2, 3, 2), 3, stride=(2, 1), padding=(1, 0),
                                           dtype=np.float64, rng=0), (2, 3, 6, 7)),
}


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_every_layer_matches_ttnet(kind, training):
    make, shape = LAYERS[kind]
    layer = make()
    if isinstance(layer, (BatchNorm1d, BatchNorm2d)):   # non-trivial statistics and parameters
        gen = np.random.default_rng(3)
        layer.params["gamma"][...] = gen.uniform(0.5, 2.0, layer.num_features)
        layer.params["beta"][...] = gen.standard_normal(layer.num_features)
        layer.running_mean[...] = gen.standard_normal(layer.num_features)
        layer.running_var[...] = gen.uniform(0.5, 2.0, layer.num_features)
    if "bias" in layer.params:
        layer.params["bias"][...] = np.random.default_rng(4).standard_normal(
            layer.params["bias"].shape)
    check_layer(layer, _image(shape), training)


@pytest.mark.parametrize("kind, algorithm", [
    (kind, algorithm) for kind in ("ttlinear", "ttconv", "naive-ttconv")
    for algorithm in ("full", "sequential", "separable")
    if algorithm != "separable" or kind == "ttconv"])        # only TT-conv has "separable"
def test_tt_layers_match_ttnet_with_each_torch_algorithm(kind, algorithm):
    make, shape = LAYERS[kind]
    layer = make()
    if hasattr(layer, "algorithm"):               # ttnet's naive layer has one algorithm
        layer.algorithm = algorithm
    layer.params["bias"][...] = np.random.default_rng(4).standard_normal(
        layer.params["bias"].shape)
    module = check_layer(layer, _image(shape), True, algorithm=algorithm)
    assert module.last_algorithm == algorithm


def _single_process_group():
    """A gloo group of one process (this one): DDP and SyncBatchNorm's collective path."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    torch.distributed.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=0,
                                         world_size=1)


def test_sync_batchnorm_collective_path_and_from_torch_through_ddp():
    _single_process_group()
    try:
        layer = BatchNorm2d(3, eps=1e-3, momentum=0.2, dtype=np.float64)
        layer.params["gamma"][...] = [0.5, 1.5, 2.0]
        module = tt_torch.SyncBatchNorm(3, eps=1e-3, momentum=0.2, dtype=torch.float64)
        with torch.no_grad():
            module.weight.copy_(torch.tensor([0.5, 1.5, 2.0]))
        # the all-reduce path (a group exists), forward, backward and running statistics
        check_layer(layer, _image((2, 3, 4, 5)), True, module=module)
        assert int(module.num_batches_tracked) == 1
        # from_torch looks through DistributedDataParallel
        model = small_model("tt-conv", rng=0)
        ddp = torch.nn.parallel.DistributedDataParallel(
            tt_torch.convert_sync_batchnorm(tt_torch.to_torch(model)))
        target = small_model("tt-conv", rng=1)
        tt_torch.from_torch(ddp, target)
        for key, value in arrays(model).items():
            assert np.array_equal(arrays(target)[key], value), key
        tt_torch.load_torch_state(ddp.state_dict(), target)   # keys "module.…"
    finally:
        torch.distributed.destroy_process_group()


def test_dropout_uses_the_same_scaling():
    layer = Dropout(0.5, rng=0)
    module = tt_torch.to_torch(layer)
    assert isinstance(module, torch.nn.Dropout) and module.p == 0.5
    x = _image((40, 50)) + 10.0                   # no zeros in x
    y, yt = layer(x), module(torch.from_numpy(x)).numpy()
    for out in (y, yt):                           # inverted dropout: 0 or x / (1 - p)
        kept = out != 0
        np.testing.assert_allclose(out[kept], 2 * x[kept], rtol=1e-15)
        assert 0.4 < kept.mean() < 0.6
    layer.eval(), module.eval()
    np.testing.assert_array_equal(module(torch.from_numpy(x)).numpy(), layer(x))


@pytest.mark.parametrize("name", models.MODEL_NAMES)
def test_paper_models_outputs_and_one_sgd_step(name):
    model = small_model(name)
    module = tt_torch.to_torch(model)
    names = tt_torch.torch_names(model)
    x = _image((4, 1, 32, 32), seed=5)
    labels = np.array([0, 3, 9, 3])
    # training mode: outputs, loss, every gradient
    loss_fn = SoftmaxCrossEntropy()
    logits = model(x)
    loss = loss_fn(logits, labels)
    model.backward(loss_fn.backward())
    logits_t = module(torch.from_numpy(x))
    loss_t = torch.nn.functional.cross_entropy(logits_t, torch.from_numpy(labels))
    loss_t.backward()
    np.testing.assert_allclose(logits_t.detach().numpy(), logits, rtol=0, atol=TOL)
    assert abs(loss_t.item() - float(loss)) < TOL
    grads = torch_grads(module, names)
    assert set(grads) == set(model.grads) and len(grads) > 0
    for key, g in model.grads.items():
        np.testing.assert_allclose(grads[key], g, rtol=0, atol=TOL, err_msg=key)
    # the SGD step, in both libraries
    lr = 0.1
    for p, g in zip(model.params.values(), model.grads.values()):
        p -= lr * g
    torch.optim.SGD(module.parameters(), lr=lr).step()
    state = module.state_dict()
    for key, value in arrays(model).items():       # parameters and running statistics
        np.testing.assert_allclose(state[names[key]].numpy(), value, rtol=0, atol=TOL,
                                   err_msg=key)
    # evaluation mode, after the step
    model.eval(), module.eval()
    with torch.no_grad():
        out_t = module(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(out_t, model(x), rtol=0, atol=TOL)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_trip_is_bit_exact(dtype):
    model = small_model("tt-conv-tt-fc", dtype=dtype, rng=0)
    model.train()
    model(_image((4, 1, 32, 32)).astype(dtype))     # non-trivial running statistics
    module = tt_torch.to_torch(model)
    assert all(p.dtype == tt_torch._TORCH_DTYPES[np.dtype(dtype)] for p in module.parameters())
    other = small_model("tt-conv-tt-fc", dtype=dtype, rng=1)
    before = {k: v for k, v in other.params.items()}
    tt_torch.from_torch(module, other)
    for key, value in arrays(model).items():
        got = arrays(other)[key]
        assert got.dtype == value.dtype and np.array_equal(got, value), key
    assert all(other.params[k] is before[k] for k in before)   # copied in place
    # and the arrays of to_torch are copies: changing torch leaves ttnet alone
    with torch.no_grad():
        next(module.parameters()).add_(1.0)
    assert np.array_equal(model.params["0.weight"], other.params["0.weight"])


def test_load_torch_state_reads_a_ddp_state_dict_and_casts_to_the_model_dtype():
    model64 = small_model("tt-conv", dtype=np.float64, rng=0)
    state = {"module." + k: v for k, v in tt_torch.to_torch(model64).state_dict().items()}
    model32 = small_model("tt-conv", dtype=np.float32, rng=1)
    tt_torch.load_torch_state(state, model32)
    for key, value in arrays(model64).items():
        assert arrays(model32)[key].dtype == np.float32
        np.testing.assert_array_equal(arrays(model32)[key], value.astype(np.float32))


TT_MODULES = {
    "ttlinear": (lambda alg: tt_torch.TTLinear((2, 3, 2), (3, 2, 2), (3, 2), dtype=torch.float64,
                                               rng=0, algorithm=alg), (5, 12)),
    "ttconv": (lambda alg: tt_torch.TTConv2d((2, 3), (2, 2), (3, 2), 3, stride=2, padding=1,
                                             dtype=torch.float64, rng=0, algorithm=alg),
               (2, 6, 7, 9)),
    "naive-ttconv": (lambda alg: tt_torch.NaiveTTConv2d(3, 5, (2, 3, 2), 3, stride=(1, 2),
                                                        padding=(1, 0), dtype=torch.float64,
                                                        rng=0, algorithm=alg), (2, 3, 6, 7)),
}


@pytest.mark.parametrize("kind", sorted(TT_MODULES))
def test_torch_tt_algorithms_agree(kind):
    make, shape = TT_MODULES[kind]
    x = torch.from_numpy(_image(shape))
    results = {}
    algorithms = ("full", "sequential", "separable") if kind == "ttconv" else ("full", "sequential")
    for algorithm in algorithms:
        module = make(algorithm)
        with torch.no_grad():
            module.bias.normal_(generator=torch.Generator().manual_seed(0))
        xg = x.clone().requires_grad_(True)
        y = module(xg)
        assert module.last_algorithm == algorithm
        (y * torch.from_numpy(_image(tuple(y.shape), seed=2))).sum().backward()
        results[algorithm] = (y.detach().numpy(), xg.grad.numpy(),
                              {n: p.grad.numpy() for n, p in module.named_parameters()})
    y1, dx1, g1 = results["full"]
    for algorithm in algorithms[1:]:
        y2, dx2, g2 = results[algorithm]
        np.testing.assert_allclose(y2, y1, rtol=0, atol=TOL)
        np.testing.assert_allclose(dx2, dx1, rtol=0, atol=TOL)
        assert set(g1) == set(g2) == {f"core{k}" for k in range(module.n_cores)} | {"bias"}
        for name in g1:
            np.testing.assert_allclose(g2[name], g1[name], rtol=0, atol=TOL,
                                       err_msg=f"{algorithm}: {name}")


@pytest.mark.parametrize("kind", sorted(TT_MODULES))
def test_torch_tt_modules_have_ttnet_cores_and_weight(kind):
    make, shape = TT_MODULES[kind]
    module = make("full")
    ttnet_class = {"ttlinear": TTLinear, "ttconv": TTConv2d, "naive-ttconv": NaiveTTConv2d}[kind]
    # the constructor draws the same cores as ttnet's layer with the same arguments and seed
    layer = {"ttlinear": lambda: TTLinear((2, 3, 2), (3, 2, 2), (3, 2), dtype=np.float64, rng=0),
             "ttconv": lambda: TTConv2d((2, 3), (2, 2), (3, 2), 3, stride=2, padding=1,
                                        dtype=np.float64, rng=0),
             "naive-ttconv": lambda: NaiveTTConv2d(3, 5, (2, 3, 2), 3, stride=(1, 2),
                                                   padding=(1, 0), dtype=np.float64, rng=0)}[kind]()
    assert isinstance(layer, ttnet_class)
    assert module.ranks == layer.ranks
    for k, core in enumerate(layer.cores):
        assert np.array_equal(getattr(module, f"core{k}").detach().numpy(), core)
    np.testing.assert_allclose(module.weight().detach().numpy(), layer.weight(), rtol=0,
                               atol=1e-13)
    twin = tt_torch.to_torch(layer)
    assert type(twin) is type(module) and twin.ranks == module.ranks


def test_auto_picks_what_ttnet_picks():
    layer = TTLinear((4, 4, 4), (4, 4, 4), 3, dtype=np.float64, rng=0)
    module = tt_torch.to_torch(layer)
    assert module.algorithm == "auto"
    for batch in (1, 512):
        x = _image((batch, 64))
        layer(x)
        module(torch.from_numpy(x))
        assert module.last_algorithm == layer.last_algorithm == layer.choose_algorithm(x.shape)
    assert tt_torch.to_torch(layer, algorithm="sequential").algorithm == "sequential"
    conv = TTConv2d((4, 4, 4), (4, 4, 4), 4, 3, padding=1, rng=0)
    for shape in ((128, 64, 32, 32), (2, 64, 4, 4)):     # ttnet picks separable, then another
        assert tt_torch.to_torch(conv)._choose(torch.zeros(shape)) == conv.choose_algorithm(shape)
    with pytest.raises(ValueError, match="algorithm must be one of 'auto', 'full', 'sequential'"):
        tt_torch.to_torch(layer, algorithm="separable")          # TT-FC has no separable


def test_sync_batchnorm_is_batchnorm_without_a_process_group():
    bn = BatchNorm2d(3, eps=1e-3, momentum=0.2, dtype=np.float64)
    module = tt_torch.convert_sync_batchnorm(tt_torch.to_torch(Sequential(bn)))
    assert isinstance(module[0], tt_torch.SyncBatchNorm)
    x = _image((2, 3, 4, 4))
    y = bn(x)
    np.testing.assert_allclose(module(torch.from_numpy(x)).detach().numpy(), y, rtol=0, atol=TOL)
    np.testing.assert_allclose(module[0].running_var.numpy(), bn.running_var, rtol=0, atol=1e-14)
    other = Sequential(BatchNorm2d(3, eps=1e-3, momentum=0.2, dtype=np.float64))
    tt_torch.from_torch(module, other)                 # SyncBatchNorm is BatchNorm's twin too
    np.testing.assert_array_equal(other.buffers["0.running_mean"],
                                  module[0].running_mean.numpy())


# ---------------------------------------------------------------- bad input
class Custom(Module):
    def forward(self, x):
        return x


def test_to_torch_refuses_what_it_cannot_convert():
    with pytest.raises(TypeError, match="model must be a ttnet.nn Module, got"):
        tt_torch.to_torch(torch.nn.Linear(2, 2))
    with pytest.raises(TypeError, match=r"model\[1\]\[0\] is a Custom.*supported layers: Linear"):
        tt_torch.to_torch(Sequential(ReLU(), Sequential(Custom())))
    with pytest.raises(ValueError, match="algorithm must be None, 'auto', 'full', 'sequential' or "
                                         "'separable'"):
        tt_torch.to_torch(ReLU(), algorithm="fast")
    with pytest.raises(ValueError, match="algorithm must be one of 'full', 'sequential', got"):
        tt_torch.NaiveTTConv2d(2, 2, 1, 3, algorithm="auto")
    with pytest.raises(TypeError, match="dtype must be float32 or float64, got torch.int64"):
        tt_torch.TTLinear((2,), (2,), (), dtype=torch.int64)


def test_loading_back_refuses_unsupported_layers_on_either_side():
    with pytest.raises(TypeError, match=r"model\[1\] is a Custom, which ttnet.interop.torch "
                                        r"cannot convert"):
        tt_torch.from_torch(torch.nn.Sequential(torch.nn.ReLU(), torch.nn.ReLU()),
                            Sequential(ReLU(), Custom()))
    with pytest.raises(TypeError, match=r"model\[0\] is a Custom"):
        tt_torch.load_torch_state({}, Sequential(Custom()))
    with pytest.raises(ValueError, match=r"model\[1\]: the ttnet model has a ReLU, the torch "
                                         r"module a Tanh \(expected ReLU\)"):
        tt_torch.from_torch(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Tanh()),
                            Sequential(Linear(2, 2), ReLU()))


def test_tt_modules_refuse_bad_inputs():
    module = tt_torch.TTConv2d((2, 2), (2, 2), 2, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"expects x of shape \(B, C, H, W\) with 4 .* got shape "
                                         r"\(2, 3, 5, 5\)"):
        module(torch.zeros(2, 3, 5, 5, dtype=torch.float64))
    with pytest.raises(TypeError, match="x has dtype torch.float32 but the cores are "
                                        "torch.float64"):
        module(torch.zeros(2, 4, 5, 5))
    with pytest.raises(TypeError, match="x must be a torch.Tensor, got"):
        module(np.zeros((2, 4, 5, 5)))
    with pytest.raises(TypeError, match="layer must be a ttnet.nn.TTLinear, got"):
        tt_torch.TTLinear.from_ttnet(Linear(2, 2))


def test_from_torch_names_the_layer_of_another_architecture():
    target = small_model("tt-conv", rng=0)
    before = {k: v.copy() for k, v in arrays(target).items()}
    with pytest.raises(ValueError, match=r"model\[3\]: the ttnet model has a TTConv2d, the torch "
                                         r"module a Conv2d \(expected TTConv2d\)"):
        tt_torch.from_torch(tt_torch.to_torch(small_model("conv")), target)
    with pytest.raises(ValueError, match=r"model: the ttnet model has 22 layers, the torch "
                                         r"module 28"):
        tt_torch.from_torch(tt_torch.to_torch(small_model("tt-conv-fc")), target)
    wider = models.build("tt-conv", input_shape=(1, 32, 32), width=0.25, conv_ranks=2, rng=0,
                         dtype=np.float64)
    with pytest.raises(ValueError, match=r"model\[0\] \(Conv2d\): out_channels 16 \(torch\) vs "
                                         r"8 \(ttnet\)"):
        tt_torch.from_torch(tt_torch.to_torch(wider), target)
    other_ranks = models.build("tt-conv", input_shape=(1, 32, 32), width=0.125, conv_ranks=3,
                               rng=0, dtype=np.float64)
    with pytest.raises(ValueError, match=r"model\[3\] \(TTConv2d\): ranks \(1, 3, 3, 3, 1\) "
                                         r"\(torch\) vs \(1, 2, 2, 2, 1\) \(ttnet\)"):
        tt_torch.from_torch(tt_torch.to_torch(other_ranks), target)
    module = tt_torch.to_torch(target)
    module[1].eps = 1e-5
    with pytest.raises(ValueError, match=r"model\[1\] \(BatchNorm2d\): eps 1e-05 \(torch\) vs "
                                         r"0.001 \(ttnet\)"):
        tt_torch.from_torch(module, target)
    for key, value in arrays(target).items():          # nothing was copied
        assert np.array_equal(value, before[key]), key
    with pytest.raises(TypeError, match="module must be a torch.nn.Module, got"):
        tt_torch.from_torch(target, target)
    with pytest.raises(TypeError, match="model must be a ttnet.nn Module, got"):
        tt_torch.from_torch(module, module)


def test_load_torch_state_lists_missing_unexpected_and_mismatched_keys():
    model = small_model("conv-tt-fc", rng=0)
    before = {k: v.copy() for k, v in arrays(model).items()}
    state = tt_torch.to_torch(model).state_dict()
    bad = dict(state)
    del bad["1.running_var"]
    bad["99.weight"] = torch.zeros(2)
    bad["21.core1"] = torch.zeros(3, 3, 3, 3, dtype=torch.float64)
    with pytest.raises(ValueError) as info:
        tt_torch.load_torch_state(bad, model)
    text = str(info.value)
    assert "missing from the state dict: 1.running_var" in text
    assert "not in the ttnet model: 99.weight" in text
    assert f"21.core1: shape (3, 3, 3, 3) in the state dict, {model.params['21.core1'].shape} " \
           f"in the ttnet model (21.core1)" in text
    assert "nothing was copied" in text
    for key, value in arrays(model).items():
        assert np.array_equal(value, before[key]), key
    with pytest.raises(TypeError, match="state_dict must be a mapping"):
        tt_torch.load_torch_state([("0.weight", state["0.weight"])], model)
    with pytest.raises(TypeError, match=r"state_dict\['0.weight'\] must hold floating-point "
                                        r"numbers, got a tensor of dtype torch.int64"):
        tt_torch.load_torch_state({**state, "0.weight": state["0.weight"].long()}, model)
    with pytest.raises(TypeError, match=r"state_dict\['0.weight'\] must be a torch.Tensor or an "
                                        r"ndarray, got"):
        tt_torch.load_torch_state({**state, "0.weight": [1.0]}, model)


def test_torch_names_renames_only_batchnorm():
    names = tt_torch.torch_names(small_model("tt-conv-tt-fc"))
    assert names["1.gamma"] == "1.weight" and names["1.beta"] == "1.bias"
    assert names["1.running_var"] == "1.running_var" and names["3.core0"] == "3.core0"
    assert all(k == v for k, v in names.items() if not k.endswith(("gamma", "beta")))
