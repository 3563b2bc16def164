#!/usr/bin/env python
"""The quantization results table: accuracy and size of trained networks at k bits, PTQ and QAT.

For each trained float checkpoint given (``NAME=PATH``, e.g. the ``tt-conv-tt-fc`` network
near 40× and its ``conv-fc`` baseline):

* the float32 test accuracy (EMA weights when the run kept them) and size;
* for every bit width: the accuracy of post-training quantization
  (``ttnet.quant.ptq``, symmetric, per-channel dense weights) with each scale rule of
  ``--ptq-methods`` (``max``: max-abs; ``mse``: the clipping that minimises the squared
  error), and of quantization-aware fine-tuning (``ttnet train --bits K --quant-method
  --qat-method --init-from PATH`` for ``--qat-epochs`` epochs at ``--qat-lr`` with a cosine
  schedule and an EMA of decay ``--qat-ema``, evaluated with the EMA weights, run directories
  under ``--runs``; an interrupted fine-tune resumes, a finished one is reused), and the size
  in bytes (``ttnet.quant.model_size``). QAT uses max-abs scales by default: the ``mse`` rule
  searches 81 clipping ratios over every weight at every step, which for ``conv-fc``'s
  7.2 million weights costs more than the rest of the training step;
* for the first checkpoint, the ONNX check on the whole test split: the largest relative
  difference between the float ONNX model's logits (ONNX Runtime) and ttnet's, the fraction
  of images whose int8 ONNX top-1 prediction equals that of ``ptq(model, 8)`` (max-abs scales,
  the exporter's), and the file sizes against the counted bytes.

Writes ``results.csv``, ``table.md``, ``onnx.json`` and ``accuracy_vs_size.png`` (accuracy against model size
in bytes, log axis, one line per network and method) into ``--results``.

Usage (the measured table; needs the finished rows of ``ttnet reproduce`` -- suite
``paper-table``, directory ``runs/paper-table`` -- and the full data set)::

    PYTHONPATH=. python scripts/quantization_table.py \\
        --checkpoint tt-conv-tt-fc-41.65x=runs/paper-table/tt-conv-tt-fc-41.65x-s0/last.npz \\
        --checkpoint conv-fc=runs/paper-table/conv-fc-s0/last.npz \\
        --data fashion-mnist --bits 8 6 4 3 2 --qat-epochs 1 \\
        --runs runs/quantization --results docs/results/quantization

A smoke run on the packaged mini set (seconds per step): add ``--data fashion-mnist-mini
--subset 200 --limit-test 200`` with checkpoints trained on fashion-mnist-mini.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ttnet import data as ttdata  # noqa: E402
from ttnet.experiments import RunConfig, load_model, make_prepare, train  # noqa: E402
from ttnet.quant import model_size, ptq  # noqa: E402
from ttnet.train import evaluate  # noqa: E402


def _accuracy(model, images, labels, prepare) -> float:
    return evaluate(model, images, labels, prepare, batch_size=200)[1]


def _logits(model, images, prepare, batch=500) -> np.ndarray:
    model.eval()
    rng = np.random.default_rng(0)
    return np.concatenate([model(prepare(images[i:i + batch], rng, False))
                           for i in range(0, len(images), batch)])


def _onnx_check(model, cfg, images, prepare, out_dir: Path) -> dict:
    import onnxruntime as ort

    from ttnet.export import export_onnx

    rng = np.random.default_rng(0)
    x = np.concatenate([prepare(images[i:i + 500], rng, False) for i in range(0, len(images), 500)])
    result = {}
    for bits in (None, 8):
        path = out_dir / f"model{'-int8' if bits else ''}.onnx"
        info = export_onnx(model, path, tuple(cfg["input_shape"]), bits=bits)
        session = ort.InferenceSession(str(path))
        got = np.concatenate([session.run(None, {"input": x[i:i + 500]})[0]
                              for i in range(0, len(x), 500)])
        ref = _logits(model if bits is None else ptq(model, 8), images, prepare)
        key = "float" if bits is None else "int8"
        result[key] = {
            "max_rel_logit_diff": float(np.abs(got - ref).max() / np.abs(ref).max()),
            "top1_agreement": float(np.mean(got.argmax(1) == ref.argmax(1))),
            "file_bytes": info["file_bytes"], "counted_bytes": info["counted_bytes"]}
        os.remove(path)
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", action="append", required=True, metavar="NAME=PATH")
    parser.add_argument("--data", default=None, help="default: each run's data set")
    parser.add_argument("--bits", type=int, nargs="+", default=[8, 6, 4, 3, 2])
    parser.add_argument("--ptq-methods", choices=("max", "mse"), nargs="+",
                        default=["max", "mse"])
    parser.add_argument("--qat-method", choices=("max", "mse"), default="max")
    parser.add_argument("--qat-epochs", type=int, default=1, help="0: no QAT")
    parser.add_argument("--qat-lr", type=float, default=0.01)
    parser.add_argument("--qat-ema", type=float, default=0.99,
                        help="EMA decay of the fine-tune (short runs need a short average)")
    parser.add_argument("--subset", type=int, default=None, help="QAT on a balanced subset")
    parser.add_argument("--limit-test", type=int, default=None, help="evaluate on the first N")
    parser.add_argument("--runs", default="runs/quantization")
    parser.add_argument("--results", default="docs/results/quantization")
    parser.add_argument("--no-onnx", action="store_true")
    args = parser.parse_args(argv)
    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    rows, onnx_report = [], {}
    for index, item in enumerate(args.checkpoint):
        name, _, path = item.partition("=")
        loaded = load_model(path, qat=False)
        model, cfg = loaded["model"], loaded["config"]
        data = args.data or cfg["data"]
        test = ttdata.load(data, "test")
        images, labels = test.images, test.labels
        if args.limit_test:
            images, labels = images[:args.limit_test], labels[:args.limit_test]
        normalizer = ttdata.Normalizer(cfg["normalizer"]["mean"], cfg["normalizer"]["std"])
        prepare = make_prepare(normalizer, augment=False, flip=False)
        float_acc = _accuracy(model, images, labels, prepare)
        rows.append({"network": name, "method": "float32", "bits": 32,
                     "bytes": model_size(model).total, "accuracy": float_acc})
        print(f"{name}: float32 {100 * float_acc:.2f} %, {model_size(model).total:,} B", flush=True)
        fields = {f.name for f in dataclasses.fields(RunConfig)}
        base = RunConfig(**{k: v for k, v in cfg.items() if k in fields})
        for bits in args.bits:
            size = model_size(model, bits).total
            for method in args.ptq_methods:
                acc = _accuracy(ptq(model, bits, method=method), images, labels, prepare)
                rows.append({"network": name, "method": f"PTQ-{method}", "bits": bits,
                             "bytes": size, "accuracy": acc})
                print(f"{name}: PTQ-{method} {bits} bits {100 * acc:.2f} %, {size:,} B",
                      flush=True)
            if args.qat_epochs > 0:
                config = dataclasses.replace(base, bits=bits, lr=args.qat_lr, schedule="cosine",
                                             data=data, subset=args.subset,
                                             ema_decay=args.qat_ema,
                                             quant_method=args.qat_method)
                start = time.perf_counter()
                result = train(config, Path(args.runs) / f"{name}-qat{bits}", args.qat_epochs,
                               resume=True, init=model, progress=False, log=None,
                               init_note={"checkpoint": str(path)})
                acc = _accuracy(result["model"], images, labels, prepare)
                rows.append({"network": name, "method": f"QAT-{args.qat_method}", "bits": bits,
                             "bytes": size, "accuracy": acc})
                print(f"{name}: QAT-{args.qat_method} {bits} bits {100 * acc:.2f} % "
                      f"({time.perf_counter() - start:.0f} s)", flush=True)
        if index == 0 and not args.no_onnx:
            onnx_report = {"network": name, "test_images": int(len(images)),
                           **_onnx_check(model, cfg, images, prepare, results)}
            print(json.dumps(onnx_report, indent=1), flush=True)

    with open(results / "results.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    methods = list(dict.fromkeys(r["method"] for r in rows if r["method"] != "float32"))
    lines = ["# Quantization: accuracy and size at k bits", "",
             "Test accuracy (%) by network, bit width and method; size of the weights file "
             "contents (cores or weights, scales, BatchNorm, biases) in KB.", "",
             "| network | bits | size (KB) | " + " | ".join(methods) + " |",
             "|---|---:|---:|" + "---:|" * len(methods)]
    for name in dict.fromkeys(r["network"] for r in rows):
        for bits in dict.fromkeys(r["bits"] for r in rows if r["network"] == name):
            cells = {r["method"]: r for r in rows if r["network"] == name and r["bits"] == bits}
            size = next(iter(cells.values()))["bytes"]
            if bits == 32:
                accs = [f"{100 * cells['float32']['accuracy']:.2f} (float32)"] + [""] * (
                    len(methods) - 1)
            else:
                accs = [f"{100 * cells[m]['accuracy']:.2f}" if m in cells else "–"
                        for m in methods]
            lines.append(f"| {name} | {bits} | {size / 1024:,.1f} | " + " | ".join(accs) + " |")
    if onnx_report:
        lines += ["", f"ONNX Runtime on {onnx_report['test_images']:,} test images "
                  f"({onnx_report['network']}): float logits max relative difference "
                  f"{onnx_report['float']['max_rel_logit_diff']:.1e}, int8 top-1 agreement with "
                  f"ttnet's 8-bit PTQ {100 * onnx_report['int8']['top1_agreement']:.2f} %; file "
                  f"{onnx_report['float']['file_bytes']:,} B (counted "
                  f"{onnx_report['float']['counted_bytes']:,}) float, "
                  f"{onnx_report['int8']['file_bytes']:,} B (counted "
                  f"{onnx_report['int8']['counted_bytes']:,}) int8."]
    (results / "table.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (results / "onnx.json").write_text(json.dumps(onnx_report, indent=1) + "\n", encoding="utf-8")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name in dict.fromkeys(r["network"] for r in rows):
        ref = [r for r in rows if r["network"] == name and r["method"] == "float32"][0]
        methods = dict.fromkeys(r["method"] for r in rows
                                if r["network"] == name and r["method"] != "float32")
        for method, style in zip(methods, ("o--", "^:", "s-", "d-.")):
            pts = sorted((r["bytes"], r["accuracy"]) for r in rows
                         if r["network"] == name and r["method"] == method)
            if pts:
                pts.append((ref["bytes"], ref["accuracy"]))
                ax.plot([p[0] for p in pts], [100 * p[1] for p in pts], style,
                        label=f"{name} {method}")
        ax.plot([ref["bytes"]], [100 * ref["accuracy"]], "k*", markersize=10)
    ax.set_xscale("log")
    ax.set_xlabel("model size (bytes, log scale; ★ float32)")
    ax.set_ylabel("test accuracy (%)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(results / "accuracy_vs_size.png", dpi=120)
    print(f"wrote {results}/results.csv, table.md, onnx.json, accuracy_vs_size.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
