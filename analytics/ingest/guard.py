"""Reading an uploaded file in a child process: a file that makes a reader abort (a workbook whose
one cell sits at XFD1048576 asks for 512 GB) or run out of memory or time ends the child, not the
dashboard that every signed-in leader is using. Whatever the child leaves behind is removed.

The child is a fresh interpreter running _child, not multiprocessing: its spawn re-runs the
parent's __main__, which under Streamlit is the page that asked."""

import os
import pickle
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb

from .. import db, settings
from . import load
from .read import FileError


CHILD = "import sys; from analytics.ingest.guard import _child; _child(sys.argv[1], int(sys.argv[2]))"


class Failed(FileError):
    """The child ended without an answer: the file made the reader abort, or took too much memory or time."""


def run(function, *args, db_path: Path | None = None, memory_mb: int | None = None, seconds: float | None = None,
        **kwargs):
    """function(*args, **kwargs) in a child process limited to memory_mb of address space and
    seconds of time; its answer, or its exception raised here. Failed when the child dies or is
    stopped. db_path: the database an import writes beside, swept of the child's working copy."""
    memory_mb = settings.IMPORT_MEMORY_MB if memory_mb is None else memory_mb
    seconds = settings.IMPORT_SECONDS if seconds is None else seconds
    folder = Path(tempfile.mkdtemp(prefix=load.temp_prefix("guard")))
    child = None
    try:
        (folder / "call.pickle").write_bytes(pickle.dumps((function, args, kwargs)))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(db.ROOT), os.environ.get("PYTHONPATH")]))}
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(folder), str(memory_mb)], env=env,
                                 stdin=subprocess.DEVNULL)
        try:
            child.wait(seconds)
        except subprocess.TimeoutExpired:
            raise Failed(f"读取和检查文件超过 {seconds / 60:g} 分钟仍未完成,已停止;文件可能过大,请拆分后再导入") from None
        answer = folder / "answer.pickle"
        if child.returncode != 0 or not answer.exists():
            raise Failed("读取文件时处理程序意外退出(文件可能已损坏,或需要的内存超出限制),数据库未改动。"
                         "请在 Excel 中检查文件,删除数据区以外的行和列后另存再试")
        ok, value = pickle.loads(answer.read_bytes())
    finally:
        if child is not None:
            if child.poll() is None:
                child.kill()
                child.wait()
            if db_path is not None and child.returncode != 0:
                load.discard_of(Path(db_path), child.pid)
        shutil.rmtree(folder, ignore_errors=True)
    if not ok:
        raise value
    return value


def _child(folder: str, memory_mb: int) -> None:
    folder = Path(folder)
    limit = memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    tempfile.tempdir = str(folder)
    function, args, kwargs = pickle.loads((folder / "call.pickle").read_bytes())
    try:
        answer = (True, function(*args, **kwargs))
    except (MemoryError, duckdb.OutOfMemoryException):
        answer = (False, Failed(f"文件太大:读取和检查需要的内存超过 {memory_mb:,} MB 的限制,请拆分后再导入"))
    except Exception as exc:  # a programming error is raised again in the parent, not hidden
        answer = (False, exc)
    (folder / "answer.pickle").write_bytes(pickle.dumps(answer))

