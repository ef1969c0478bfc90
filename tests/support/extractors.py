"""The real extractors a recipient might use, run on an archive as a recipient would, for the zip
tests of issue 14: Info-ZIP `unzip`, 7-Zip (`7zz`), libarchive's `bsdtar` reading a file and
reading a pipe, and Python's `zipfile`.

    from support.extractors import EXTRACTORS, names_seen, extract
    extract("bsdtar-pipe", path, password=None, into=tmp_path)   # {"a.txt": b"..."}

"No password" means what a recipient who has none can do: every tool is run without a terminal
and with a standard input that cannot be read (a directory), so a password prompt fails at once
instead of retrying. bsdtar reading a pipe then gets the archive on another descriptor
(`/dev/fd/N`, a pipe, so libarchive streams it exactly as from `cat f | bsdtar -xf -`); with a
password given (`--passphrase`) the archive is its standard input, as in that command.

A tool that runs past its generous timeout is killed and what it wrote is still examined: a hang
is not a pass or a fail in itself, and no test depends on how long a tool takes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import threading
import zipfile
from collections.abc import Callable
from pathlib import Path

TIMEOUT_SECONDS = 120

# The tool each extractor needs (zipfile is always there).
TOOLS = {"unzip": "unzip", "7zz": "7zz", "bsdtar": "bsdtar", "bsdtar-pipe": "bsdtar", "zipfile": None}
EXTRACTORS = tuple(TOOLS)
REAL_EXTRACTORS = tuple(name for name, tool in TOOLS.items() if tool)
INSTALL_HINT = "apt-get install -y 7zip unzip libarchive-tools (as .ci/run does)"


def available(extractor: str) -> bool:
    tool = TOOLS[extractor]
    return tool is None or shutil.which(tool) is not None


def missing_message(extractor: str) -> str:
    return f"{TOOLS[extractor]} is not installed, so the {extractor} part of this test cannot run: {INSTALL_HINT}"


def _run(
    command: list[str],
    *,
    cwd: Path,
    stdin_data: bytes | None = None,
    pipe_fd_data: bytes | None = None,
    errors: bool = True,
) -> str:
    """Run a tool without a terminal; returns its output, with its errors unless `errors` is
    False (a listing).

    `stdin_data` is fed on standard input; otherwise standard input is a directory, which makes a
    password prompt fail. `pipe_fd_data` is fed through a pipe whose path replaces `{fd}` in the
    command."""
    unreadable = os.open("/", os.O_RDONLY)
    pass_fds: tuple[int, ...] = ()
    feed_fd: int | None = None
    if pipe_fd_data is not None:
        read_fd, feed_fd = os.pipe()
        pass_fds = (read_fd,)
        command = [part.replace("{fd}", f"/dev/fd/{read_fd}") for part in command]
    try:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            stdin=subprocess.PIPE if stdin_data is not None else unreadable,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if errors else subprocess.DEVNULL,
            pass_fds=pass_fds,
            start_new_session=True,
        )
    finally:
        os.close(unreadable)
        for fd in pass_fds:
            os.close(fd)
    feeder = None
    if feed_fd is not None:
        feeder = threading.Thread(target=_feed, args=(feed_fd, pipe_fd_data or b""), daemon=True)
        feeder.start()
    try:
        output, _ = process.communicate(stdin_data, timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)
        output, _ = process.communicate()
    if feeder is not None:
        feeder.join()
    return output.decode("utf-8", "replace")


def _feed(fd: int, data: bytes) -> None:
    # A reader that stops early breaks the pipe: what it read is what counts.
    with open(fd, "wb") as pipe, contextlib.suppress(BrokenPipeError):
        pipe.write(data)


def _extract_command(extractor: str, path: Path, password: str | None, into: Path) -> tuple[list[str], dict]:
    if extractor == "unzip":
        return ["unzip", "-o", *(["-P", password] if password else []), str(path), "-d", str(into)], {}
    if extractor == "7zz":
        return ["7zz", "x", "-y", *([f"-p{password}"] if password else []), f"-o{into}", str(path)], {}
    if extractor == "bsdtar":
        return ["bsdtar", "-xf", str(path), "-C", str(into), *(["--passphrase", password] if password else [])], {}
    if extractor == "bsdtar-pipe":
        if password:
            return ["bsdtar", "-xf", "-", "-C", str(into), "--passphrase", password], {"stdin_data": path.read_bytes()}
        return ["bsdtar", "-xf", "{fd}", "-C", str(into)], {"pipe_fd_data": path.read_bytes()}
    raise ValueError(extractor)


def extract(extractor: str, path: Path, *, password: str | None, into: Path) -> tuple[dict[str, bytes], str]:
    """Extract `path` with `extractor` into the empty folder `into`: every regular file it wrote
    (relative name -> content), and the tool's output."""
    into.mkdir(parents=True, exist_ok=True)
    if extractor == "zipfile":
        return _zipfile_extract(path, password), ""
    command, feed = _extract_command(extractor, path, password, into)
    output = _run(command, cwd=into, **feed)
    found = {}
    for folder, _dirs, files in os.walk(into):
        for name in files:
            file = Path(folder, name)
            if file.is_file() and not file.is_symlink():
                found[file.relative_to(into).as_posix()] = file.read_bytes()
    return found, output


def _zipfile_extract(path: Path, password: str | None) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError):
        return found
    with archive:
        for info in archive.infolist():
            try:
                found[info.filename] = archive.read(info, pwd=password.encode() if password else None)
            except (RuntimeError, zipfile.BadZipFile, NotImplementedError, OSError, ValueError, EOFError):
                continue  # what a recipient without the password sees: nothing
    return found


def names_seen(extractor: str, path: Path) -> list[str]:
    """The entry names `extractor` lists, sorted, without a folder's trailing slash."""
    if extractor == "zipfile":
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    elif extractor == "unzip":
        names = _run(["unzip", "-Z1", str(path)], cwd=path.parent, errors=False).splitlines()
    elif extractor == "7zz":
        output = _run(["7zz", "l", "-ba", "-slt", str(path)], cwd=path.parent, errors=False)
        names = [line.removeprefix("Path = ") for line in output.splitlines() if line.startswith("Path = ")]
    elif extractor == "bsdtar":
        names = _run(
            ["bsdtar", "-tf", str(path), "--passphrase", "listing"], cwd=path.parent, errors=False
        ).splitlines()
    elif extractor == "bsdtar-pipe":
        output = _run(
            ["bsdtar", "-tf", "-", "--passphrase", "listing"],
            cwd=path.parent,
            stdin_data=path.read_bytes(),
            errors=False,
        )
        names = output.splitlines()
    else:
        raise ValueError(extractor)
    return sorted(name.rstrip("/") for name in names if name.strip())


def leaked(files: dict[str, bytes]) -> dict[str, bytes]:
    """The extracted files that hold any entry data. bsdtar writes a file of zeros, of the entry's
    size, for an entry it could not decrypt: that is no data from the archive."""
    return {name: content for name, content in files.items() if content.strip(b"\x00")}


def run_all(path: Path, passwords: list[str | None], into: Path, which: Callable[[str], bool] = available) -> dict:
    """Every available extractor with every password: {(extractor, password): (files, output)}."""
    results = {}
    for extractor in EXTRACTORS:
        if not which(extractor):
            continue
        for number, password in enumerate(passwords):
            results[extractor, password] = extract(
                extractor, path, password=password, into=into / f"{extractor}-{number}"
            )
    return results
