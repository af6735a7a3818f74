"""``mlcask db import``: copy a source store (MLflow's database, a tracking server, an mlcask store) into mlcask.

Order: experiments, then each experiment's runs (oldest first) and logged models, then the
registry. Each entity is one transaction, written after its artifacts are copied and checked,
so an import killed part-way is continued by running it again; what the destination already
holds (same run id, model id, registered model name and version) is skipped, and counted as there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlcask.exceptions import InvalidArgumentError
from mlcask.tracking.artifacts import get_artifact_repository
from mlcask.tracking.importing.artifacts import copy_folder, is_inside, list_files
from mlcask.tracking.importing.records import ExperimentRecord, RegisteredModelRecord
from mlcask.tracking.store.importing import ImportingStore

__all__ = ["KINDS", "ImportReport", "Importer", "Tally"]

KINDS = ("experiments", "runs", "params", "metric points", "tags", "dataset inputs", "logged models",
         "registered models", "model versions", "aliases", "artifact files", "artifact bytes")


@dataclass
class Tally:
    in_source: int = 0
    copied: int = 0

    @property
    def already_there(self) -> int:
        return self.in_source - self.copied


@dataclass
class ImportReport:
    """What an import found in the source and what it copied, per kind (:data:`KINDS`)."""

    source: str
    destination: str
    tallies: dict[str, Tally] = field(default_factory=lambda: {kind: Tally() for kind in KINDS})
    experiment_ids: list[str] = field(default_factory=list)  # "id 'name' -> id (why)" where an id changed
    warnings: list[str] = field(default_factory=list)
    signed: int = 0

    def add(self, kind: str, in_source: int, copied: int) -> None:
        self.tallies[kind].in_source += in_source
        self.tallies[kind].copied += copied

    @property
    def copied_anything(self) -> bool:
        return any(t.copied for t in self.tallies.values())

    def lines(self) -> list[str]:
        """The closing count, one line per kind, then mapped ids and warnings."""
        lines = [f"Imported {self.source} into {self.destination}:",
                 f"  {'':<18}{'in source':>12}{'copied':>12}{'already there':>15}"]
        for kind, tally in self.tallies.items():
            lines.append(f"  {kind:<18}{tally.in_source:>12,}{tally.copied:>12,}{tally.already_there:>15,}")
        if self.signed:
            lines.append(f"Signed {self.signed} model folder(s) with the signing key.")
        lines += [f"Experiment id changed: {line}" for line in self.experiment_ids]
        lines += [f"Warning: {line}" for line in self.warnings]
        if not self.copied_anything:
            lines.append("Nothing copied: the destination already holds everything in the source.")
        return lines


@dataclass
class _Plan:
    experiments: list[ExperimentRecord]
    runs: dict[str, list[str]]
    models: dict[str, list[str]]
    registered: list[RegisteredModelRecord]

    @property
    def steps(self) -> int:
        return (len(self.experiments) + sum(map(len, self.runs.values())) + sum(map(len, self.models.values()))
                + len(self.registered))


class Importer:
    """Copies ``source`` (see :mod:`mlcask.tracking.importing.sources`) into the mlcask database ``database``.

    Parameters
    ----------
    source
        An opened source: ``experiments()``, ``run_ids()``, ``run()``, ``logged_model_ids()``,
        ``logged_model()``, ``registered_models()``, ``artifact_tracking_uri``, ``describe()``.
    database, artifact_root
        The destination's database URI and where its new experiments keep artifacts.
    sign
        Seal and sign every copied model folder with the signing key.
    """

    def __init__(self, source: Any, database: str, artifact_root: str, *, sign: bool = False,
                 destination_name: str | None = None) -> None:
        self.source = source
        self.store = ImportingStore(database)
        self.artifact_root = artifact_root.rstrip("/")
        self.sign = sign
        self.report = ImportReport(source.describe(), destination_name or database)
        self._plan: _Plan | None = None
        self._experiments: dict[str, tuple[str, str]] = {}  # source id -> (destination id, artifact location)
        self._moved: dict[str, str] = {}  # source artifact location -> destination's

    def plan(self) -> int:
        """Read what the source holds; returns the number of entities to go through (for a progress bar)."""
        experiments = self.source.experiments()
        self._plan = _Plan(experiments, {e.experiment_id: self.source.run_ids(e.experiment_id) for e in experiments},
                           {e.experiment_id: self.source.logged_model_ids(e.experiment_id) for e in experiments},
                           list(self.source.registered_models()))
        return self._plan.steps

    def run(self, step: Callable[[int], None] = lambda n: None) -> ImportReport:
        """Copy what :meth:`plan` found, calling ``step(1)`` after each entity; returns the report."""
        plan = self._plan
        if plan is None:
            self.plan()
            plan = self._plan
        for record in plan.experiments:
            self._experiment(record)
            step(1)
        for record in plan.experiments:
            self._runs(record.experiment_id, plan.runs[record.experiment_id], step)
            self._models(record.experiment_id, plan.models[record.experiment_id], step)
        for model in plan.registered:
            self._registered_model(model)
            step(1)
        return self.report

    # -- experiments -----------------------------------------------------------------------------
    def _experiment(self, record: ExperimentRecord) -> None:
        self.report.add("tags", len(record.tags), 0)
        found = self.store.experiment_by_name(record.name)
        if found is not None:
            destination_id, location = found
            self.report.add("experiments", 1, 0)
            self.report.add("tags", 0, self.store.add_experiment_tags(destination_id, record.tags))
            if destination_id != record.experiment_id:
                self.report.experiment_ids.append(f"{record.experiment_id} '{record.name}' -> {destination_id} "
                                                  "(the destination's experiment of that name)")
        else:
            keep = None if self.store.experiment_id_taken(record.experiment_id) else record.experiment_id
            destination_id = self.store.add_experiment(record, keep, self.artifact_root)
            location = f"{self.artifact_root}/{destination_id}"
            self.report.add("experiments", 1, 1)
            self.report.add("tags", 0, len(record.tags))
            if keep is None:
                self.report.experiment_ids.append(f"{record.experiment_id} '{record.name}' -> {destination_id} "
                                                  f"(id {record.experiment_id} is taken in the destination)")
        self._experiments[record.experiment_id] = (destination_id, location.rstrip("/"))

    # -- runs and logged models ------------------------------------------------------------------
    def _copy_artifacts(self, source_uri: str | None, destination_uri: str, copy: bool) -> None:
        """Copy (``copy``) or only count (the entity is there already) the files under ``source_uri``."""
        if not source_uri:
            return
        self._moved[source_uri.rstrip("/")] = destination_uri
        if copy:
            result = copy_folder(source_uri, destination_uri, source_tracking_uri=self.source.artifact_tracking_uri,
                                 sign=self.sign)
            files, size = result.files, result.bytes
            self.report.signed += result.signed
        else:
            listed = list(list_files(get_artifact_repository(source_uri, self.source.artifact_tracking_uri)))
            files, size = len(listed), sum(s or 0 for _, s in listed)
        self.report.add("artifact files", files, files if copy else 0)
        self.report.add("artifact bytes", size, size if copy else 0)

    def _copy_entities(self, experiment_id: str, ids: list[str], step: Callable[[int], None], *,
                       existing: Callable[[list[str]], Any], read: Callable[[str], Any],
                       add: Callable[[Any, str, str], None], folder: str, source_location: Callable[[Any], str | None],
                       counts: Callable[[Any], tuple[tuple[str, int], ...]]) -> None:
        """Copy the runs or logged models ``ids`` of an experiment: each one's artifacts into
        ``<experiment location>/<folder><id>/artifacts`` and its row (``add``), unless the destination
        has it already (``existing``); either way its ``counts`` go to the report."""
        destination_id, location = self._experiments[experiment_id]
        there = existing(ids)
        for entity_id in ids:
            record = read(entity_id)
            destination = f"{location}/{folder}{entity_id}/artifacts"
            new = entity_id not in there
            self._copy_artifacts(source_location(record), destination, new)
            if new:
                add(record, destination_id, destination)
            for kind, count in counts(record):
                self.report.add(kind, count, count if new else 0)
            step(1)

    def _runs(self, experiment_id: str, run_ids: list[str], step: Callable[[int], None]) -> None:
        self._copy_entities(
            experiment_id, run_ids, step, existing=self.store.existing_runs, read=self.source.run,
            add=self.store.add_run, folder="", source_location=lambda record: record.artifact_uri,
            counts=lambda record: (("runs", 1), ("params", len(record.params)), ("tags", len(record.tags)),
                                   ("metric points", len(record.metrics)), ("dataset inputs", len(record.datasets))))

    def _models(self, experiment_id: str, model_ids: list[str], step: Callable[[int], None]) -> None:
        self._copy_entities(
            experiment_id, model_ids, step, existing=self.store.existing_logged_models, read=self.source.logged_model,
            add=self.store.add_logged_model, folder="models/", source_location=lambda record: record.artifact_location,
            counts=lambda record: (("logged models", 1), ("params", len(record.params)), ("tags", len(record.tags))))

    # -- registry --------------------------------------------------------------------------------
    def _source_now(self, name: str, version: int, source: str | None) -> str | None:
        """Where a version's files are after the copy: a path below a copied location moves with it;
        ``runs:/`` and ``models:/`` URIs stay as they are (the ids were kept)."""
        if not source or source.startswith(("runs:/", "models:/")):
            return source
        for old in sorted(self._moved, key=len, reverse=True):
            if is_inside(source, old):
                return self._moved[old] + source.rstrip("/")[len(old):]
        self.report.warnings.append(f"model version {name}/{version}: its source '{source}' is not in any copied "
                                    "artifact location; it is kept as it is.")
        return source

    def _registered_model(self, record: RegisteredModelRecord) -> None:
        new = record.name not in self.store.existing_registered_models([record.name])
        if new:
            self.store.add_registered_model(record)
        self.report.add("registered models", 1, int(new))
        self.report.add("tags", len(record.tags), len(record.tags) if new else 0)
        there = self.store.existing_versions(record.name)
        for version in record.versions:
            copied = version.version not in there
            if copied:
                self.store.add_model_version(record.name, version,
                                             self._source_now(record.name, version.version, version.source))
            self.report.add("model versions", 1, int(copied))
            self.report.add("tags", len(version.tags), len(version.tags) if copied else 0)
        current = self.store.aliases(record.name)
        changed = {alias: v for alias, v in record.aliases.items() if current.get(alias) != v}
        self.store.set_aliases(record.name, changed)
        self.report.add("aliases", len(record.aliases), len(changed))


def check_distinct(source_uri: str, database: str) -> None:
    """Refuse importing a store into itself."""
    if source_uri.rstrip("/") == database.rstrip("/"):
        raise InvalidArgumentError(f"The source and the destination are the same store ('{database}'): give "
                                   "--to another mlcask tracking URI.")
