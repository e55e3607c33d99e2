"""The output folder: every run's files replace the earlier set all at once, or not at all.

A run writes its files into a hidden staging folder inside ``--out``; only when every file is
complete does it replace the earlier files, guided by a journal (``.gapmap-commit``) so that a
run killed while replacing is finished by the next one before it starts. A lock
(``.gapmap.lock``, an advisory ``flock``) keeps two runs from writing into one folder at once:
the second stops before any work with a clear message. Before any work, too, the folder is
checked: it must be (or become) a writable folder, and no output may replace an input (paths
compared after resolving links). A disk that fills mid-run is reported as such, with the
earlier set of files untouched.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

from gapmap.errors import GapmapError, InputError, Problem

__all__ = ["OutputError", "OutputFolder"]

LOCK = ".gapmap.lock"
JOURNAL = ".gapmap-commit"
STAGE_PREFIX = ".gapmap-run-"
#: Less free space than this when a write fails: the disk is full.
_FULL_BYTES = 4 * 1024 * 1024


class OutputError(GapmapError, RuntimeError):
    """Outputs could not be written (not the user's input: exit code 1)."""


class OutputFolder:
    """Where a run writes, checked before the run and replaced as a whole at its end.

    Parameters
    ----------
    out
        The ``--out`` folder (created if missing).
    inputs
        Every file the run reads: none may be replaced by an output.
    outputs
        The names of every file gapmap may write into a folder.

    Examples
    --------
    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp()) / "out"
    >>> folder = OutputFolder(out, inputs=[Path("people.csv")], outputs=["gaps.csv"])
    >>> with folder, folder.run() as stage:
    ...     _ = (stage / "gaps.csv").write_text("area_code\\n")
    >>> sorted(p.name for p in out.iterdir()), (out / "gaps.csv").read_text()
    (['ABOUT_THESE_FILES.txt', 'gaps.csv', 'index.html'], 'area_code\\n')
    """

    def __init__(self, out: Path, *, inputs: Iterable[Path | None], outputs: Iterable[str]):
        self.out = Path(out)
        self.inputs = [Path(p) for p in inputs if p is not None]
        self.outputs = list(outputs)
        self._lock_fd: int | None = None
        self._created: list[Path] = []

    def __enter__(self) -> OutputFolder:
        self.prepare()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    # --- before any work ----------------------------------------------------------------------
    def prepare(self) -> None:
        """Check the folder, take the lock and finish an interrupted commit.

        Raises
        ------
        InputError
            ``--out`` is a file or under one, cannot be created or written, would replace an
            input, or another run is writing into it.
        """
        out, flag = self.out, "--out"
        for parent in [out, *out.parents]:
            if parent.exists() and not parent.is_dir():
                what = "is a file" if parent == out else f"is under a file ({parent})"
                raise InputError(
                    Problem("command line", f"{out} {what}; give a folder", column=flag)
                )
        missing = [p for p in [out, *out.parents] if not p.exists()]
        try:
            out.mkdir(parents=True, exist_ok=True)
            self._created = missing  # removed again if the run writes nothing
        except OSError as exc:
            raise InputError(
                Problem(
                    "command line", f"cannot create the folder {out}: {exc.strerror}", column=flag
                )
            ) from None
        targets = {(out / name).resolve(): name for name in self.outputs}
        for path in self.inputs:
            name = targets.get(path.resolve())
            if name is not None:
                raise InputError(
                    Problem(
                        str(path),
                        f"is an input, and the output {name} would replace it; give another "
                        "--out (or move the file)",
                    )
                )
        self._lock_fd = self._lock()
        self._recover()

    def _lock(self) -> int:
        """Take the folder's lock file (removed again on release; the inode check makes
        sure the file locked is the one in the folder, not one a finishing run removed)."""
        path, flag = self.out / LOCK, "--out"
        for _ in range(20):
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise InputError(
                    Problem(
                        "command line", f"cannot write into {self.out}: {exc.strerror}", column=flag
                    )
                ) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise InputError(
                    Problem(
                        "command line",
                        f"another gapmap run is writing into {self.out}; wait for it to finish, "
                        "or give another --out",
                        column=flag,
                    )
                ) from None
            try:
                same = os.fstat(fd).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                return fd
            os.close(fd)  # the lock file was removed under us: take the new one
        raise InputError(Problem("command line", f"cannot lock {self.out}", column=flag))

    def _recover(self) -> None:
        """Finish a commit that a killed run began; drop the staging of runs that never did."""
        journal = self.out / JOURNAL
        if journal.exists():
            try:
                plan = json.loads(journal.read_text(encoding="utf-8"))
                stage = self.out / plan["stage"]
                for name in plan["files"]:
                    if (stage / name).exists():
                        os.replace(stage / name, self.out / name)
            except (OSError, ValueError, KeyError):
                pass
            journal.unlink(missing_ok=True)
        for stale in self.out.glob(STAGE_PREFIX + "*"):
            shutil.rmtree(stale, ignore_errors=True)

    def release(self) -> None:
        """Let other runs write into the folder."""
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                (self.out / LOCK).unlink()
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None
        for folder in self._created:  # made for this run, and still empty: not left behind
            with contextlib.suppress(OSError):
                folder.rmdir()
        self._created = []

    # --- the run ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def run(self) -> Iterator[Path]:
        """A staging folder to write into; its files replace the earlier ones when the block
        ends without an error, and are thrown away when it does not.

        Raises
        ------
        OutputError
            a file could not be written (the disk full, most often); the earlier files are
            untouched.
        """
        if self._lock_fd is None:
            raise RuntimeError("prepare() the folder (or enter it) before a run")
        stage = Path(self.out / f"{STAGE_PREFIX}{os.getpid()}")
        shutil.rmtree(stage, ignore_errors=True)
        stage.mkdir()
        try:
            try:
                yield stage
            except (KeyboardInterrupt, InputError):
                raise
            except Exception as exc:
                if self._is_writing_error(exc):
                    raise self._explain(exc) from exc
                raise
            try:
                self._commit(stage)
            except OSError as exc:
                raise self._explain(exc) from exc
        finally:
            shutil.rmtree(stage, ignore_errors=True)

    def _commit(self, stage: Path) -> None:
        from gapmap.publish.outputs import write_about

        files = sorted(p.name for p in stage.iterdir() if not p.name.startswith("."))
        journal = self.out / JOURNAL
        tmp = self.out / (JOURNAL + ".tmp")
        tmp.write_text(json.dumps({"stage": stage.name, "files": files}), encoding="utf-8")
        os.replace(tmp, journal)  # from here on the new set is the one that counts
        for name in files:
            os.replace(stage / name, self.out / name)
        write_about(self.out)
        journal.unlink()

    def _is_writing_error(self, exc: BaseException) -> bool:
        """A failure to write (the disk, the file system, GDAL), not a fault in the analysis."""
        if isinstance(exc, OSError) or type(exc).__name__ in ("DataSourceError", "FieldError"):
            return True
        with contextlib.suppress(OSError):
            return shutil.disk_usage(self.out).free < _FULL_BYTES
        return False

    def _explain(self, exc: BaseException) -> OutputError:
        full = isinstance(exc, OSError) and exc.errno == errno.ENOSPC
        with contextlib.suppress(OSError):
            full = full or shutil.disk_usage(self.out).free < _FULL_BYTES
        what = "the disk is full" if full else f"{type(exc).__name__}: {exc}".strip().rstrip(":")
        return OutputError(
            f"could not write the outputs into {self.out} ({what}); the files there from an "
            "earlier run are as they were"
        )
