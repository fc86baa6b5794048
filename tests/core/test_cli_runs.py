"""The run store from the command line: train records, --resume continues, mnistconv-runs lists and exports."""

import csv
import json

import pytest

from mnistconv.core import cli, cli_runs
from mnistconv.core.runstore import RunStore

from idx_files import write_tiny_mnist

TINY = ["--batch-size", "64", "--seed", "0", "--device", "cpu"]


@pytest.fixture
def tiny_mnist_dir(tmp_path):
    """The tiny data with 10 of its 200 test digits mislabelled: no run reaches the 99.9 % early exit."""
    return write_tiny_mnist(tmp_path / "data", wrong_test_labels=10)


def train(tiny_mnist_dir, *args):
    return cli.train_main([*TINY, "--data-dir", str(tiny_mnist_dir), *args])


def test_runs_are_recorded_listed_shown_and_exported(tiny_mnist_dir, tmp_path, own_run_store, capsys):
    assert train(tiny_mnist_dir, "--epochs", "2") == 0
    assert train(tiny_mnist_dir, "--epochs", "1", "--preset", "fast") == 0
    out = capsys.readouterr().out
    assert f"Recording run 1 (its models and state in {own_run_store / '1'})" in out
    assert f"Saving model out to {own_run_store / '2' / 'mnist_conv.pt'}" in out

    assert cli_runs.runs_main(["--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [run["id"] for run in listed] == [2, 1]
    assert {"id", "started", "preset", "epochs_done", "best_accuracy", "outcome"} <= set(listed[0])
    assert [(r["preset"], r["epochs_done"], r["outcome"]) for r in listed] == [("fast", 1, "completed"), ("seed", 2, "completed")]

    assert cli_runs.runs_main([]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["run", "started", "(UTC)", "preset", "epochs", "best", "outcome"]
    assert table[1].split()[0] == "2" and table[2].split()[0] == "1" and "2/2" in table[2]

    assert cli_runs.runs_main(["show", "1"]) == 0
    shown = capsys.readouterr().out
    assert "[1]: Test accuracy: " in shown and "[2]: Test accuracy: " in shown and '"lr": 0.003' in shown

    target = tmp_path / "metrics.csv"
    assert cli_runs.runs_main(["export", "1", "--csv", str(target)]) == 0
    rows = list(csv.DictReader(target.open()))
    assert list(rows[0]) == ["epoch", "test_accuracy", "test_loss", "train_loss", "lr", "seconds", "images_per_s"]
    with RunStore(own_run_store) as store:
        assert [float(r["test_accuracy"]) for r in rows] == [e["test_accuracy"] for e in store.history(1).epoch_rows()]
    assert [r["epoch"] for r in rows] == ["1", "2"]


def test_test_without_a_savepath_tests_the_latest_runs_best_model(tiny_mnist_dir, own_run_store, capsys):
    assert train(tiny_mnist_dir, "--epochs", "1") == 0
    capsys.readouterr()
    assert cli.test_main(["--data-dir", str(tiny_mnist_dir), "--device", "cpu"]) == 0
    assert f"({own_run_store / '1' / 'mnist_conv.pt'}, saved after epoch 1;" in capsys.readouterr().out


def test_test_with_no_run_yet_says_what_to_do(tmp_path, capsys):
    assert cli.test_main(["--device", "cpu"]) == 1
    assert "has saved a model yet; train one with mnistconv-train" in capsys.readouterr().err


def test_resume_continues_a_stopped_run_and_refuses_changed_settings(tiny_mnist_dir, own_run_store, capsys, monkeypatch):
    from mnistconv.core import train as train_module

    real_evaluate = train_module.evaluate
    calls = []

    def stop_in_epoch_two(*args, **kwargs):  # what Ctrl+C does: ask the loop to stop
        calls.append(1)
        if len(calls) == 1:
            import os
            import signal

            os.kill(os.getpid(), signal.SIGINT)
        return real_evaluate(*args, **kwargs)

    monkeypatch.setattr(train_module, "evaluate", stop_in_epoch_two)
    assert train(tiny_mnist_dir, "--epochs", "3") == 130
    out = capsys.readouterr().out
    assert "Run 1 can be continued where it stopped: mnistconv-train --resume 1" in out
    monkeypatch.setattr(train_module, "evaluate", real_evaluate)

    with pytest.raises(SystemExit) as info:
        cli.train_main(["--resume", "--lr", "0.1"])
    assert info.value.code == 2 and "--lr cannot be changed when resuming" in capsys.readouterr().err

    assert cli.train_main(["--resume", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "Continuing run 1" in out and "[1]: Test accuracy" not in out and "[3]: Test accuracy" in out
    with RunStore(own_run_store) as store:
        assert store.run(1).outcome == "completed" and [e["epoch"] for e in store.history(1).epoch_rows()] == [1, 2, 3]


def test_resume_of_a_run_that_does_not_exist_is_one_line(own_run_store, capsys):
    assert cli.train_main(["--resume", "7"]) == 1
    assert capsys.readouterr().err.strip() == f"mnistconv-train: error: There is no run 7 in {own_run_store}"


def test_delete_asks_for_yes_and_removes_the_run(tiny_mnist_dir, own_run_store, capsys):
    assert train(tiny_mnist_dir, "--epochs", "1") == 0
    assert cli_runs.runs_main(["delete", "1"]) == 1  # no terminal to ask: --yes is needed
    assert "add --yes to confirm" in capsys.readouterr().err
    assert (own_run_store / "1" / "mnist_conv.pt").is_file()
    assert cli_runs.runs_main(["delete", "1", "--yes"]) == 0
    assert not (own_run_store / "1").exists()
    assert cli_runs.runs_main(["show", "1"]) == 1


def test_a_corrupt_store_is_one_clear_line_and_training_still_works(tiny_mnist_dir, own_run_store, capsys):
    own_run_store.mkdir(parents=True)
    (own_run_store / "runs.sqlite3").write_bytes(b"garbage" * 200)
    assert cli_runs.runs_main([]) == 1
    assert "damaged or not a run store" in capsys.readouterr().err
    assert train(tiny_mnist_dir, "--epochs", "1") == 0
    captured = capsys.readouterr()
    assert "This run is not being recorded:" in captured.out and "Best test accuracy" in captured.out


@pytest.mark.parametrize("number", ["99999999999999999999", "²", "-1", "1.5"])
def test_a_run_number_out_of_range_or_not_a_number_is_a_usage_error(tmp_path, number, capsys):
    """Not an OverflowError from SQLite nor a ValueError's traceback: argparse's usage error."""
    with pytest.raises(SystemExit) as exit_:
        cli_runs.runs_main(["--runs-dir", str(tmp_path), "show", number])
    assert exit_.value.code == 2 and "a run is named by its number" in capsys.readouterr().err
