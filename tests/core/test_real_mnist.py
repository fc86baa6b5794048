"""One epoch of the seed recipe on the real MNIST files (the seed had 97.94 % after epoch 1).

Runs where the four files are already in $MNISTCONV_DATA or the per-user cache (CI fetches them
first); elsewhere it is skipped, since tests do not reach for the network.
"""

import pytest

from mnistconv.core import data, events
from mnistconv.core.config import TrainConfig
from mnistconv.core.paths import resolve_data_dir
from mnistconv.core.train import train

pytestmark = pytest.mark.mnist


@pytest.fixture(scope="module")
def real_mnist():
    folder = resolve_data_dir()
    if data.missing_files(folder):
        pytest.skip(f"real MNIST not in {folder} (fetch it: mnistconv-fetch)")
    assert data.check_files(folder, require_full=True) == {"train": 60_000, "test": 10_000}
    return data.load_mnist(folder, "cpu")


def test_one_epoch_of_the_seed_recipe_reaches_97_5_percent(real_mnist, tmp_path):
    run = list(train(TrainConfig(epochs=1, seed=0, device="cpu", savepath=str(tmp_path)), real_mnist))
    epoch = next(e for e in run if isinstance(e, events.EpochFinished))
    assert run[0].batches_per_epoch == 469  # 468 full batches of 128 and one of 96
    assert epoch.test_accuracy >= 0.975
    assert (tmp_path / "mnist_conv.pt").is_file()
