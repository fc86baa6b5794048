"""The run store from the command line: train records, --resume continues, mnistconv-runs lists, shows, labels,
exports and sums up seed groups."""

import csv
import json

import pytest

from mnistconv.core import cli, cli_runs
from mnistconv.core.config import TrainConfig
from mnistconv.core.events import Outcome
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
    assert table[0].split() == ["run", "started", "(UTC)", "name", "tags", "group", "network", "epochs", "best", "outcome"]
    assert table[1].split()[0] == "2" and table[2].split()[0] == "1" and "2/2" in table[2]
    assert "16·32·32, 3×3" in table[1] and "16·32·32, 3×3" in table[2]  # the network each trained
    assert table[1].split()[3] == "fast" and table[2].split()[3] == "seed"  # unnamed: the preset

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


def recorded(store, accuracies=(0.9,), *, preset="seed", group_id=None, seed=0, outcome=Outcome.COMPLETED, **config):
    """A run recorded straight into the store: one epoch per accuracy, its best set as training sets it."""
    run = store.create_run(config=TrainConfig(seed=seed, epochs=max(len(accuracies), 1), **config).to_dict(),
                           preset=preset, data_dir=None, group_id=group_id)
    for epoch, accuracy in enumerate(accuracies, 1):
        store.record_epoch(run.id, {"epoch": epoch, "test_accuracy": accuracy, "train_loss": 0.1 / epoch})
    if accuracies:
        store.set_best(run.id, max(accuracies), 1 + accuracies.index(max(accuracies)))
    store.record_end(run.id, outcome)
    return store.run(run.id)


def runs(*argv):
    return cli_runs.runs_main(list(argv))


def test_names_tags_and_notes_set_with_label_are_kept_and_shown_everywhere(own_run_store, capsys):
    with RunStore(own_run_store) as store:
        group = store.create_group(seeds=[5, 6], config=TrainConfig().to_dict(), preset="seed")
        first = recorded(store, group_id=group.id, seed=5)
        recorded(store, preset="fast")
    assert runs("label", str(first.id), "--name", "wide batch", "--tag", "sweep", "--tag", "keep",
                "--note", "lr too high?\nretry with 1e-3") == 0
    assert "Labelled run 1:" in capsys.readouterr().out

    with RunStore(own_run_store) as store:  # a new connection: it was written, not just printed
        kept = store.run(first.id)
    assert (kept.name, kept.tags, kept.note) == ("wide batch", ("sweep", "keep"), "lr too high?\nretry with 1e-3")

    assert runs("list") == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["run", "started", "(UTC)", "name", "tags", "group", "network", "epochs", "best", "outcome"]
    name_at, tags_at, group_at = (table[0].index(header) for header in ("name", "tags", "group"))
    assert table[2].startswith("1 ") and table[2][name_at:].startswith("wide batch ")
    assert table[2][tags_at:].startswith("sweep, keep ") and table[2][group_at:].startswith("1 ")
    assert table[1].startswith("2 ") and table[1][name_at:].startswith("fast ") and table[1][group_at] == " "

    assert runs("show", "1") == 0
    shown = capsys.readouterr().out.splitlines()
    assert "name:        wide batch" in shown and "tags:        sweep, keep" in shown
    at = shown.index("note:        lr too high?")
    assert shown[at + 1] == "             retry with 1e-3"  # a note's further lines indented under its first
    assert "group:       1 (2 seeds)" in shown and "parameters:  —" in shown
    assert runs("show", "2") == 0
    assert {"name:        —", "tags:        —", "note:        —", "group:       —"} <= set(capsys.readouterr().out.splitlines())

    assert runs("--json") == 0
    listed = {run["id"]: run for run in json.loads(capsys.readouterr().out)}
    assert (listed[1]["name"], listed[1]["tags"], listed[1]["note"], listed[1]["group"]) == (
        "wide batch", ["sweep", "keep"], "lr too high?\nretry with 1e-3", 1)
    assert (listed[2]["name"], listed[2]["tags"], listed[2]["group"]) == (None, [], None)
    assert runs("show", "1", "--json") == 0
    assert json.loads(capsys.readouterr().out)["tags"] == ["sweep", "keep"]

    # Tags add to the run's and --untag removes; --name "" clears the name; the note is kept.
    assert runs("label", "1", "--tag", "best", "--tag", "keep", "--untag", "sweep", "--name", "") == 0
    with RunStore(own_run_store) as store:
        kept = store.run(first.id)
    assert (kept.name, kept.tags, kept.note) == (None, ("keep", "best"), "lr too high?\nretry with 1e-3")
    capsys.readouterr()
    assert runs("list") == 0
    assert capsys.readouterr().out.splitlines()[2][name_at:].startswith("seed ")  # unnamed again: its preset


def test_long_names_and_tags_are_cut_short_in_the_list_but_shown_whole(own_run_store, capsys):
    name = "a name much longer than any column should be: " + "x" * 100
    with RunStore(own_run_store) as store:
        run = recorded(store)
        store.set_labels(run.id, name=name, tags=[f"tag number {i}" for i in range(10)])
    assert runs("list") == 0
    table = capsys.readouterr().out.splitlines()
    assert name not in table[1] and name[:cli_runs.NAME_WIDTH - 1] + "…" in table[1]
    tags = ", ".join(f"tag number {i}" for i in range(10))
    assert tags[:cli_runs.TAGS_WIDTH - 1] + "…" in table[1] and "tag number 9" not in table[1]
    assert len(table[1]) < 130
    assert runs("show", str(run.id)) == 0
    shown = capsys.readouterr().out
    assert f"name:        {name}\n" in shown and "tag number 8, tag number 9\n" in shown


@pytest.mark.parametrize("argv, reason", [
    (["--tag", "a,b"], "a tag is a word or a few, without commas"),
    (["--tag", "fine", "--name", "two\nlines"], "a run's name is one line"),
    (["--note", "n" * 10_001], "a run's note is text of at most"),
    (["--tag", "keep", "--untag", "keep"], "tag 'keep' is both added and removed"),
    ([*(arg for i in range(50) for arg in ("--tag", f"t{i}"))], "a run takes at most 50 tags"),
])
def test_bad_labels_are_one_line_and_change_nothing(own_run_store, capsys, argv, reason):
    with RunStore(own_run_store) as store:
        run = recorded(store)
        before = store.set_labels(run.id, name="kept", tags=["old"], note="as it was").summary()
    assert runs("label", str(run.id), *argv) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"mnistconv-runs: error: {reason}") and error.count("\n") == 1
    with RunStore(own_run_store) as store:
        assert store.run(run.id).summary() == before


def test_label_needs_a_run_that_exists_and_something_to_change(own_run_store, capsys):
    with RunStore(own_run_store) as store:
        before = recorded(store).summary()
    assert runs("label", "7", "--name", "x") == 1
    assert capsys.readouterr().err == f"mnistconv-runs: error: There is no run 7 in {own_run_store}\n"
    with pytest.raises(SystemExit) as exit_:
        runs("label", "1")
    assert exit_.value.code == 2 and "give at least one of --name, --tag, --untag, --note" in capsys.readouterr().err
    with RunStore(own_run_store) as store:
        assert [run.summary() for run in store.runs()] == [before]


def test_export_of_several_runs_is_one_csv_with_a_run_column(own_run_store, tmp_path, capsys):
    with RunStore(own_run_store) as store:
        recorded(store, (0.91, 0.95))
        second = recorded(store, (0.97,), preset="fast")
        store.set_labels(second.id, name="quick")
        recorded(store, (0.5, 0.6, 0.7))
        epochs = {run_id: store.history(run_id).epoch_rows() for run_id in (1, 2, 3)}

    target = tmp_path / "runs.csv"
    assert runs("export", "--csv", str(target), "2", "1", "2") == 0  # a run named twice is written once
    assert capsys.readouterr().out == f"Wrote 3 epochs of runs 2, 1 to {target}\n"
    rows = list(csv.DictReader(target.open()))
    assert list(rows[0]) == ["run", "name", "epoch", "test_accuracy", "test_loss", "train_loss", "lr", "seconds",
                             "images_per_s"]
    assert [(r["run"], r["name"], r["epoch"]) for r in rows] == [("2", "quick", "1"), ("1", "", "1"), ("1", "", "2")]
    assert [float(r["test_accuracy"]) for r in rows] == [
        e["test_accuracy"] for run_id in (2, 1) for e in epochs[run_id]]
    assert float(rows[2]["train_loss"]) == epochs[1][1]["train_loss"]

    assert runs("export", "--csv", "-", "3", "1") == 0  # '-': standard output, nothing else said
    out = capsys.readouterr().out
    assert out.startswith("run,name,epoch,") and [line.split(",")[0] for line in out.splitlines()[1:]] == ["3"] * 3 + ["1"] * 2

    single = tmp_path / "one.csv"
    assert runs("export", "1", "--csv", str(single)) == 0  # one run: the file it always was
    assert single.read_text().splitlines() == [
        "epoch,test_accuracy,test_loss,train_loss,lr,seconds,images_per_s", "1,0.91,,0.1,,,", "2,0.95,,0.05,,,"]
    assert runs("export", "--csv", str(single), "1", "1") == 0
    assert single.read_text().startswith("epoch,test_accuracy,")
    capsys.readouterr()


@pytest.mark.parametrize("target", ["file", "-"])
def test_export_naming_a_run_that_does_not_exist_writes_nothing(own_run_store, tmp_path, capsys, target):
    with RunStore(own_run_store) as store:
        recorded(store)
    path = tmp_path / "runs.csv" if target == "file" else "-"
    assert runs("export", "--csv", str(path), "1", "9") == 1
    captured = capsys.readouterr()
    assert captured.err == f"mnistconv-runs: error: There is no run 9 in {own_run_store}\n" and captured.out == ""
    assert not (tmp_path / "runs.csv").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run-store"]


def test_groups_sum_up_each_seed_groups_members(own_run_store, capsys):
    with RunStore(own_run_store) as store:
        recorded(store, (0.5,))  # not in a group: left out of every figure
        fast = store.create_group(seeds=[1, 2, 3, 4, 5], config=TrainConfig(epochs=3, lr=0.02).to_dict(), preset="fast")
        for seed, accuracies in ((1, (0.97, 0.99)), (2, (0.992,)), (3, (0.994, 0.98))):
            recorded(store, accuracies, preset="fast", group_id=fast.id, seed=seed)
        recorded(store, (0.9,), preset="fast", group_id=fast.id, seed=4, outcome=Outcome.STOPPED)  # counted, not done
        recorded(store, (), preset="fast", group_id=fast.id, seed=5, outcome=Outcome.FAILED)  # no best: not counted
        lone = store.create_group(seeds=[7, 8], config=TrainConfig().to_dict(), preset="seed")

    assert runs("groups") == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:6] == ["group", "created", "(UTC)", "settings", "runs", "done"]
    assert len(table) == 3 and table[1].startswith(f"{lone.id} ") and table[2].startswith(f"{fast.id} ")
    # best: 0.99, 0.992, 0.994, 0.9 → mean 0.969, sample σ (n − 1) 0.04603…
    assert "fast, lr 0.02, epochs 3" in table[2] and "96.90 ± 4.60 % (n = 4)" in table[2]
    assert "90.00–99.40 %" in table[2] and "2:1 3:2 4:3 5:4 6:5" in table[2]
    runs_at = table[0].index("runs")
    assert table[2][runs_at:].split()[:2] == ["5/5", "3"]  # members made of its size, done
    assert table[1][runs_at:].split()[:4] == ["0/2", "0", "—", "—"]

    assert runs("groups", "--json") == 0
    summed = {group["id"]: group for group in json.loads(capsys.readouterr().out)}
    got = summed[fast.id]
    assert (got["size"], got["seeds"], got["done"], got["preset"]) == (5, [1, 2, 3, 4, 5], 3, "fast")
    assert [(r["id"], r["seed"]) for r in got["runs"]] == [(2, 1), (3, 2), (4, 3), (5, 4), (6, 5)]
    figures = got["best_accuracy"]
    assert figures["count"] == 4 and figures["min"] == 0.9 and figures["max"] == 0.994
    assert figures["mean"] == pytest.approx(0.969) and figures["sigma"] == pytest.approx(0.0460290, abs=1e-6)
    assert summed[lone.id]["best_accuracy"] is None and summed[lone.id]["runs"] == []

    assert runs("show", "3") == 0
    assert "group:       1 (5 seeds)" in capsys.readouterr().out.splitlines()


def test_groups_with_none_recorded_says_so(own_run_store, capsys):
    assert runs("groups") == 0
    assert capsys.readouterr().out.startswith(f"No seed groups recorded in {own_run_store} yet")
    assert runs("--json", "groups") == 0
    assert json.loads(capsys.readouterr().out) == []


def test_control_characters_in_labels_never_reach_the_terminal(own_run_store, capsys):
    """A shared or crafted store's escape sequences are shown as '�', not run by the terminal."""
    with RunStore(own_run_store) as store:
        run = recorded(store)
        store.set_labels(run.id, name="red\x1b[31m", tags=["t\x1b]0;title\x07"], note="a\x1b[2J\nb")
    for argv in (["list"], ["show", str(run.id)], ["label", str(run.id), "--tag", "plain"]):
        assert runs(*argv) == 0
        out = capsys.readouterr().out
        assert "\x1b" not in out and "\x07" not in out and "red\ufffd[31m" in out
