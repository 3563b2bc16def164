"""The exceptions of :mod:`ttnet.data`.

Three things can go wrong with a data set on disk, and each has its own class
so that a program (the CLI, a notebook) can react to it:

* :class:`DatasetNotFoundError` (a ``FileNotFoundError``): the files are in none
  of the searched directories. The message lists the directories and says how
  to get the files.
* :class:`DatasetError` (a ``ValueError``): a file exists but is wrong —
  corrupt, truncated, not in the expected format, or its checksum differs from
  the recorded one. The message names the file.
* :class:`DownloadError` (an ``OSError``): ``download=True`` could not fetch a
  file (no network, HTTP error, connection cut). The message names the URL;
  nothing is left behind that looks like a valid file.
"""

from __future__ import annotations

__all__ = ["DatasetError", "DatasetNotFoundError", "DownloadError"]


class DatasetError(ValueError):
    """A data file is corrupt, truncated, in the wrong format or fails its checksum."""


class DatasetNotFoundError(FileNotFoundError):
    """The files of a data set are in none of the searched directories."""


class DownloadError(OSError):
    """A data file could not be downloaded."""
