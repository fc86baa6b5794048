"""RunHistory: one run's batch series, per-epoch columns and markers, fed by events or rows."""

import math

import numpy as np
import pytest

from mnistconv.core import events
from mnistconv.core.events import FinishReason
from mnistconv.core.history import (
    EMA_DECAY,
    EPOCH_COLUMNS,
    Change,
    EventKind,
    LossSmoother,
    Marker,
    RunHistory,
    epoch_position,
)


def epoch_event(epoch, accuracy, **more):
    values = dict(test_loss=0.3, train_loss=0.1, lr=3e-3, seconds=2.0, images_per_s=1000.0, **more)
    return events.EpochFinished(epoch=epoch, test_accuracy=accuracy, predictions=np.zeros(1), confusion=np.zeros((10, 10)),
                                confidences=np.zeros(1), **values)


def test_the_columns_are_every_per_epoch_number_of_epoch_finished():
    assert EPOCH_COLUMNS == ("test_accuracy", "test_loss", "train_loss", "lr", "seconds", "images_per_s")
    assert "predictions" not in EPOCH_COLUMNS and "epoch" not in EPOCH_COLUMNS


def test_a_runs_events_become_its_series_columns_and_markers():
    history = RunHistory()
    changes = []
    history.subscribe(lambda change, marker: changes.append((change, marker)))
    run = [
        events.TrainingStarted(device="cpu", train_images=400, test_images=100, batches_per_epoch=4, parameters=1, seed=0),
        events.BatchProgress(epoch=1, batch=2, batches=4, loss=2.0, lr=3e-3, images_per_s=1.0, seconds=1.0),
        events.BatchProgress(epoch=1, batch=4, batches=4, loss=1.0, lr=3e-3, images_per_s=1.0, seconds=2.0),
        epoch_event(1, 0.9),
        events.NewBestSaved(epoch=1, accuracy=0.9, path=None),
        events.LrDropped(epoch=1, old_lr=3e-3, new_lr=3e-4),
        events.SaveFailed(epoch=1, message="the disk is full"),
        events.Stopped(epoch=2, batch=1),
        events.Finished.before_any_model(FinishReason.STOPPED),
    ]
    for event in run:
        history.observe(event)
    np.testing.assert_allclose(history.batch_x.values, [0.5, 1.0])
    np.testing.assert_allclose(history.batch_loss.values, [2.0, 1.0])
    assert history.epoch_rows() == [{"epoch": 1, "test_accuracy": 0.9, "test_loss": 0.3, "train_loss": 0.1, "lr": 3e-3,
                                     "seconds": 2.0, "images_per_s": 1000.0}]
    assert history.markers == [Marker(1, EventKind.NEW_BEST, "0.9000"), Marker(1, EventKind.LR_DROP, "0.0003"),
                               Marker(1, EventKind.SAVE_FAILED, "the disk is full"), Marker(1.25, EventKind.STOPPED)]
    assert [change for change, _ in changes] == [Change.BATCHES, Change.BATCHES, Change.EPOCHS] + [Change.MARKER] * 4
    assert changes[-1][1] == history.markers[-1]


def test_a_stop_before_training_marks_nothing():
    history = RunHistory()
    history.observe(events.Stopped(epoch=0, batch=0))
    assert history.markers == []


def test_the_moving_average_is_bias_corrected_and_skips_nan():
    """LossSmoother, which the plots smooth the training loss with."""
    smoother = LossSmoother()
    smooth = [smoother.update(loss) for loss in (2.0, 1.0, math.nan, 0.5)]
    second = (EMA_DECAY * (1 - EMA_DECAY) * 2.0 + (1 - EMA_DECAY) * 1.0) / (1 - EMA_DECAY**2)
    assert smooth[0] == pytest.approx(2.0) and smooth[1] == pytest.approx(second)
    assert smooth[2] == smooth[1]  # a NaN loss leaves it where it was
    assert 0.5 < smooth[3] < smooth[2]


def test_epoch_position_is_the_shared_axis():
    assert epoch_position(1, 2, 4) == 0.5 and epoch_position(3, 4, 4) == 3.0
    assert epoch_position(2, 0, None) == 1.0  # no count known: the epoch's start


def test_an_unmeasured_metric_is_nan_in_the_column_and_none_in_rows_and_empty_in_csv():
    history = RunHistory()
    history.add_epoch(1, test_accuracy=0.97, lr=1e-3)
    assert math.isnan(history.column("train_loss")[0])
    (row,) = history.epoch_rows()
    assert row["train_loss"] is None and row["lr"] == 1e-3
    header, line = history.epochs_csv().splitlines()
    assert header.split(",") == ["epoch", *EPOCH_COLUMNS]
    assert dict(zip(header.split(","), line.split(","))) == {"epoch": "1", "test_accuracy": "0.97", "test_loss": "",
                                                              "train_loss": "", "lr": "0.001", "seconds": "", "images_per_s": ""}


def test_an_unknown_column_is_refused():
    with pytest.raises(ValueError, match="no such per-epoch column: accuracy"):
        RunHistory().add_epoch(1, accuracy=0.9)


def test_rows_and_marks_give_what_was_added_since():
    history = RunHistory()
    history.add_batch(0.5, 1.0, 1e-3)
    mark = history.mark()
    history.add_batch(1.0, 0.5, 1e-3)
    history.add_epoch(1, test_accuracy=0.9)
    assert history.batch_rows(mark.batches) == [(1.0, 0.5, 1e-3)]
    assert [row["epoch"] for row in history.epoch_rows(mark.epochs)] == [1]
    assert history.last_epoch() == 1.0


def test_clear_empties_it_and_tells_the_listeners():
    history = RunHistory()
    history.add_batch(0.5, 1.0, 1e-3)
    history.add_marker(Marker(1, EventKind.CONVERGED))
    heard = []
    history.subscribe(lambda change, marker: heard.append(change))
    history.clear()
    assert len(history.batch_x) == 0 and history.markers == [] and heard == [Change.CLEARED]
    history.add_batch(0.5, 3.0, 1e-3)
    assert history.batch_loss.values.tolist() == [3.0]  # the series start afresh
