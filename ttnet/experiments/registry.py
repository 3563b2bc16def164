"""Named training runs and the suites they belong to (what ``ttnet reproduce`` runs).

A :class:`Row` is one planned run: a :class:`~ttnet.experiments.run.RunConfig`
(model, width, ranks, schedule, seed, ...) and a number of epochs, plus what
the run stands for — the family it belongs to in the results table, the
whole-network compression it was chosen to match and the paper's figure it is
compared with. A *post-training* row has a ``source`` instead: it compresses
the trained weights of another row with TT-SVD and fine-tunes them.

A :class:`Suite` is an ordered tuple of rows with unique names; suites are
registered by name in :data:`SUITES` (``paper-table`` and ``quick`` live in
:mod:`ttnet.experiments.paper_table`). The order of a suite is the order in
which ``ttnet reproduce`` runs it, so the rows that answer the most come first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from .run import RunConfig

__all__ = ["PaperPoint", "Row", "Suite", "SUITES", "register", "get_suite"]


@dataclass(frozen=True)
class PaperPoint:
    """One entry of the paper's CIFAR-10 results table: top-1 accuracy (%) and compression (×)."""

    accuracy: float
    compression: float


@dataclass(frozen=True)
class Row:
    """One planned run of a suite.

    Attributes
    ----------
    name : str
        Unique within its suite; also the name of the row's run directory.
    family : str
        The line of the results table (and of the plot) the row belongs to,
        e.g. ``"tt-conv"``, ``"naive-tt-conv"``, ``"conv"`` (a baseline) or
        ``"post-training"``.
    config : RunConfig
        What is trained. For a post-training row: the fine-tuning run
        (``config.model`` is the compressed model, ``config.conv_ranks`` its
        exact ranks).
    epochs : int
        Number of training (or fine-tuning) epochs.
    baseline : str or None
        Family of the dense network the row's compression and accuracy drop are
        measured against (``"conv"`` or ``"conv-fc"``); None for a baseline.
    target_compression : float or None
        The whole-network compression the ranks were chosen to match.
    paper : PaperPoint or None
        The paper's CIFAR-10 figure this row stands for (None where the paper
        has no such row).
    source : str or None
        Post-training rows only: the name of the row whose trained weights are
        compressed.
    """

    name: str
    family: str
    config: RunConfig
    epochs: int
    baseline: str | None = None
    target_compression: float | None = None
    paper: PaperPoint | None = None
    source: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or "/" in self.name:
            raise ValueError(f"name must be a non-empty string without '/', got {self.name!r}")
        if not isinstance(self.config, RunConfig):
            raise TypeError(f"config of row {self.name!r} must be a RunConfig, got "
                            f"{type(self.config).__name__}")
        self.config.validate()
        if not isinstance(self.epochs, int) or isinstance(self.epochs, bool) or self.epochs < 1:
            raise ValueError(f"epochs of row {self.name!r} must be an int >= 1, got "
                             f"{self.epochs!r}")

    @property
    def is_post_training(self) -> bool:
        return self.source is not None

    def train_command(self, out: str) -> str:
        """The ``ttnet train`` command that trains exactly this row into ``out``.

        Post-training rows have no such command (they start from another run's
        weights); for them this is the ``ttnet reproduce`` command.
        """
        if self.is_post_training:
            raise ValueError(f"row {self.name!r} is a post-training row; it has no "
                             f"'ttnet train' command")
        c = self.config
        parts = ["ttnet train", f"--model {c.model}"]
        if c.conv_ranks is not None:
            parts.append(f"--ranks {format_ranks(c.conv_ranks)}")
        if c.fc_ranks is not None:
            parts.append(f"--fc-ranks {format_ranks(c.fc_ranks)}")
        parts += [f"--width {c.width:g}", f"--data {c.data}"]
        if c.subset is not None:
            parts.append(f"--subset {c.subset}")
        parts += [f"--epochs {self.epochs}", f"--batch-size {c.batch_size}", f"--lr {c.lr:g}",
                  f"--momentum {c.momentum:g}"]
        if c.weight_decay:
            parts.append(f"--weight-decay {c.weight_decay:g}")
        parts.append(f"--schedule {c.schedule}")
        if c.schedule == "step":
            parts.append(f"--lr-step {c.lr_step}")
            if c.lr_gamma != RunConfig.lr_gamma:
                parts.append(f"--lr-gamma {c.lr_gamma:g}")
        parts.append("--no-ema" if c.ema_decay is None else f"--ema {c.ema_decay:g}")
        if not c.augment:
            parts.append("--no-augment")
        parts += [f"--seed {c.seed}", f"--out {out}"]
        return " ".join(parts)


def format_ranks(ranks: Any) -> str:
    """Ranks in the CLI's syntax: ``16`` or ``22,20,20/27,22,22`` (one group per layer)."""
    if isinstance(ranks, int):
        return str(ranks)
    groups = []
    for layer in ranks:
        groups.append(str(layer) if isinstance(layer, int) else ",".join(str(r) for r in layer))
    return "/".join(groups)


@dataclass(frozen=True)
class Suite:
    """An ordered, named collection of rows (run in this order)."""

    name: str
    description: str
    rows: tuple[Row, ...]

    def __post_init__(self) -> None:
        names = [row.name for row in self.rows]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"suite {self.name!r} has duplicate row names: {duplicates}")
        for row in self.rows:
            if row.source is not None and row.source not in names:
                raise ValueError(f"row {row.name!r} of suite {self.name!r} starts from "
                                 f"{row.source!r}, which is not a row of the suite")

    def row(self, name: str) -> Row:
        for row in self.rows:
            if row.name == name:
                return row
        raise ValueError(f"suite {self.name!r} has no row {name!r}; its rows are: "
                         f"{', '.join(r.name for r in self.rows)}")

    def select(self, names: Iterable[str] | None) -> tuple[Row, ...]:
        """The rows named in ``names`` (in suite order), or every row when ``names`` is None."""
        if names is None:
            return self.rows
        wanted = list(names)
        for name in wanted:
            self.row(name)   # raises with the list of valid names
        return tuple(row for row in self.rows if row.name in wanted)


#: Registered suites by name.
SUITES: dict[str, Suite] = {}


def register(suite: Suite) -> Suite:
    """Add ``suite`` to :data:`SUITES` (a name may be registered once)."""
    if not isinstance(suite, Suite):
        raise TypeError(f"suite must be a Suite, got {type(suite).__name__}")
    if suite.name in SUITES:
        raise ValueError(f"a suite named {suite.name!r} is already registered")
    SUITES[suite.name] = suite
    return suite


def get_suite(name: str) -> Suite:
    """The registered suite called ``name``."""
    if not isinstance(name, str) or name not in SUITES:
        raise ValueError(f"suite must be one of {', '.join(sorted(SUITES))}; got {name!r}")
    return SUITES[name]
