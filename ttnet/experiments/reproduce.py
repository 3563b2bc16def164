"""Run a suite across many sittings and report what has finished (``ttnet reproduce``).

Every row of a suite trains into its own directory ``OUT/ROW/`` with the
ordinary trainer, so a row is in one of four states (:func:`row_state`):

- ``done``: ``last.npz`` holds all of the row's epochs;
- ``partial``: a run was started and interrupted: :func:`run_suite` resumes it
  from ``last.npz`` (bit-identical to an uninterrupted run on the
  same machine, library versions and thread counts);
- ``missing``: nothing yet: :func:`run_suite` starts it;
- ``waiting``: a post-training row whose source row is not done yet.

:func:`run_suite` walks the suite in order, skipping what is done, so it can be
stopped at any moment (``kill``) and started again with the same command.
:func:`write_report` turns whatever has finished into ``results.csv``,
``table.md``, ``accuracy_vs_compression.png`` and one folder per row with its
``metrics.csv``, ``config.json`` and, when under 2 MB, its final evaluation
weights ``weights.npz`` (EMA parameters and BatchNorm buffers) that
``ttnet eval --checkpoint`` reads.

A *post-training* row compresses the final weights of its source row (a
trained dense ``conv`` network) with TT-SVD, layer by layer
(:meth:`~ttnet.nn.TTConv2d.from_conv` or
:meth:`~ttnet.nn.NaiveTTConv2d.from_conv`, ranks capped at the row's ranks and
zero-padded up to them, so the network has exactly the parameters of the
from-scratch row it is compared with), evaluates it, and fine-tunes it for the
row's epochs; ``before_fine_tune.json`` keeps the accuracy before fine-tuning.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .. import data as ttdata
from .. import models
from ..nn import SoftmaxCrossEntropy
from ..nn.layers import Conv2d
from ..nn.tt_layers import NaiveTTConv2d, TTConv2d
from ..train import SGD, evaluate, load_checkpoint, run_dir, save_checkpoint
from ..train.checkpoint import atomic_write
from .claims import format_verdicts, verdicts
from .paper_table import PAPER
from .registry import Row, Suite, format_ranks
from .run import copy_weights, evaluate_checkpoint, make_prepare, train

__all__ = ["RowState", "row_state", "plan", "format_plan", "run_suite", "write_report",
           "WEIGHTS_LIMIT"]

#: Weights files larger than this are not written into a report (they would bloat the repository).
WEIGHTS_LIMIT = 2_000_000

#: Image shape and number of training / test images of each data set, for plans and estimates.
DATA_SHAPES = {"fashion-mnist": ((1, 32, 32), 60_000, 10_000),
               "fashion-mnist-mini": ((1, 32, 32), 6_000, 1_000),
               "cifar10": ((3, 32, 32), 50_000, 10_000)}


@dataclass
class RowState:
    """Where a row stands in a run directory (see the module docstring)."""

    row: Row
    status: str
    epoch: int
    path: Path

    def __str__(self) -> str:
        if self.status == "partial":
            return f"partial ({self.epoch}/{self.row.epochs} epochs)"
        if self.status == "waiting":
            return f"waiting for {self.row.source}"
        return self.status


def row_state(row: Row, out: str | os.PathLike, suite: Suite | None = None) -> RowState:
    """The state of ``row`` in the suite directory ``out``."""
    path = Path(out) / row.name
    epoch = run_dir.completed_epochs(path)      # None: no run was started there
    if epoch is not None:
        return RowState(row, "done" if epoch >= row.epochs else "partial", epoch, path)
    if row.is_post_training and suite is not None:
        if row_state(suite.row(row.source), out).status != "done":
            return RowState(row, "waiting", 0, path)
    return RowState(row, "missing", 0, path)


# ---------------------------------------------------------------- plan
def _build(row: Row, dtype: Any = np.float32) -> Any:
    shape = DATA_SHAPES[row.config.data][0]
    return models.build(row.config.model, input_shape=shape, num_classes=10,
                        width=row.config.width, conv_ranks=row.config.conv_ranks,
                        fc_ranks=row.config.fc_ranks, rng=row.config.seed, dtype=dtype)


def _seconds_per_step(row: Row) -> float:
    """Wall time of one training step (forward, backward, SGD) at the row's batch size, now."""
    model = _build(row)
    shape = DATA_SHAPES[row.config.data][0]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((row.config.batch_size, *shape)).astype(np.float32)
    y = rng.integers(0, 10, row.config.batch_size)
    loss, optimizer = SoftmaxCrossEntropy(), SGD(model, lr=1e-3, momentum=0.9)
    times = []
    for _ in range(3):          # the first step compiles / allocates; keep the best of the others
        start = time.perf_counter()
        loss.forward(model.forward(x), y)
        model.backward(loss.backward())
        optimizer.step()
        times.append(time.perf_counter() - start)
    return min(times[1:])


def plan(suite: Suite, out: str | os.PathLike | None = None,
         only: Sequence[str] | None = None, estimate: bool = True) -> list[dict[str, Any]]:
    """One dict per selected row: parameters, compression, state and estimated time.

    ``estimate`` times one training step of every distinct model now, on this
    machine, and extrapolates to the row's epochs (evaluation counted as a
    third of a step per test batch); a row that is done reports its measured
    wall time instead.
    """
    step_cache: dict[str, float] = {}
    entries = []
    for row in suite.select(only):
        model = _build(row)
        summary = models.summary(model, DATA_SHAPES[row.config.data][0], verbose=False)
        state = row_state(row, out, suite) if out is not None else None
        entry = {"row": row.name, "family": row.family, "model": row.config.model,
                 "width": row.config.width, "conv_ranks": row.config.conv_ranks,
                 "fc_ranks": row.config.fc_ranks, "seed": row.config.seed,
                 "epochs": row.epochs, "parameters": summary.n_params,
                 "compression": summary.compression, "target": row.target_compression,
                 "state": str(state) if state else "", "seconds": None, "measured": False}
        if state is not None and state.status == "done":
            entry["seconds"] = sum(m["seconds"] for m in load_checkpoint(
                state.path / "last.npz").metrics)
            entry["measured"] = True
        elif estimate:
            key = repr((row.config.model, row.config.width, row.config.conv_ranks,
                        row.config.fc_ranks, row.config.batch_size, row.config.data))
            if key not in step_cache:
                step_cache[key] = _seconds_per_step(row)
            _, n_train, n_test = DATA_SHAPES[row.config.data]
            batch = row.config.batch_size
            steps = n_train // batch + math.ceil(n_test / batch) / 3
            done = state.epoch if state is not None else 0
            entry["seconds"] = (row.epochs - done) * steps * step_cache[key]
        entries.append(entry)
    return entries


def _hours(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.0f} min"


def format_plan(entries: list[dict[str, Any]]) -> str:
    """The plan as a text table with a total."""
    header = ("row", "model", "ranks (conv / fc)", "params", "compression", "epochs", "state",
              "time")
    lines = []
    for e in entries:
        ranks = " / ".join(format_ranks(r) for r in (e["conv_ranks"], e["fc_ranks"])
                           if r is not None)
        lines.append((e["row"], e["model"], ranks or "-", f"{e['parameters']:,}",
                      f"{e['compression']:.2f}x", str(e["epochs"]), e["state"] or "-",
                      _hours(e["seconds"]) + ("" if e["measured"] or e["seconds"] is None
                                              else " (est.)")))
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines)]
    text = ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in [header] + lines]
    pending = [e for e in entries if not e["measured"]]
    if pending and all(e["seconds"] is None for e in pending):
        text.append(f"{len(entries)} rows (time not estimated)")
    else:
        remaining = sum(e["seconds"] or 0 for e in pending)
        text.append(f"{len(entries)} rows; estimated time still to run: {_hours(remaining)} "
                    f"(one training step per model timed now on this machine)")
    return "\n".join(text)


# ---------------------------------------------------------------- run
def run_suite(suite: Suite, out: str | os.PathLike, only: Sequence[str] | None = None, *,
              progress: bool | None = None, log: Callable[[str], Any] = print,
              download: bool = False) -> list[RowState]:
    """Run every selected row that is not done, in suite order; return the final states.

    A row that is ``partial`` is resumed from its ``last.npz``; a post-training
    row whose source is not done is skipped (it runs in a later call).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    states = []
    for row in suite.select(only):
        state = row_state(row, out, suite)
        if state.status in ("done", "waiting"):
            log(f"[{row.name}] {state}: skipped")
            states.append(state)
            continue
        log(f"[{row.name}] {state}: {'resuming' if state.status == 'partial' else 'starting'} "
            f"({row.epochs} epochs)")
        if row.is_post_training:
            _run_post_training(row, suite, out, progress=progress, log=log, download=download)
        else:
            train(row.config, state.path, row.epochs, resume=True, progress=progress,
                  log=lambda line, name=row.name: log(f"[{name}] {line}"), download=download)
        states.append(row_state(row, out, suite))
    return states


def compress_trained_conv(dense: Any, row: Row) -> Any:
    """The network of ``row`` (tt-conv or naive-tt-conv) made from a trained dense ``conv``.

    Every dense layer, BatchNorm parameter and buffer is copied; every
    convolution that the row's model holds in TT form is compressed with
    TT-SVD, its ranks capped at the row's ranks and its cores zero-padded up
    to them (zero padding leaves the represented kernel unchanged).
    """
    target = _build(row)
    if len(dense.children()) != len(target.children()):
        raise ValueError(f"the source network has {len(dense.children())} layers, the network of "
                         f"row {row.name!r} {len(target.children())}")
    for source_layer, layer in zip(dense.children(), target.children()):
        if isinstance(layer, (TTConv2d, NaiveTTConv2d)):
            if not isinstance(source_layer, Conv2d):
                raise ValueError(f"row {row.name!r}: expected a Conv2d in the source network "
                                 f"where the row has {type(layer).__name__}")
            ranks = layer.ranks[1:-1]
            if isinstance(layer, TTConv2d):
                compressed = TTConv2d.from_conv(source_layer, layer.in_modes, layer.out_modes,
                                                max_rank=list(ranks))
            else:
                compressed = NaiveTTConv2d.from_conv(source_layer, max_rank=list(ranks))
            for core, small in zip(layer.cores, compressed.cores):
                core[...] = 0
                core[tuple(slice(0, n) for n in small.shape)] = small
        else:
            copy_weights(source_layer, layer, f"layer {type(source_layer).__name__}")
    return target


def _run_post_training(row: Row, suite: Suite, out: Path, *, progress: bool | None,
                       log: Callable[[str], Any], download: bool) -> None:
    source = suite.row(row.source)
    source_ckpt = load_checkpoint(out / source.name / "last.npz")
    dense = _build(source)
    source_ckpt.restore_model(dense, use_ema=source_ckpt.ema is not None)
    compressed = compress_trained_conv(dense, row)
    path = out / row.name
    saved = source_ckpt.config["config"]
    test = ttdata.load(row.config.data, "test", download=download)
    normalizer = ttdata.Normalizer(saved["normalizer"]["mean"], saved["normalizer"]["std"])
    loss, accuracy = evaluate(compressed, test.images, test.labels,
                              make_prepare(normalizer, augment=False, flip=False),
                              batch_size=row.config.batch_size)
    log(f"[{row.name}] compressed {source.name} with TT-SVD: test accuracy "
        f"{100 * accuracy:.2f} % before fine-tuning")
    train(row.config, path, row.epochs, resume=True, progress=progress,
          log=lambda line: log(f"[{row.name}] {line}"), download=download, init=compressed,
          init_note={"source": source.name, "method": "TT-SVD of the trained kernels",
                     "weights_blake2b": _weights_digest(compressed)})
    # written after the run (the trainer accepts only its own files in a run directory);
    # an interrupted fine-tune recomputes it, the conversion being deterministic
    text = json.dumps({"source": source.name, "test_acc": accuracy, "test_loss": loss},
                      indent=1) + "\n"
    atomic_write(path / "before_fine_tune.json", lambda f: f.write(text.encode("utf-8")))


def _weights_digest(model: Any) -> str:
    h = hashlib.blake2b(digest_size=16)
    for name, arr in list(model.params.items()) + list(model.buffers.items()):
        h.update(name.encode())
        h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


# ---------------------------------------------------------------- report
RESULT_COLUMNS = ("row", "family", "model", "width", "conv_ranks", "fc_ranks", "parameters",
                  "compression", "seed", "epochs", "test_accuracy", "accuracy_before_fine_tune",
                  "wall_seconds", "command")


def _final_weights(state: RowState) -> tuple[Any, Any]:
    """The row's evaluation model (EMA weights if the run kept an EMA) and its checkpoint."""
    ckpt = load_checkpoint(state.path / "last.npz")
    model = _build(state.row)
    ckpt.restore_model(model, use_ema=ckpt.ema is not None)
    return model, ckpt


def _same_weights(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether two checkpoint files hold the same arrays and the same record, apart from the
    ``environment`` of the process that wrote them (thread counts, library versions)."""
    with np.load(a) as x, np.load(b) as y:
        if sorted(x.files) != sorted(y.files):
            return False
        if not all(np.array_equal(x[k], y[k]) for k in x.files if k != "meta"):
            return False
        meta_a, meta_b = json.loads(str(x["meta"][()])), json.loads(str(y["meta"][()]))
    meta_a.pop("environment", None)
    meta_b.pop("environment", None)
    return meta_a == meta_b


def write_report(suite: Suite, out: str | os.PathLike, results: str | os.PathLike, *,
                 log: Callable[[str], Any] = print, download: bool = False,
                 command_out: str | None = None) -> list[dict[str, Any]]:
    """Write the results of every finished row of ``suite`` in ``out`` into ``results``.

    Each finished row's final weights are saved (when under
    :data:`WEIGHTS_LIMIT`) as ``results/ROW/weights.npz`` and re-evaluated from
    that file with :func:`~ttnet.experiments.run.evaluate_checkpoint`; the
    accuracy in the report is that re-evaluation, and it must equal the
    trainer's last evaluation (a mismatch is an error). A ``weights.npz`` that a
    previous report wrote with the same arrays is kept as it is
    (``_same_weights``), so that reporting again changes no committed file.
    ``command_out`` is the directory written into each row's ``ttnet train`` command
    (default: ``out``).
    """
    out, results = Path(out), Path(results)
    results.mkdir(parents=True, exist_ok=True)
    records = []
    for row in suite.rows:
        state = row_state(row, out, suite)
        if state.status != "done":
            continue
        model, ckpt = _final_weights(state)
        row_dir = results / row.name
        row_dir.mkdir(exist_ok=True)
        for name in ("metrics.csv", "config.json", "before_fine_tune.json"):
            if (state.path / name).is_file():
                shutil.copyfile(state.path / name, row_dir / name)
        weights, fresh = row_dir / "weights.npz", row_dir / "weights.new.npz"
        save_checkpoint(fresh, model, epoch=ckpt.epoch, config=ckpt.config,
                        metrics=ckpt.metrics)
        if weights.is_file() and _same_weights(weights, fresh):
            fresh.unlink()          # keep the file a previous report wrote: no binary churn
        else:
            fresh.replace(weights)
        evaluated = evaluate_checkpoint(weights, download=download)
        trainer_acc = ckpt.metrics[-1]["test_acc"]
        if evaluated["accuracy"] != trainer_acc:
            raise RuntimeError(f"row {row.name}: the saved weights evaluate to "
                               f"{evaluated['accuracy']}, the trainer measured {trainer_acc}")
        if weights.stat().st_size > WEIGHTS_LIMIT:
            weights.unlink()
        summary = models.summary(model, DATA_SHAPES[row.config.data][0], verbose=False)
        before = None
        if (state.path / "before_fine_tune.json").is_file():
            before = json.loads((state.path / "before_fine_tune.json").read_text())["test_acc"]
        row_dir = f"{command_out or out}/{row.name}"
        command = (f"ttnet reproduce --out {command_out or out} --only {row.name}"
                   if row.is_post_training else row.train_command(row_dir))
        records.append({
            "row": row.name, "family": row.family, "model": row.config.model,
            "width": row.config.width, "conv_ranks": format_ranks(row.config.conv_ranks)
            if row.config.conv_ranks is not None else "",
            "fc_ranks": format_ranks(row.config.fc_ranks) if row.config.fc_ranks is not None
            else "", "parameters": summary.n_params, "compression": round(summary.compression, 3),
            "seed": row.config.seed, "epochs": ckpt.epoch,
            "test_accuracy": round(100 * evaluated["accuracy"], 2),
            "accuracy_before_fine_tune": "" if before is None else round(100 * before, 2),
            "wall_seconds": round(sum(m["seconds"] for m in ckpt.metrics)),
            "command": command})
        log(f"[{row.name}] {100 * evaluated['accuracy']:.2f} % at {summary.compression:.2f}x")
    _write_csv(results / "results.csv", records)
    table = format_table(suite, records)
    found = verdicts(suite, records)
    if found:
        table += "\n" + format_verdicts(found)
        for v in found:
            log(f"claim: {v.claim}: {v.verdict}")
    (results / "table.md").write_text(table, encoding="utf-8")
    if records:
        plot_accuracy_vs_compression(suite, records, results / "accuracy_vs_compression.png")
    return records


def _write_csv(path: Path, records: list[dict[str, Any]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=RESULT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    path.write_text(buffer.getvalue(), encoding="utf-8")


def _group(suite: Suite, records: list[dict[str, Any]]) -> dict[tuple[str, float | None], list]:
    """Records by (family, target compression): the seeds of one table cell."""
    targets = {row.name: row.target_compression for row in suite.rows}
    groups: dict[tuple[str, float | None], list] = {}
    for rec in records:
        groups.setdefault((rec["family"], targets[rec["row"]]), []).append(rec)
    return groups


def _mean_spread(values: list[float]) -> tuple[float, float]:
    mean = float(np.mean(values))
    return mean, (float(max(values) - min(values)) / 2 if len(values) > 1 else float("nan"))


def format_table(suite: Suite, records: list[dict[str, Any]]) -> str:
    """``table.md``: our accuracy and compression beside the paper's CIFAR-10 figures."""
    rows_by_name = {row.name: row for row in suite.rows}
    groups = _group(suite, records)
    baseline_acc = {}
    for (family, target), recs in groups.items():
        if rows_by_name[recs[0]["row"]].baseline is None:
            baseline_acc.setdefault(family, _mean_spread([r["test_accuracy"] for r in recs])[0])
    lines = [f"# {suite.name}", "", suite.description, "",
             "| family | compression (ours) | test accuracy % (ours) | seeds | drop vs baseline | "
             "paper: CIFAR-10 accuracy % | paper: compression | paper: drop |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for (family, target), recs in groups.items():
        row = rows_by_name[recs[0]["row"]]
        mean, spread = _mean_spread([r["test_accuracy"] for r in recs])
        acc = f"{mean:.2f}" + (f" ± {spread:.2f}" if len(recs) > 1 else "")
        if row.is_post_training:
            before = [r["accuracy_before_fine_tune"] for r in recs]
            acc += f" (before fine-tuning: {np.mean(before):.2f})"
        base = baseline_acc.get(row.baseline) if row.baseline else None
        drop = f"{base - mean:.2f}" if base is not None else "-"
        comp = f"{np.mean([r['compression'] for r in recs]):.2f}x"
        if row.paper is not None:
            paper_base = suite_paper_baseline(row.baseline)
            paper = (f"{row.paper.accuracy:.1f}", f"{row.paper.compression:.2f}x",
                     f"{paper_base - row.paper.accuracy:.1f}" if paper_base else "-")
        else:
            paper = ("-", "-", "-")
        lines.append(f"| {family} | {comp} | {acc} | {len(recs)} | {drop} | " + " | ".join(paper)
                     + " |")
    lines += ["", "Accuracy with ± is the mean over seeds ± half the range (min to max). "
              "'drop' is the baseline's accuracy minus the row's. The paper's figures are on "
              "CIFAR-10 at full width; ours on Fashion-MNIST. Every row's command is in "
              "results.csv.", ""]
    return "\n".join(lines)


def suite_paper_baseline(family: str | None) -> float | None:
    """The paper's accuracy of a baseline family (None if unknown)."""
    if family is None or family not in PAPER:
        return None
    return PAPER[family][0].accuracy


def plot_accuracy_vs_compression(suite: Suite, records: list[dict[str, Any]],
                                 path: str | os.PathLike) -> None:
    """Accuracy against compression (log axis): our families as lines with seed spread,
    the paper's points as hollow markers (on their own axis, CIFAR-10)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = _group(suite, records)
    fig, (ax, ax_paper) = plt.subplots(1, 2, figsize=(11, 4.2))
    families = sorted({family for family, _ in groups})
    colors = {f: plt.cm.tab10(k % 10)          # one colour per family in both panels
              for k, f in enumerate(sorted(set(families) | set(PAPER)))}
    for family in families:
        cells = sorted((np.mean([r["compression"] for r in recs]),
                        *_mean_spread([r["test_accuracy"] for r in recs]),
                        [r["test_accuracy"] for r in recs])
                       for (fam, _), recs in groups.items() if fam == family)
        x = [c[0] for c in cells]
        y = [c[1] for c in cells]
        ax.plot(x, y, "o-", color=colors[family], label=family)
        for c in cells:
            if len(c[3]) > 1:
                ax.vlines(c[0], min(c[3]), max(c[3]), color=colors[family], lw=3, alpha=0.5)
    for family, points in PAPER.items():
        ax_paper.plot([p.compression for p in points], [p.accuracy for p in points], "o--",
                      mfc="none", color=colors.get(family, "grey"), label=family)
    for a, title in ((ax, "ours: Fashion-MNIST, width 0.5"),
                     (ax_paper, "paper: CIFAR-10, width 1 (hollow)")):
        a.set_xscale("log")
        a.set_xlim(0.8, 120)
        a.set_xlabel("whole-network compression (x)")
        a.set_ylabel("test accuracy (%)")
        a.set_title(title)
        a.grid(True, which="both", alpha=0.3)
    # one legend for both panels, below them (the same colour is the same family in both),
    # so that it hides no point
    fig.legend(*ax.get_legend_handles_labels(), loc="lower center", ncol=5, fontsize=8)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
