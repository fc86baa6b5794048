"""The seed's log words for each event: one function, used by the command line and the window."""

import dataclasses
import enum
import typing
from pathlib import Path

import pytest

from mnistconv.core import events
from mnistconv.core.events import FinishReason
from mnistconv.core.wording import Level, finish_summary, log_lines, percent


def texts(event):
    return [line.text for line in log_lines(event)]


@pytest.mark.parametrize("target, words", [(0.999, "99.9%"), (0.995, "99.5%"), (0.99, "99%"), (0.9875, "98.75%")])
def test_the_early_exit_names_the_target_the_run_had(target, words):
    assert percent(target) == words
    line, = log_lines(events.EarlyExit(epoch=4, accuracy=0.9991, target=target))
    assert line.text == f" -> Early-exiting: We reached our target accuracy of {words}"
    assert line.level is Level.SUCCESS


def test_the_seeds_own_lines():
    epoch = events.EpochFinished(epoch=3, test_accuracy=0.98841, test_loss=0.03812, train_loss=0.04567, lr=0.003,
                                 seconds=12.34, images_per_s=4896.2, predictions=None, confusion=None, confidences=None)
    assert texts(epoch) == [
        "[3]: Test accuracy: 0.9884   (test loss 0.03812, train loss 0.0457, lr 0.003, 12.3 s, 4,896 images/s)"]
    assert texts(events.NewBestSaved(epoch=3, accuracy=0.9884, path=Path("/m/mnist_conv.pt"))) == [
        " -> New best accuracy! Saving model out to /m/mnist_conv.pt"]
    assert texts(events.LrDropped(epoch=9, old_lr=3e-3, new_lr=3e-4)) == [
        " -> Haven't improved in a while, dropping learning rate to 0.0003!"]
    assert texts(events.Converged(epoch=20)) == [" -> We're calling this converged."]


def test_the_other_lines_word_for_word():
    assert texts(events.DataLoading(data_dir=Path("/data"))) == ["Loading data set from /data"]
    started = events.TrainingStarted(device="CPU (2 threads)", train_images=60_000, test_images=10_000,
                                     batches_per_epoch=469, parameters=16_938, seed=7, network="16·32·32, 3×3")
    assert texts(started) == ["Building model... (16·32·32, 3×3: 16,938 parameters, CPU (2 threads), seed 7)",
                              "Beginning training loop..."]
    assert texts(events.NanAbort(epoch=2)) == [
        "NaN params after epoch 2 (is the learning rate too high?): training aborted; the last good model is kept."]
    assert texts(events.SaveFailed(epoch=1, message="the disk is full")) == [" -> Could not save the model: the disk is full"]
    assert texts(events.Stopped(epoch=3, batch=41)) == ["Stopped in epoch 3 after 41 batches."]
    assert texts(events.Stopped(epoch=0, batch=0)) == ["Stopped before training began."]
    assert texts(events.TrainingFailed(message="bad file")) == ["Training failed: bad file"]
    assert texts(events.SavedModelUnreadable(path=Path("m.pt"), message="cut short")) == [
        "Could not load the new model for the sketchpad: cut short"]
    unsaved = events.Finished(reason=FinishReason.COMPLETED, epochs_run=2, best_accuracy=0.5, best_epoch=1, checkpoint=None)
    assert texts(unsaved) == ["Best test accuracy 0.5000 (epoch 1); no model could be saved"]  # every save failed
    earlier = dataclasses.replace(unsaved, best_epoch=3, checkpoint=Path("m.pt"), saved_epoch=1, saved_accuracy=0.25)
    assert texts(earlier) == ["Best test accuracy 0.5000 (epoch 3) could not be saved; m.pt holds epoch 1's model (0.2500)"]
    assert [line.level for line in log_lines(events.NewBestSaved(epoch=1, accuracy=0.5, path=Path("m.pt")))] == [Level.SUCCESS]
    assert [line.level for line in log_lines(events.LrDropped(epoch=9, old_lr=3e-3, new_lr=3e-4))] == [Level.WARNING]
    assert [line.level for line in log_lines(started)] == [Level.INFO, Level.INFO]


def test_errors_are_marked_so_the_cli_sends_them_to_stderr():
    for event in (events.SaveFailed(epoch=1, message="disk full"), events.NanAbort(epoch=2),
                  events.TrainingFailed(message="bad file"), events.SavedModelUnreadable(path=Path("x"), message="m")):
        assert [line.level for line in log_lines(event)] == [Level.ERROR]


def test_progress_events_have_no_log_lines():
    assert log_lines(events.BatchProgress(epoch=1, batch=2, batches=8, loss=0.5, lr=1e-3, images_per_s=1.0, seconds=0.1)) == []
    assert log_lines(events.AcquireProgress("Unpacking", 1, 2)) == []


def test_finish_lines_say_where_the_best_model_is_and_why_the_run_ended():
    done = events.Finished(reason=FinishReason.CONVERGED, epochs_run=19, best_accuracy=0.99312, best_epoch=17,
                           checkpoint=Path("/m/mnist_conv.pt"))
    assert texts(done) == ["Best test accuracy 0.9931 (epoch 17) in /m/mnist_conv.pt"]
    assert finish_summary(done) == "Converged: best 99.31 % at epoch 17"
    nothing = events.Finished(reason=FinishReason.STOPPED, epochs_run=0, best_accuracy=0.0, best_epoch=0, checkpoint=None)
    assert texts(nothing) == [] and finish_summary(nothing) == "Stopped"


def test_every_finish_reason_has_words():
    words = {
        FinishReason.COMPLETED: "Training finished",
        FinishReason.EARLY_EXIT: "Early exit at the target accuracy",
        FinishReason.CONVERGED: "Converged",
        FinishReason.NAN_ABORT: "Aborted: NaN parameters",
        FinishReason.STOPPED: "Stopped",
        FinishReason.FAILED: "Training failed",
    }
    assert set(words) == set(FinishReason)
    for reason, title in words.items():
        nothing_saved = events.Finished(reason=reason, epochs_run=0, best_accuracy=0.0, best_epoch=0, checkpoint=None)
        assert finish_summary(nothing_saved) == title  # a KeyError here: a reason without words
        saved = events.Finished(reason=reason, epochs_run=5, best_accuracy=0.98765, best_epoch=4, checkpoint=None)
        assert finish_summary(saved) == f"{title}: best 98.77 % at epoch 4"


def test_the_event_union_holds_every_event_the_session_yields():
    union = set(typing.get_args(events.TrainingEvent))
    assert {events.DataLoaded, events.TrainingFailed, events.SavedModelLoaded, events.DataLoading} <= union
    declared = {value for value in vars(events).values()
                if isinstance(value, type) and value.__module__ == events.__name__ and not issubclass(value, enum.Enum)}
    assert declared == union


def test_the_epoch_line_shows_what_was_measured_and_names_a_metric_it_has_no_words_for(monkeypatch):
    from mnistconv.core import wording

    row = {"epoch": 1, "test_accuracy": 0.9731, "train_loss": None, "lr": 3e-4, "seconds": 60.0, "images_per_s": None}
    assert wording.epoch_line(row) == "[1]: Test accuracy: 0.9731   (lr 0.0003, 60.0 s)"  # a fit's epoch: no train loss
    monkeypatch.setattr(wording, "EPOCH_COLUMNS", ("test_accuracy", "margin_of_error"))
    assert wording.epoch_line({"epoch": 2, "test_accuracy": 0.5, "margin_of_error": 0.01234}) == (
        "[2]: Test accuracy: 0.5000   (margin of error 0.01234)")
