"""Checkpoints: round trip, atomic replacement under a failing writer, corrupt files, misfits."""

import json
import os

import numpy as np
import pytest

from ttnet.nn import Linear, Sequential
from ttnet.train import EMA, SGD, Adam, CheckpointError, load_checkpoint, save_checkpoint
from ttnet.train.checkpoint import checkpoint_epoch, module_rngs, nonfinite_arrays

from .synthetic import conv_net, make_task, prepare


def trained_state(steps=3, seed=0):
    """A conv net (with BatchNorm buffers and a Dropout rng) after a few SGD steps, with an EMA."""
    model = conv_net(seed=seed)
    opt = SGD(model, lr=0.1, momentum=0.9)
    ema = EMA(model, 0.99)
    images, labels = make_task(16, seed=seed)
    from ttnet.nn import SoftmaxCrossEntropy
    loss = SoftmaxCrossEntropy()
    rng = np.random.default_rng(0)
    for _ in range(steps):
        loss(model(prepare(images, rng, True)), labels)
        model.backward(loss.backward())
        opt.step()
        ema.update()
    return model, opt, ema


def test_round_trip_restores_everything(tmp_path):
    model, opt, ema = trained_state()
    path = tmp_path / "c.npz"
    metrics = [{"epoch": 1, "test_acc": 0.5}]
    save_checkpoint(path, model, optimizer=opt, ema=ema, epoch=3, config={"a": [1, 2]},
                    metrics=metrics)
    ck = load_checkpoint(path)
    assert ck.epoch == 3 and ck.config == {"a": [1, 2]} and ck.metrics == metrics
    assert ck.optimizer_type == "SGD" and list(ck.params) == list(model.params)

    fresh, fresh_opt, fresh_ema = conv_net(seed=9), None, None
    fresh_opt = SGD(fresh, lr=0.1, momentum=0.9)
    fresh_ema = EMA(fresh, 0.99)
    ck.restore(fresh, fresh_opt, fresh_ema)
    for kind in ("params", "buffers"):
        for name, arr in getattr(model, kind).items():
            assert np.array_equal(getattr(fresh, kind)[name], arr), name
            assert getattr(fresh, kind)[name].dtype == arr.dtype
    for key, arr in opt.state_dict().items():
        assert np.array_equal(fresh_opt.state_dict()[key], arr), key
    for key, arr in ema.state_dict().items():
        assert np.array_equal(fresh_ema.state_dict()[key], arr), key
    # the Dropout generators continue with the same numbers
    (name, gen), = module_rngs(model).items()
    assert np.array_equal(module_rngs(fresh)[name].random(5), gen.random(5))


def test_restore_model_with_ema_weights(tmp_path):
    model, opt, ema = trained_state()
    save_checkpoint(tmp_path / "c.npz", model, optimizer=opt, ema=ema)
    fresh = conv_net(seed=9)
    load_checkpoint(tmp_path / "c.npz").restore_model(fresh, use_ema=True)
    for name in model.params:
        assert np.array_equal(fresh.params[name], ema.shadow[name])


def test_rng_states_are_json(tmp_path):
    model, _, _ = trained_state(steps=1)
    save_checkpoint(tmp_path / "c.npz", model)
    with np.load(tmp_path / "c.npz", allow_pickle=False) as data:
        meta = json.loads(str(data["meta"][()]))
    (state,) = meta["rng_states"].values()
    assert state["bit_generator"] == "PCG64" and isinstance(state["state"]["state"], int)


def _files(directory):
    return sorted(os.listdir(directory))


def test_a_writer_failing_midway_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    model, opt, ema = trained_state(steps=1)
    path = tmp_path / "last.npz"
    save_checkpoint(path, model, optimizer=opt, ema=ema, epoch=1)
    before = path.read_bytes()

    real_write_array = np.lib.format.write_array
    calls = []

    def write_then_crash(fp, array, *args, **kwargs):
        calls.append(1)
        if len(calls) == 4:            # some arrays are already in the file
            raise OSError("disk full (simulated)")
        return real_write_array(fp, array, *args, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", write_then_crash)
    model.params["0.weight"][...] += 1
    with pytest.raises(OSError, match="simulated"):
        save_checkpoint(path, model, optimizer=opt, ema=ema, epoch=2)
    assert len(calls) == 4
    assert path.read_bytes() == before
    assert load_checkpoint(path).epoch == 1
    assert _files(tmp_path) == ["last.npz"]          # the temporary file was removed


def test_corrupt_and_foreign_files(tmp_path):
    model, _, _ = trained_state(steps=1)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.npz")
    good = tmp_path / "good.npz"
    save_checkpoint(good, model)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="truncated.npz is not a readable .npz"):
        load_checkpoint(truncated)
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip file at all")
    with pytest.raises(CheckpointError, match="garbage.npz"):
        load_checkpoint(garbage)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, x=np.zeros(3))
    with pytest.raises(CheckpointError, match="is not a ttnet checkpoint"):
        load_checkpoint(foreign)


def test_restore_into_another_model_lists_the_differences(tmp_path):
    model, opt, _ = trained_state(steps=1)
    save_checkpoint(tmp_path / "c.npz", model, optimizer=opt)
    ck = load_checkpoint(tmp_path / "c.npz")
    other = Sequential(Linear(64, 3, rng=0))
    with pytest.raises(CheckpointError, match="does not fit this model") as info:
        ck.restore_model(other)
    message = str(info.value)
    assert "'0.weight'" in message and "'1.running_mean'" in message
    assert "random generators" in message
    with pytest.raises(CheckpointError, match="holds the state of a SGD optimiser, not of a Adam"):
        ck.restore(conv_net(), Adam(conv_net()))
    with pytest.raises(CheckpointError, match="has no EMA"):
        ck.restore_model(conv_net(), use_ema=True)
    fresh = conv_net()
    with pytest.raises(CheckpointError, match="has no EMA state"):
        ck.restore(fresh, SGD(fresh, momentum=0.9), EMA(fresh))


def test_save_errors(tmp_path):
    model = Linear(2, 2, rng=0)
    with pytest.raises(TypeError, match="JSON-serialisable"):
        save_checkpoint(tmp_path / "c.npz", model, config={"f": object()})
    with pytest.raises(TypeError, match="model must be a ttnet.nn Module"):
        save_checkpoint(tmp_path / "c.npz", {"w": 1})
    with pytest.raises(TypeError, match="optimizer must be a ttnet.train Optimizer"):
        save_checkpoint(tmp_path / "c.npz", model, optimizer="sgd")
    with pytest.raises(ValueError, match="epoch must be >= 0"):
        save_checkpoint(tmp_path / "c.npz", model, epoch=-1)
    assert _files(tmp_path) == []


@pytest.mark.parametrize("poison, named", [
    (lambda m, o, e: m.params["0.weight"].flat.__setitem__(3, np.nan),
     r"parameter '0\.weight' \(1 of 36 entries\)"),
    (lambda m, o, e: m.buffers["1.running_var"].__setitem__(0, np.inf),
     r"buffer '1\.running_var' \(1 of 4 entries\)"),
    (lambda m, o, e: o.velocity["6.bias"].__setitem__(slice(None), -np.inf),
     r"SGD state 'momentum/6\.bias' \(3 of 3 entries\)"),
    (lambda m, o, e: e.shadow["6.weight"].__setitem__((0, 0), np.nan),
     r"EMA state 'shadow/6\.weight' \(1 of 192 entries\)"),
])
def test_save_refuses_nan_and_inf_and_keeps_the_previous_file(tmp_path, poison, named):
    model, opt, ema = trained_state()
    path = tmp_path / "c.npz"
    save_checkpoint(path, model, optimizer=opt, ema=ema, epoch=1)
    before = path.read_bytes()
    poison(model, opt, ema)
    with pytest.raises(FloatingPointError, match=f"refusing to write checkpoint {path}: NaN or "
                                                 f"±inf in {named}; nothing was written"):
        save_checkpoint(path, model, optimizer=opt, ema=ema, epoch=2)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.npz"]          # no temporary left
    save_checkpoint(path, model, optimizer=opt, ema=ema, epoch=2, allow_nonfinite=True)
    assert load_checkpoint(path).epoch == 2


def test_nonfinite_arrays_lists_every_offender():
    model, opt, ema = trained_state()
    assert nonfinite_arrays(model, opt, ema) == []
    model.params["0.weight"][...] = np.nan
    model.buffers["1.running_mean"][1] = np.inf
    assert nonfinite_arrays(model) == ["parameter '0.weight' (36 of 36 entries)",
                                       "buffer '1.running_mean' (1 of 4 entries)"]
    with pytest.raises(TypeError, match="allow_nonfinite must be True or False"):
        save_checkpoint("unused.npz", model, allow_nonfinite=1)


def test_checkpoint_epoch_reads_only_the_metadata(tmp_path):
    model, opt, ema = trained_state(steps=1)
    save_checkpoint(tmp_path / "c.npz", model, optimizer=opt, epoch=7)
    assert checkpoint_epoch(tmp_path / "c.npz") == 7
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    assert checkpoint_epoch(tmp_path / "bad.npz") is None
    assert checkpoint_epoch(tmp_path / "missing.npz") is None


@pytest.mark.parametrize("key, value, expected", [
    ("epoch", "3", "'epoch' is"), ("params", None, "'params' is"), ("ema", 1, "'ema' is"),
    ("rng_states", None, "no 'rng_states' entry")])
def test_load_checkpoint_names_a_malformed_meta_entry(tmp_path, key, value, expected):
    model = Sequential(Linear(3, 2, rng=0))
    path = tmp_path / "c.npz"
    save_checkpoint(path, model, epoch=1)
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(str(arrays["meta"][()]))
    if expected.startswith("no "):
        del meta[key]
    else:
        meta[key] = value
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)
    with pytest.raises(CheckpointError, match=expected):
        load_checkpoint(path)
