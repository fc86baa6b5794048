"""Seed groups: the same settings trained with several seeds, one recorded run after another.

`group_session` records a group in the run store (its seeds fixed up front: counted from the
config's seed, or drawn at random) and trains its members in turn, each a normal recorded run of
training_session, yielding GroupMemberStarted before each. A stop (or a failure) ends the group
there; `resume_member_session` continues a stopped member exactly and then trains the members not
yet started, so a group can be stopped and resumed like a single run. The MNIST arrays are read
once for the whole group.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from pathlib import Path
from typing import Iterator

from . import events
from .config import RULES, SEED_MAX, TrainConfig, validate_config
from .errors import ConfigError
from .events import FinishReason
from .runstore import Group, RunStore, StoreError
from .session import RUN_FOLDER, DataCache, RunLabels, resume_session, training_session
from .train import TrainingControl

MAX_GROUP = int(RULES["seeds"].highest)


def group_seeds(count: int, first: int | None) -> tuple[int, ...]:
    """`count` seeds: first, first + 1, … when a seed is given, else each drawn at random."""
    RULES["seeds"].check(count)
    if first is None:
        return tuple(secrets.randbelow(2**31) for _ in range(count))
    if first + count - 1 > SEED_MAX:
        raise ConfigError(f"seeds {first} to {first + count - 1} go past the largest seed, {SEED_MAX}")
    return tuple(range(first, first + count))


def group_session(config: TrainConfig, data_dir: Path, control: TrainingControl | None = None, *, count: int,
                  runs_dir: Path, preset: str | None = None, labels: RunLabels = RunLabels(),
                  reload_device: str | None = None) -> Iterator[events.TrainingEvent]:
    """Record a group of `count` runs of `config` (seeds from its seed, or drawn) and train them in turn."""
    control = control or TrainingControl()
    validate_config(config)
    if config.savepath != RUN_FOLDER:
        raise ConfigError("a seed group keeps each run's model in that run's own folder; leave the save path out")
    seeds = group_seeds(count, config.seed)
    with RunStore(runs_dir) as store:
        group = store.create_group(seeds=seeds, config={**config.to_dict(), "seed": None}, preset=preset)
    yield from _members(group, config, Path(data_dir), control, runs_dir=runs_dir, preset=preset, labels=labels,
                        reload_device=reload_device, cache=DataCache())


def resume_member_session(runs_dir: Path, run_id: int | None = None, control: TrainingControl | None = None,
                          **resume_options) -> Iterator[events.TrainingEvent]:
    """Continue a recorded run (resume_session); when it belongs to a seed group and ends without being
    stopped, go on with the group's members not yet started."""
    control = control or TrainingControl()
    finished = None
    for event in resume_session(runs_dir, run_id, control, **resume_options):
        if isinstance(event, events.Finished):
            finished = event
        if isinstance(event, events.RunRecorded):
            run_id = event.run_id
        yield event
    if finished is None or finished.reason in (FinishReason.STOPPED, FinishReason.FAILED) or control.stop_requested:
        return
    with RunStore(runs_dir) as store:
        run = store.run(run_id)
        if run.group_id is None:
            return
        try:
            group = store.group(run.group_id)
        except StoreError:
            return  # a damaged group row: the run itself is done, the group is not continued
    config = replace(TrainConfig.from_dict(group.config), savepath=RUN_FOLDER)
    validate_config(config)
    labels = RunLabels(name=run.name, tags=run.tags, note=run.note)
    yield from _members(group, config, Path(resume_options.get("data_dir") or run.data_dir or ""), control,
                        runs_dir=runs_dir, preset=group.preset, labels=labels,
                        reload_device=resume_options.get("reload_device"), cache=resume_options.get("cache") or DataCache())


def _members(group: Group, config: TrainConfig, data_dir: Path, control: TrainingControl, *, runs_dir: Path,
             preset: str | None, labels: RunLabels, reload_device: str | None,
             cache: DataCache) -> Iterator[events.TrainingEvent]:
    """Train the group's members that have no run yet, in order, until one is stopped or fails."""
    with RunStore(runs_dir) as store:
        started = {run.seed for run in store.group_runs(group.id)}
    for index, seed in enumerate(group.seeds, start=1):
        if seed in started:
            continue
        if control.stop_requested:
            return
        yield events.GroupMemberStarted(group_id=group.id, index=index, size=group.size, seed=seed)
        finished = None
        for event in training_session(replace(config, seed=seed), data_dir, control, cache=cache, runs_dir=runs_dir,
                                      preset=preset, labels=labels, group_id=group.id, reload_device=reload_device):
            finished = event if isinstance(event, events.Finished) else finished
            yield event
        if finished is None or finished.reason in (FinishReason.STOPPED, FinishReason.FAILED):
            return
