"""Command-line interface: ``ttnet`` (console script) and ``python -m ttnet``.

Subcommands (``ttnet COMMAND --help`` shows the options and an example):

demo
    The README's main job and the default: train a small TT-conv network on
    the packaged Fashion-MNIST subset (offline, a couple of minutes on two
    cores) and print its test accuracy, parameters and compression. Like
    ``train``, it refuses a non-empty ``--out`` directory, except one holding
    a previous demo, which it replaces
    (:func:`ttnet.experiments.previous_demo`).
train
    Train any of the paper's networks (:mod:`ttnet.models`) on a data set,
    with checkpoints, metrics and learning curves in a run directory.
eval
    Evaluate a checkpoint.
summary
    Print a network's layers, output shapes, parameters and compression.
reproduce
    Run a suite of training runs (the paper's results table) across many
    sittings, and write its report.
tour
    A short tour of the tensor-train format.
quantize
    Quantize a trained network's weights and TT cores to k bits (a weights
    file that ``eval`` accepts).
export
    Write a trained (optionally 8-bit) network as an ONNX model, TT layers
    kept factored (needs the ``deploy`` extra: onnx, onnxruntime).

Errors in the user's input (a missing data set, a non-empty run directory, a
checkpoint of another model, a network too large for the machine's memory,
...) are printed to stderr as one clear message naming the option at fault
and the command exits with status 1; usage errors (a value of the wrong type
or out of range for its option) exit with 2. Warnings of the library (e.g.
ranks too large to compress) are printed as ``ttnet COMMAND: warning (...)``.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from . import __version__
from ._checks import check_int
from .tt import TTMatrix, TTTensor, tt_svd

EXAMPLES = {
    "demo": "ttnet demo --out runs/demo",
    "train": "ttnet train --model tt-conv --ranks 16 --width 0.5 --data fashion-mnist "
             "--epochs 30 --batch-size 100 --lr 0.1 --seed 0 --out runs/tt-conv",
    "eval": "ttnet eval --checkpoint runs/tt-conv/best.npz --data fashion-mnist",
    "summary": "ttnet summary --model tt-conv-tt-fc --ranks 16 --fc-ranks 40/30",
    "tour": "ttnet tour --seed 1",
    "quantize": "ttnet quantize --checkpoint runs/tt-conv/best.npz --bits 4 "
                "--out runs/tt-conv/q4.npz",
    "export": "ttnet export --checkpoint runs/tt-conv/best.npz --onnx tt-conv.onnx --bits 8",
    "reproduce": "ttnet reproduce --list; ttnet reproduce --out runs/paper-table; "
                 "ttnet reproduce --out runs/paper-table --report "
                 "--results docs/results/paper-table",
}


# ---------------------------------------------------------------- tour
def _relative_error(approx: np.ndarray, exact: np.ndarray) -> float:
    return float(np.linalg.norm(approx - exact) / np.linalg.norm(exact))


def tour(seed: int = 0, out=None) -> None:
    """Print a short tour of the TT format (what ``ttnet tour`` runs); ``seed`` is an int >= 0."""
    out = out or sys.stdout
    rng = np.random.default_rng(check_int(seed, "seed", minimum=0))

    def say(text: str = "") -> None:
        print(text, file=out)

    say(f"ttnet {__version__} -- a tour of the tensor-train format\n")

    say("1. A smooth function on a 10^6-point grid: A[i1..i6] = sin(x1 + ... + x6).")
    say("   sin of a sum has TT-rank 2 (expand with sin(a+b) = sin a cos b + cos a sin b).")
    grid = np.linspace(0.0, 1.0, 10)
    A = np.sin(sum(np.meshgrid(*[grid] * 6, indexing="ij")))
    t0 = time.perf_counter()
    X = tt_svd(A, eps=1e-10)
    ms = 1e3 * (time.perf_counter() - t0)
    say(f"   tt_svd(A, eps=1e-10): ranks {X.ranks}, relative error "
        f"{_relative_error(X.full(), A):.1e}, {A.size:,} numbers -> {X.n_params:,} "
        f"({X.compression_ratio:,.0f}x smaller), {ms:.0f} ms\n")

    say("2. Random noise has no structure to exploit: the ranks stay at their maximum")
    say("   until eps forces them down, and the error always stays below eps.")
    B = rng.standard_normal((6, 6, 6, 6, 6))
    say(f"   {'eps':>6}  {'ranks':<24} {'rel. error':>10}  {'params':>7}")
    for eps in (0.0, 0.3, 0.6):
        Y = tt_svd(B, eps=eps)
        say(f"   {eps:>6.2f}  {str(Y.ranks):<24} {_relative_error(Y.full(), B):>10.3f}  "
            f"{Y.n_params:>7,}")
    say()

    say("3. Arithmetic in TT form: X + X doubles the ranks, rounding brings them back.")
    Z = TTTensor.random((8,) * 8, 4, rng=rng)
    S = Z + Z
    R = S.round()
    say(f"   X.ranks {Z.ranks}\n   (X + X).ranks {S.ranks}\n   (X + X).round().ranks "
        f"{R.ranks}, |norm - 2|X|| / 2|X| = {abs(R.norm() - 2 * Z.norm()) / (2 * Z.norm()):.1e}\n")

    say("4. The paper's fully connected layer as a TT-matrix: 1536 x 8192 with row modes")
    say("   (4, 6, 8, 8) and column modes (8, 8, 8, 16).")
    say(f"   {'rank':>5}  {'parameters':>10}  {'compression':>11}")
    for r in (1, 4, 16, 40):
        W = TTMatrix.random((4, 6, 8, 8), (8, 8, 8, 16), max_rank=r, rng=rng, dtype=np.float32)
        say(f"   {r:>5}  {W.n_params:>10,}  {W.compression_ratio:>10,.0f}x")
    x = rng.standard_normal(8192).astype(np.float32)
    y = W @ x
    say(f"   W @ x never forms the 12.6M-entry matrix; it agrees with W.full() @ x to "
        f"{_relative_error(y, W.full() @ x):.0e}.")
    say("\nNext: the notebooks in notebooks/ walk through every equation.")


# ---------------------------------------------------------------- argument types
def parse_ranks(text: str) -> Any:
    """``"16"`` → 16; ``"22,20,20/27,22,22"`` → [[22, 20, 20], [27, 22, 22]] (one tuple per layer).

    A layer given as one number (``"40/30"``) means that rank at every bond of the layer. This
    only splits the text; the values are checked (exact ranks, errors naming ``--ranks`` /
    ``--fc-ranks``) by :func:`ttnet.models.check_ranks`, which parses each layer's ranks with
    the one rank parser, :func:`ttnet.tt.ranks.internal_ranks`.
    """
    try:
        if "/" not in text and "," not in text:
            return int(text)
        layers = []
        for part in text.split("/"):
            numbers = [int(v) for v in part.split(",")]
            layers.append(numbers[0] if len(numbers) == 1 else numbers)
        return layers
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"ranks must be an integer or comma-separated ranks per layer separated by '/' "
            f"(e.g. 16 or 22,20,20/27,22,22/23,23,23/23,23,23/23,23,23), got {text!r}") from None


def _shape(text: str) -> tuple[int, ...]:
    """``"3,32,32"`` → (3, 32, 32): an image shape C,H,W of three integers >= 1."""
    try:
        shape = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected C,H,W as three comma-separated integers such "
                                         f"as 3,32,32, got {text!r}") from None
    if len(shape) != 3 or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"expected C,H,W as three integers >= 1 such as 3,32,32, "
                                         f"got {text!r}")
    return shape


def _int_at_least(minimum: int):
    """An argparse type: an integer >= ``minimum``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {value}")
        return value
    parse.__name__ = f"integer >= {minimum}"
    return parse


_positive_int = _int_at_least(1)


def _bits(text: str) -> int:
    """An argparse type: a bit width, an integer from 2 to 8."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer from 2 to 8, got {text!r}") from None
    if not 2 <= value <= 8:
        raise argparse.ArgumentTypeError(f"expected an integer from 2 to 8, got {value}")
    return value


_bits.__name__ = "bit width"


def _float_in(low: float, high: float, *, include_low: bool, include_high: bool):
    """An argparse type: a finite number in an interval (NaN and infinities are refused)."""
    interval = f"{'[' if include_low else '('}{low:g}, {high:g}{']' if include_high else ')'}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        above = value >= low if include_low else value > low
        below = value <= high if include_high else value < high
        if not (math.isfinite(value) and above and below):
            raise argparse.ArgumentTypeError(f"expected a finite number in {interval}, "
                                             f"got {text!r}")
        return value
    parse.__name__ = f"number in {interval}"
    return parse


_positive_float = _float_in(0.0, math.inf, include_low=False, include_high=False)
_nonnegative_float = _float_in(0.0, math.inf, include_low=True, include_high=False)
_momentum = _float_in(0.0, 1.0, include_low=True, include_high=False)
_decay = _float_in(0.0, 1.0, include_low=False, include_high=False)
_gamma = _float_in(0.0, 1.0, include_low=False, include_high=True)


def _path(text: str) -> str:
    """An argparse type: a non-empty path (an empty one would silently mean "here")."""
    if not text:
        raise argparse.ArgumentTypeError("expected a non-empty path, got ''")
    return text


def _check_rank_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Check --ranks / --fc-ranks against --model before any work, naming the options."""
    from .models import check_ranks

    try:
        check_ranks(args.model, args.ranks, args.fc_ranks, conv_name="--ranks",
                    fc_name="--fc-ranks")
    except (ValueError, TypeError) as exc:
        parser.error(str(exc))


# ---------------------------------------------------------------- commands
def _print_result(result: dict[str, Any], out_dir: Path) -> None:
    last = result["history"][-1]
    summary = result["summary"]
    print(f"\ntest accuracy {100 * last['test_acc']:.2f} % after {last['epoch']} epochs "
          f"({result['seconds']:.0f} s)")
    print(f"parameters {summary.n_params:,}; dense twin {summary.dense_params:,}; "
          f"compression {summary.compression:.2f}x")
    print(f"run directory {out_dir}: last.npz, best.npz, metrics.json, metrics.csv, "
          f"learning_curves.png")


def cmd_demo(args: argparse.Namespace) -> int:
    from .experiments import DEMO_CONFIG, demo

    print(f"ttnet demo: {DEMO_CONFIG.model} (width {DEMO_CONFIG.width}, ranks "
          f"{DEMO_CONFIG.conv_ranks}) on {DEMO_CONFIG.data}, {args.epochs} epochs")
    result = demo(args.out, epochs=args.epochs, progress=args.progress)
    _print_result(result, Path(args.out))
    return 0


def run_config_from_args(args: argparse.Namespace) -> Any:
    """The :class:`~ttnet.experiments.RunConfig` that ``ttnet train`` runs for parsed ``args``."""
    from .experiments import RunConfig

    return RunConfig(model=args.model, conv_ranks=args.ranks, fc_ranks=args.fc_ranks,
                     width=args.width, data=args.data, subset=args.subset,
                     batch_size=args.batch_size, lr=args.lr, momentum=args.momentum,
                     weight_decay=args.weight_decay, schedule=args.schedule,
                     lr_step=args.lr_step, lr_gamma=args.lr_gamma,
                     ema_decay=None if args.no_ema else args.ema,
                     augment=not args.no_augment, seed=args.seed, bits=args.bits,
                     quant_method=args.quant_method)


def cmd_train(args: argparse.Namespace) -> int:
    from .experiments import train

    config = run_config_from_args(args)
    init, init_note = None, None
    if args.init_from is not None:
        init, init_note = _init_from(args.init_from, config)
    result = train(config, args.out, args.epochs, resume=args.resume, overwrite=args.overwrite,
                   progress=args.progress, download=args.download, init=init,
                   init_note=init_note)
    _print_result(result, Path(args.out))
    return 0


def _load_option_checkpoint(path: Any, option: str) -> dict[str, Any]:
    """:func:`ttnet.experiments.load_model` (float weights) with errors naming ``option``."""
    from .experiments import load_model
    from .train import CheckpointError

    try:
        return load_model(path, qat=False)
    except CheckpointError as exc:
        raise CheckpointError(f"{option}: {exc}") from None


def _init_from(path: str, config: Any) -> tuple[Any, dict[str, Any]]:
    """The float model of checkpoint ``path`` (its EMA weights if it has them), for --init-from."""
    loaded = _load_option_checkpoint(path, "--init-from")
    saved = loaded["config"]
    differ = [f"{key} {saved.get(key)!r} (--{key.replace('_', '-')} gives {getattr(config, key)!r})"
              for key in ("model", "width", "conv_ranks", "fc_ranks")
              if saved.get(key) != getattr(config, key)]
    if differ:
        raise ValueError(f"--init-from {path} holds another architecture than the one to train: "
                         + "; ".join(differ) + "; pass the same --model, --width, --ranks and "
                         "--fc-ranks as its run")
    note = {"checkpoint": str(path), "epoch": loaded["epoch"], "use_ema": loaded["use_ema"]}
    if loaded["bits"] is not None:
        note["bits"] = loaded["bits"]
    return loaded["model"], note


def cmd_eval(args: argparse.Namespace) -> int:
    from .experiments import evaluate_checkpoint
    from .train import CheckpointError

    try:
        result = evaluate_checkpoint(args.checkpoint, data=args.data, split=args.split,
                                     download=args.download)
    except CheckpointError as exc:
        raise CheckpointError(f"--checkpoint: {exc}") from None
    cfg = result["config"]
    bits = result.get("bits")
    kind = ("" if bits is None else f", {bits}-bit quantized weights file" if
            result.get("quantized_file") else f", quantization-aware at {bits} bits")
    print(f"{args.checkpoint}: {cfg['model']} (width {cfg['width']}) after {result['epoch']} "
          f"epochs, {result['n_params']:,} parameters, {'EMA' if result['use_ema'] else 'live'} "
          f"weights{kind}")
    print(f"{args.split} set of {args.data or cfg['data']}: accuracy "
          f"{100 * result['accuracy']:.2f} %, loss {result['loss']:.4f}")
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    from . import models

    model = models.build(args.model, input_shape=args.input_shape, num_classes=args.classes,
                         width=args.width, conv_ranks=args.ranks, fc_ranks=args.fc_ranks, rng=0)
    print(f"{args.model}, input {args.input_shape}, width {args.width}")
    models.summary(model, args.input_shape)
    if args.bits is not None:
        _print_sizes(model, args.bits)
    return 0


def _print_sizes(model: Any, bits: int) -> None:
    """Model size at ``bits`` beside float32 and the dense twin's (ttnet.quant.model_size)."""
    from .quant import model_size

    rows = [("this model, float32", model_size(model)),
            (f"this model, {bits}-bit", model_size(model, bits)),
            ("dense twin, float32", model_size(model, dense_twin=True)),
            (f"dense twin, {bits}-bit", model_size(model, bits, dense_twin=True))]
    reference = rows[2][1].total
    print(f"\nsize in bytes ({bits}-bit: weights and TT cores packed at {bits} bits, one float32 "
          f"scale per TT core and per output channel of a dense weight; biases and BatchNorm "
          f"float32)")
    width = max(len(name) for name, _ in rows)
    for name, size in rows:
        print(f"  {name:<{width}}  {size.total:>13,} B  {size.total / 1024:>10,.1f} KB  "
              f"{reference / size.total:>8,.1f}x smaller than the dense float32 twin")


def cmd_quantize(args: argparse.Namespace) -> int:
    from .quant import model_size, save_quantized

    loaded = _load_option_checkpoint(args.checkpoint, "--checkpoint")
    if loaded["quantized_file"]:
        raise ValueError(f"--checkpoint {args.checkpoint} is already a quantized weights file "
                         f"({loaded['bits']} bits); give the float checkpoint of the run")
    model = loaded["model"]
    save_quantized(args.out, model, args.bits, config=loaded["config"], epoch=loaded["epoch"],
                   source=str(args.checkpoint), use_ema=loaded["use_ema"],
                   symmetric=not args.asymmetric, per_channel=not args.per_tensor,
                   method=args.method)
    size = model_size(model, args.bits, symmetric=not args.asymmetric,
                      per_channel=not args.per_tensor)
    print(f"{args.checkpoint} -> {args.out}: {loaded['config']['model']} at {args.bits} bits "
          f"({'asymmetric' if args.asymmetric else 'symmetric'}, "
          f"{'per tensor' if args.per_tensor else 'per channel'}, {args.method} scales)")
    print(f"model size {size.total:,} bytes at {args.bits} bits, {model_size(model).total:,} in "
          f"float32; evaluate with: ttnet eval --checkpoint {args.out}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .export import export_onnx, require_onnx

    try:
        require_onnx()
    except ImportError as exc:
        raise OSError(str(exc)) from None
    loaded = _load_option_checkpoint(args.checkpoint, "--checkpoint")
    if loaded["quantized_file"]:
        raise ValueError(f"--checkpoint {args.checkpoint} is a quantized weights file; give the "
                         f"float checkpoint of the run (export quantizes it with --bits 8)")
    cfg = loaded["config"]
    info = export_onnx(loaded["model"], args.onnx, input_shape=tuple(cfg["input_shape"]),
                       bits=args.bits, normalizer=cfg["normalizer"] if args.normalize else None)
    print(f"{args.checkpoint} -> {args.onnx}: {cfg['model']}, "
          f"{'int8 weights' if args.bits else 'float32'}, {info['file_bytes']:,} bytes "
          f"(counted {info['counted_bytes']:,})")
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    from .experiments import get_suite
    from .experiments.reproduce import format_plan, plan, run_suite, write_report

    suite = get_suite("quick" if args.quick else args.suite)
    out = args.out or f"runs/{suite.name}"
    if args.list:
        print(f"suite {suite.name}: {suite.description}\n")
        print(format_plan(plan(suite, out, args.only, estimate=not args.no_estimate)))
        return 0
    if not args.report:
        run_suite(suite, out, args.only, progress=args.progress, download=args.download)
    if args.report or args.quick:
        results = args.results or f"{out}/report"
        records = write_report(suite, out, results, download=args.download)
        print(f"report of {len(records)} finished rows written to {results}: results.csv, "
              f"table.md, accuracy_vs_compression.png")
    return 0


def cmd_tour(args: argparse.Namespace) -> int:
    tour(seed=args.seed)
    return 0


def _subcommand(sub: Any, name: str, help_text: str, description: str
                ) -> argparse.ArgumentParser:
    """Add the subcommand ``name`` with its example as the epilog."""
    p = sub.add_parser(name, help=help_text, description=description,
                       epilog=f"Example: {EXAMPLES[name]}")
    p.set_defaults(command_parser=p)        # for usage errors found after parsing
    return p


def _progress_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="show progress bars (default: only on a terminal)")


def _download_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--download", action="store_true",
                   help="download the data set if it is not found (checksums are verified)")


def _add_demo(sub: Any) -> None:
    p = _subcommand(
        sub, "demo", "train a small TT-conv net on the packaged Fashion-MNIST subset (default)",
        "Train a small TT-conv network on fashion-mnist-mini (offline) and print its test "
        "accuracy, parameters and compression against its dense twin.")
    p.add_argument("--out", type=_path, default="runs/demo",
                   help="run directory (default runs/demo); a previous demo there is replaced, "
                   "any other non-empty directory is refused")
    p.add_argument("--epochs", type=_positive_int, default=None,
                   help="number of epochs (default: the demo's)")
    _progress_flag(p)


def _add_train(sub: Any) -> None:
    from .data import DATASETS
    from .experiments import RunConfig
    from .models import DEFAULT_CONV_RANK, DEFAULT_FC_RANKS, MODEL_NAMES

    p = _subcommand(
        sub, "train", "train one of the paper's networks",
        "Train a network with SGD + momentum, the paper's augmentation and an EMA of the weights;"
        " checkpoints (last.npz, best.npz), metrics.json/csv and learning curves go to --out.")
    d = RunConfig()                     # the defaults, in one place
    p.add_argument("--model", choices=MODEL_NAMES, required=True)
    p.add_argument("--ranks", type=parse_ranks, default=d.conv_ranks,
                   help="TT-conv ranks: one int, or r0,r1,r2 per layer separated by '/' "
                   f"(default {DEFAULT_CONV_RANK} everywhere)")
    p.add_argument("--fc-ranks", type=parse_ranks, default=d.fc_ranks,
                   help="TT-FC ranks: one int, or r1,r2,r3 per layer separated by '/' "
                   f"(default {'/'.join(map(str, DEFAULT_FC_RANKS))} everywhere)")
    p.add_argument("--width", type=_positive_float, default=d.width,
                   help=f"channel multiplier (> 0) (default {d.width:g})")
    p.add_argument("--data", choices=DATASETS, default=d.data, help=f"(default {d.data})")
    p.add_argument("--subset", type=_positive_int, default=d.subset,
                   help="train on a class-balanced subset of N images (at most the training set; "
                   "rounded down to a multiple of the number of classes) (default: all)")
    _download_flag(p)
    p.add_argument("--epochs", type=_positive_int, required=True)
    p.add_argument("--batch-size", type=_positive_int, default=d.batch_size,
                   help=f"(default {d.batch_size})")
    p.add_argument("--lr", type=_positive_float, default=d.lr,
                   help=f"learning rate (default {d.lr:g})")
    p.add_argument("--momentum", type=_momentum, default=d.momentum,
                   help=f"in [0, 1) (default {d.momentum:g})")
    p.add_argument("--weight-decay", type=_nonnegative_float, default=d.weight_decay,
                   help=f"(default {d.weight_decay:g})")
    p.add_argument("--schedule", choices=("step", "cosine"), default=d.schedule,
                   help="step: x LR_GAMMA every --lr-step epochs (the paper); cosine: to 0 at "
                   f"the end (default {d.schedule})")
    p.add_argument("--lr-step", type=_positive_int, default=d.lr_step,
                   help=f"(default {d.lr_step})")
    p.add_argument("--lr-gamma", type=_gamma, default=d.lr_gamma,
                   help=f"factor of the step schedule, in (0, 1] (default {d.lr_gamma:g})")
    p.add_argument("--ema", type=_decay, default=d.ema_decay,
                   help=f"EMA decay for evaluation, in (0, 1) (default {d.ema_decay:g})")
    p.add_argument("--no-ema", action="store_true", help="evaluate the live weights")
    p.add_argument("--no-augment", action="store_true", help="no data augmentation")
    p.add_argument("--seed", type=_int_at_least(0), default=d.seed, help=f"(default {d.seed})")
    p.add_argument("--bits", type=_bits, default=d.bits,
                   help="quantization-aware training at this bit width, 2..8 (weights and TT "
                   "cores fake-quantized in every forward, straight-through gradients) "
                   "(default: float training)")
    p.add_argument("--quant-method", choices=("max", "mse"), default=d.quant_method,
                   help="scale rule of --bits: max-abs (default) or MSE-optimal clipping, "
                   "better at 2-3 bits")
    p.add_argument("--init-from", type=_path, default=None, metavar="CHECKPOINT",
                   help="start from the weights of this checkpoint (its EMA weights if it has "
                   "them), e.g. to fine-tune a trained float run with --bits")
    p.add_argument("--out", type=_path, required=True, help="run directory")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--resume", action="store_true", help="continue the run in --out")
    group.add_argument("--overwrite", action="store_true", help="replace the run in --out")
    _progress_flag(p)


def _add_eval(sub: Any) -> None:
    from .data import DATASETS, SPLITS

    p = _subcommand(
        sub, "eval", "evaluate a checkpoint",
        "Evaluate a checkpoint written by 'ttnet train'.")
    p.add_argument("--checkpoint", type=_path, required=True,
                   help="last.npz or best.npz of a run")
    p.add_argument("--data", choices=DATASETS, default=None, help="default: the run's data set")
    p.add_argument("--split", choices=SPLITS, default="test")
    _download_flag(p)


def _add_summary(sub: Any) -> None:
    from .models import MODEL_NAMES

    p = _subcommand(
        sub, "summary", "print a network's layers, shapes, parameters and compression",
        "Print the layers of a network with their output shapes and parameter counts, and its "
        "compression against the dense twin.")
    p.add_argument("--model", choices=MODEL_NAMES, required=True)
    p.add_argument("--ranks", type=parse_ranks, default=None)
    p.add_argument("--fc-ranks", type=parse_ranks, default=None)
    p.add_argument("--width", type=_positive_float, default=1.0)
    p.add_argument("--input-shape", type=_shape, default=(3, 32, 32), help="C,H,W (default 3,32,32)")
    p.add_argument("--classes", type=_int_at_least(2), default=10)
    p.add_argument("--bits", type=_bits, default=None,
                   help="also print the model's size in bytes at this bit width (2..8) beside "
                   "float32 and the dense twin's")


def _add_reproduce(sub: Any) -> None:
    p = _subcommand(
        sub, "reproduce", "run the paper's results table (or another suite) and report it",
        "Run every row of a suite that is not done yet: finished rows are skipped, interrupted "
        "ones resumed from their last.npz (bit-identical), so the suite can be carried across "
        "many sittings. --list shows the plan, --report writes the results of whatever has "
        "finished, --quick runs the two-row CI miniature end to end.")
    p.add_argument("--suite", default="paper-table", help="suite name (default paper-table)")
    p.add_argument("--out", type=_path, default=None, help="suite directory, one sub-directory per row "
                   "(default runs/SUITE)")
    p.add_argument("--only", nargs="+", default=None, metavar="ROW", help="only these rows")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--list", action="store_true", help="print the planned rows with "
                      "parameters, compression, state and estimated time, then stop")
    mode.add_argument("--report", action="store_true", help="write the report of the finished "
                      "rows (no training)")
    mode.add_argument("--quick", action="store_true", help="run the suite 'quick' (two small "
                      "rows on fashion-mnist-mini) and its report")
    p.add_argument("--results", type=_path, default=None,
                   help="report directory (default OUT/report)")
    p.add_argument("--no-estimate", action="store_true", help="--list without timing a step "
                   "of every model")
    _download_flag(p)
    _progress_flag(p)


def _add_quantize(sub: Any) -> None:
    p = _subcommand(
        sub, "quantize", "quantize a trained network's weights and TT cores to k bits",
        "Quantize the weights and TT cores of a checkpoint (its EMA weights if it has them) to "
        "k-bit integers with their scales; 'ttnet eval --checkpoint OUT' evaluates the result.")
    p.add_argument("--checkpoint", type=_path, required=True, help="last.npz or best.npz of a run")
    p.add_argument("--bits", type=_bits, required=True, help="bit width, 2..8")
    p.add_argument("--out", type=_path, required=True, help="quantized weights file (.npz)")
    p.add_argument("--method", choices=("max", "mse"), default="mse",
                   help="scale rule: max-abs, or the MSE-optimal clipping (default mse)")
    p.add_argument("--asymmetric", action="store_true", help="asymmetric grid with zero points")
    p.add_argument("--per-tensor", action="store_true",
                   help="one scale per dense weight instead of one per output channel")


def _add_export(sub: Any) -> None:
    p = _subcommand(
        sub, "export", "write a trained network as an ONNX model (TT layers kept factored)",
        "Write a checkpoint as an ONNX model: dense layers as Conv / Gemm with BatchNorm folded "
        "in, TT layers factored (the cores are the initializers and the weight is rebuilt in the "
        "graph). With --bits 8 the weights and cores are int8 with DequantizeLinear. Needs the "
        "extra 'deploy' (onnx, onnxruntime).")
    p.add_argument("--checkpoint", type=_path, required=True, help="last.npz or best.npz of a run")
    p.add_argument("--onnx", type=_path, required=True, help="output .onnx file")
    p.add_argument("--bits", type=int, choices=(8,), default=None,
                   help="8: int8 weights and cores (ONNX Runtime dequantizes int8 only)")
    p.add_argument("--normalize", action="store_true",
                   help="put the run's input standardisation into the graph (the model then "
                   "takes raw pixel values, 0..255)")


def _add_tour(sub: Any) -> None:
    p = _subcommand(
        sub, "tour", "a short tour of the TT format",
        "Decompose a few tensors with TT-SVD and print ranks, errors and sizes.")
    p.add_argument("--seed", type=_int_at_least(0), default=0, help="random seed >= 0 (default 0)")


def build_parser() -> argparse.ArgumentParser:
    """The ``ttnet`` parser: one subcommand per ``_add_<command>`` function."""
    parser = argparse.ArgumentParser(
        prog="ttnet", description="Tensor-train compressed neural networks from scratch in NumPy. "
        "Without a command, runs the demo.",
        epilog="Examples:\n  " + "\n  ".join(EXAMPLES.values()),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"ttnet {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add_command in (_add_demo, _add_train, _add_eval, _add_summary, _add_reproduce,
                        _add_quantize, _add_export, _add_tour):
        add_command(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ttnet`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["demo"])
    if args.command in ("train", "summary"):
        _check_rank_options(args.command_parser, args)
    if args.command == "train" and args.quant_method is not None and args.bits is None:
        args.command_parser.error("--quant-method is the scale rule of --bits; give --bits too")
    if args.command == "demo" and args.epochs is None:
        from .experiments import DEMO_EPOCHS

        args.epochs = DEMO_EPOCHS
    commands = {"demo": cmd_demo, "train": cmd_train, "eval": cmd_eval, "summary": cmd_summary,
                "tour": cmd_tour, "reproduce": cmd_reproduce, "quantize": cmd_quantize,
                "export": cmd_export}

    def show_warning(message, category, filename, lineno, file=None, line=None) -> None:
        # warnings of the library (e.g. models.CompressionWarning) as one line, without source
        print(f"ttnet {args.command}: warning ({category.__name__}): {message}", file=sys.stderr)

    try:
        with warnings.catch_warnings():
            warnings.showwarning = show_warning
            return commands[args.command](args)
    except (ValueError, OSError, FloatingPointError) as exc:
        # invalid input, missing data, refused run directories, bad checkpoints, divergence
        print(f"ttnet {args.command}: error: {exc}", file=sys.stderr)
        return 1
