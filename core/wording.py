"""What a person reads about training, in one place: each event in the words of the seed's log, for
the command line and the window's log alike, and the sentences the window's dialogs, bar and status
say about a run.

`log_lines(event)` is a pure function: the same event always reads the same, wherever it is shown.
Each line carries a level, so the window can colour it and the command line can send errors to
stderr.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from . import events
from .events import FinishReason
from .history import EPOCH_COLUMNS


class Level(str, Enum):
    INFO = "info"
    SUCCESS = "success"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True)
class LogLine:
    text: str
    level: Level = Level.INFO


FINISH_TITLES = {
    FinishReason.COMPLETED: "Training finished",
    FinishReason.EARLY_EXIT: "Early exit at the target accuracy",
    FinishReason.CONVERGED: "Converged",
    FinishReason.NAN_ABORT: "Aborted: NaN parameters",
    FinishReason.STOPPED: "Stopped",
    FinishReason.FAILED: "Training failed",
}


STOPPING = "Stopping after the current batch; the best model so far stays saved"
STOPPING_NOTHING_SAVED = "Stopping after the current batch (no model has been saved yet)"


def stopping_text(saved: bool) -> str:
    return STOPPING if saved else STOPPING_NOTHING_SAVED


def stopping_at_ctrl_c(saved: bool) -> str:
    return f" -> {stopping_text(saved)} (Ctrl+C again to quit at once)."
SAVE_FAILED_TITLE = "Could not save the model"
SAVE_FAILED_GOES_ON = "Training goes on; the previous saved model is untouched."
NAN_TITLE = "Training aborted: NaN parameters"


def nan_abort_text(epoch: int) -> str:
    """Why a run was aborted, in the log and in the window's dialog alike."""
    return (f"NaN params after epoch {epoch} (is the learning rate too high?): training aborted; "
            "the last good model is kept.")


def save_failed_again(epoch: int) -> str:
    return f"{SAVE_FAILED_TITLE} again (epoch {epoch}); see the log"


def finetune_refusal(before_mnist: float, after_mnist: float, max_drop: float) -> str:
    return (f"it would lower MNIST test accuracy from {100 * before_mnist:.2f} % to {100 * after_mnist:.2f} %, more than "
            f"{100 * max_drop:.1f} points: the model reads your digits at the cost of everyone else's")


DOUBTFUL_SHOWN = 5  # the most frequent of the doubtful labels a fit names


def held_out_refusal(before: float, after: float, digits: int) -> str:
    return (f"it reads the {digits} digits it did not see worse than before ({100 * before:.1f} % before, "
            f"{100 * after:.1f} % after): some of your digits may be filed under the wrong label; check them in "
            "My digits (each shows what the model reads) and fit again")


def percent(fraction: float) -> str:
    """0.999 → '99.9%', 0.99 → '99%': as the seed writes its target."""
    return f"{100 * fraction:.10g}%"


# How the seed's epoch line shows a per-epoch metric after its test accuracy; any other metric reads
# as its name and value ("test loss 0.0431").
EPOCH_DETAILS = {"train_loss": "train loss {:.4f}", "lr": "lr {:g}", "seconds": "{:.1f} s", "images_per_s": "{:,.0f} images/s"}


def _metric_text(name: str, value: float) -> str:
    form = EPOCH_DETAILS.get(name)
    return form.format(value) if form else f"{name.replace('_', ' ')} {value:.4g}"


def epoch_line(row: dict) -> str:
    """'[3]: Test accuracy: 0.9884   (train loss 0.0312, lr 0.003, 5.1 s, 11,800 images/s)' from an
    epoch's row ({"epoch": …, column: value, …}, every per-epoch column in core.history's order); a
    metric that was not measured is left out."""
    details = ", ".join(_metric_text(name, row[name]) for name in EPOCH_COLUMNS
                        if name != "test_accuracy" and row.get(name) is not None)
    accuracy = row["test_accuracy"]
    accuracy_text = "unknown" if accuracy is None else f"{accuracy:.4f}"  # None: read back damaged
    return f"[{row['epoch']}]: Test accuracy: {accuracy_text}" + (f"   ({details})" if details else "")


def finish_summary(event: events.Finished) -> str:
    """'Converged: best 99.31 % at epoch 19', or just the title when nothing was saved."""
    if event.fit:
        if event.reason is FinishReason.STOPPED:
            return "Fitting stopped; the sketchpad's model stays"
        return "Fitting finished: " + ("the fitted model is kept" if event.checkpoint else "the fitted model was not kept")
    title = FINISH_TITLES[FinishReason(event.reason)]
    if event.best_epoch:
        return f"{title}: best {100 * event.best_accuracy:.2f} % at epoch {event.best_epoch}"
    return title


def log_lines(event: events.TrainingEvent) -> list[LogLine]:
    """The log lines for one event (none for the frequent progress events)."""
    match event:
        case events.DataLoading():
            return [LogLine(f"Loading data set from {event.data_dir}")]
        case events.TrainingStarted():
            network = f"{event.network}: " if event.network else ""
            return [
                LogLine(f"Building model... ({network}{event.parameters:,} parameters, {event.device}, seed {event.seed})"),
                LogLine("Beginning training loop..."),
            ]
        case events.EpochFinished():
            return [LogLine(epoch_line(vars(event)))]
        case events.NewBestSaved():
            return [LogLine(f" -> New best accuracy! Saving model out to {event.path}", Level.SUCCESS)]
        case events.SaveFailed():
            return [LogLine(f" -> {SAVE_FAILED_TITLE}: {event.message}", Level.ERROR)]
        case events.StateSaveFailed():
            return [LogLine(f" -> Could not save the run's state (resuming would start from an earlier one): {event.message}",
                            Level.WARNING)]
        case events.LrDropped():
            return [LogLine(f" -> Haven't improved in a while, dropping learning rate to {event.new_lr:g}!", Level.WARNING)]
        case events.LrChanged():
            why = "as the run's plan says" if event.planned else "as you asked"
            where = f"at the start of epoch {event.epoch}" if event.batch == 0 else \
                f"in epoch {event.epoch} after {event.batch} batches"
            return [LogLine(f" -> Setting learning rate to {event.new_lr:g} (from {event.old_lr:g}) {where}, {why}!",
                            Level.WARNING)]
        case events.EarlyExit():
            return [LogLine(f" -> Early-exiting: We reached our target accuracy of {percent(event.target)}", Level.SUCCESS)]
        case events.Converged():
            return [LogLine(" -> We're calling this converged.", Level.WARNING)]
        case events.NanAbort():
            return [LogLine(nan_abort_text(event.epoch), Level.ERROR)]
        case events.Stopped():
            if event.epoch:
                return [LogLine(f"Stopped in epoch {event.epoch} after {event.batch} batches.")]
            return [LogLine("Stopped before training began.")]
        case events.Finished():
            if not event.best_epoch or event.fit:  # a fit's figures were said with FinetuneFinished
                return []
            best = f"Best test accuracy {event.best_accuracy:.4f} (epoch {event.best_epoch})"
            if not event.checkpoint:
                return [LogLine(f"{best}; no model could be saved", Level.WARNING)]
            if event.saved_epoch is not None and event.saved_epoch != event.best_epoch:
                return [LogLine(f"{best} could not be saved; {event.checkpoint} holds epoch {event.saved_epoch}'s model "
                                f"({event.saved_accuracy:.4f})", Level.WARNING)]
            return [LogLine(f"{best} in {event.checkpoint}")]
        case events.TrainingFailed():
            return [LogLine(f"Training failed: {event.message}", Level.ERROR)]
        case events.RunRecorded():
            verb = "Continuing" if event.resumed else "Recording"
            return [LogLine(f"{verb} run {event.run_id} (its models and state in {event.folder})")]
        case events.GroupMemberStarted():
            return [LogLine(f"Seed group {event.group_id}: run {event.index} of {event.size}, seed {event.seed}")]
        case events.RecordingFailed():
            return [LogLine(f"This run is not being recorded: {event.message}", Level.WARNING)]
        case events.FinetuneStarted():
            counts = ", ".join(f"{count} {digit}s" for digit, count in enumerate(event.per_digit) if count)
            lines = [LogLine(f"Fitting {event.base} to {event.digits} personal digits ({counts}) on {event.device}; "
                             + (f"{event.folds} held-out part(s) to measure it" if event.folds else "too few to hold any out"))]
            return lines + [LogLine(f"Skipped {note}", Level.WARNING) for note in event.skipped]
        case events.FinetuneFinished():
            return finetune_lines(event)
        case events.SavedModelUnreadable():
            return [LogLine(f"Could not load the new model for the sketchpad: {event.message}", Level.ERROR)]
    return []


def finetune_lines(event: events.FinetuneFinished) -> list[LogLine]:
    if event.held_out_after is None:
        measured = (f"{100 * event.before_personal:.1f} % before, not measured after (too few digits to hold any "
                    "out)")
    else:
        before = event.before_personal if event.held_out_before is None else event.held_out_before
        measured = (f"{100 * before:.1f} % before, {100 * event.held_out_after:.1f} % after, of "
                    f"{event.held_out_digits} held out")
    lines = [
        LogLine(f"Your digits: {measured} ({100 * event.fitted_after:.1f} % of the {event.digits} it was fitted to)"),
        LogLine(f"MNIST test set: {100 * event.before_mnist:.2f} % before, {100 * event.after_mnist:.2f} % after"),
    ]
    for filed, read, count in sorted(event.doubtful_labels, key=lambda pair: -pair[2])[:DOUBTFUL_SHOWN]:
        lines.append(LogLine(f" -> {count} digit{'s' if count > 1 else ''} filed under {filed} "
                             f"read as {read}, before fitting and after (held out): filed right?", Level.WARNING))
    if event.accepted:
        where = f"run {event.run_id}, " if event.run_id is not None else ""
        lines.append(LogLine(f" -> Kept the fitted model ({where}{event.checkpoint}) in {event.seconds:.0f} s", Level.SUCCESS))
    else:
        lines.append(LogLine(f" -> Not kept: {event.reason}", Level.WARNING))
    return lines
