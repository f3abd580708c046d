"""``chestx import dicomweb``: find chest radiographs on a DICOMweb server and import them.

Contract: :func:`import_dicomweb` asks the server (QIDO-RS) for the studies a :class:`Query`
names (modality, study date range, accession number), then for their instances with modality and
body part; instances the query's :class:`~services.pacs.instances.Selection` does not want are
skipped with the reason, without being retrieved. Each other instance is retrieved (WADO-RS, in
the transfer syntax the server stores; two at a time by default, ahead of the intake) and taken in
by :func:`services.pacs.instances.take_instance`: one de-identification, one duplicate rule, one
unit of work per instance. A re-run is a resume: instances imported before are recognised by
their keyed SOP Instance UID and not retrieved again. The import is recorded (``imports``) with
its counts as it runs; a server that stops answering ends it as failed, keeping what was done.

Network and server failures become :class:`~vocab.errors.ChestXError` messages that name the
server without credentials. Nothing here reads settings: :class:`Remote` carries the URL and
the credentials the command was given.
"""

from __future__ import annotations

import datetime as dt
import io
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import pydicom
import requests
from dicomweb_client.api import DICOMwebClient
from sqlalchemy.orm import Session, sessionmaker

from services.import_runs import ImportRecorder, safe_source
from services.importing import ImportReport, Intake, Progress
from services.pacs.instances import (
    CHEST_RADIOGRAPHY,
    Selection,
    Tally,
    instance_label,
    is_known,
    take_instance,
)
from vocab.errors import ChestXError
from vocab.imports import ImportKind, Outcome

# DICOM JSON keys (group+element in hex) of what the queries read back.
_STUDY_UID, _SERIES_UID, _SOP_UID = "0020000D", "0020000E", "00080018"
_MODALITY, _BODY_PART = "00080060", "00180015"
ANY_TRANSFER_SYNTAX = (("application/dicom", "*"),)  # as stored: no transcoding by the server


@dataclass(frozen=True)
class Query:
    """Which instances to import: QIDO-RS filters, and the selection applied to each instance."""

    modalities: tuple[str, ...] = tuple(sorted(CHEST_RADIOGRAPHY))
    body_parts: tuple[str, ...] = ("CHEST",)  # empty: any body part
    study_date_from: dt.date | None = None
    study_date_to: dt.date | None = None
    accession: str | None = None

    @property
    def selection(self) -> Selection:
        return Selection(
            modalities=frozenset(m.upper() for m in self.modalities),
            body_parts=frozenset(b.upper() for b in self.body_parts),
        )

    def study_filters(self) -> Iterator[dict[str, str]]:
        """One study-level QIDO filter per modality (not every server ORs a list of them)."""
        common: dict[str, str] = {}
        if self.study_date_from or self.study_date_to:
            start, end = (f"{d:%Y%m%d}" if d else "" for d in (self.study_date_from, self.study_date_to))
            common["StudyDate"] = f"{start}-{end}"
        if self.accession:
            common["AccessionNumber"] = self.accession
        for modality in self.modalities:
            yield {"ModalitiesInStudy": modality.upper(), **common}


@dataclass(frozen=True)
class Remote:
    """A DICOMweb server: its base URL (the root holding ``studies``) and optional basic-auth
    credentials. ``source`` is the URL as a record may keep it (no credentials, no query)."""

    url: str
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout_s: float = 60.0
    # Tries of each request (dicomweb-client's retrying: on 408, 429, 503 and 504, and on a
    # connection that fails), waiting 1 s, 2 s, 4 s... between them.
    attempts: int = 3
    parallel: int = 2  # retrievals in flight at once
    # Ask for gzip: it shrinks uncompressed pixel data about twice but costs the server its CPU
    # (Orthanc: 8 MB in ~1 s instead of ~0.25 s on a shared machine); worth it on slow links only.
    compress: bool = False

    @property
    def source(self) -> str:
        return safe_source(self.url)

    def session(self) -> requests.Session:
        """The HTTP session the client uses (basic auth when a user is given)."""
        session = requests.Session()
        if not self.compress:
            session.headers["Accept-Encoding"] = "identity"
        if self.user is not None:
            session.auth = (self.user, self.password or "")
        return session

    def client(self) -> DICOMwebClient:
        client = DICOMwebClient(self.source.rstrip("/"), session=self.session(), timeout=self.timeout_s)
        client.set_http_retry_params(
            retry=self.attempts > 1, max_attempts=max(1, self.attempts), wait_exponential_multiplier=500
        )
        return client


@dataclass(frozen=True)
class Found:
    """An instance the query found: its UIDs (never stored) and what QIDO said of it."""

    study_uid: str
    series_uid: str
    sop_uid: str
    modality: str | None
    body_part: str | None


def _value(item: dict[str, Any], tag: str) -> str | None:
    values = item.get(tag, {}).get("Value") or []
    return str(values[0]) if values else None


PAGE = 500  # QIDO results asked for at a time


def _search(search: Callable[..., list[dict[str, Any]]], key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every result of a QIDO search, page by page, each ``key`` (a UID) once. Paging stops at a
    short page, or at a page with nothing new: some servers ignore ``offset`` (Orthanc 1.10 does
    at the study level), and would otherwise be asked for the same page for ever."""
    seen: set[str] = set()
    offset = 0
    while True:
        page = search(limit=PAGE, offset=offset, **kwargs)
        new = [item for item in page if (uid := _value(item, key)) and uid not in seen]
        for item in new:
            seen.add(str(_value(item, key)))
            yield item
        if len(page) < PAGE or not new:
            return
        offset += len(page)


def find_instances(client: DICOMwebClient, query: Query) -> list[Found]:
    """The instances of the studies ``query`` matches, each once, in the server's order."""
    studies: dict[str, None] = {}
    for filters in query.study_filters():
        for study in _search(client.search_for_studies, _STUDY_UID, search_filters=filters):
            studies.setdefault(str(_value(study, _STUDY_UID)))
    found: list[Found] = []
    fields = ["Modality", "BodyPartExamined", "SeriesInstanceUID"]
    for study_uid in studies:
        for item in _search(
            client.search_for_instances, _SOP_UID, study_instance_uid=study_uid, fields=fields
        ):
            series = _value(item, _SERIES_UID)
            if series:
                sop = str(_value(item, _SOP_UID))
                found.append(Found(study_uid, series, sop, _value(item, _MODALITY), _value(item, _BODY_PART)))
    return found


def _server_error(remote: Remote, exc: Exception, doing: str) -> ChestXError:
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        why = f"HTTP {exc.response.status_code} {exc.response.reason}"
    else:
        why = type(exc).__name__
    return ChestXError(f"the DICOMweb server {remote.source} failed while {doing} ({why})")


def retrieve(client: DICOMwebClient, found: Found) -> bytes:
    """The instance as a DICOM file (WADO-RS, its stored transfer syntax)."""
    dataset = client.retrieve_instance(
        found.study_uid, found.series_uid, found.sop_uid, media_types=ANY_TRANSFER_SYNTAX
    )
    buffer = io.BytesIO()
    pydicom.dcmwrite(buffer, dataset, enforce_file_format=True)
    return buffer.getvalue()


def import_dicomweb(
    *,
    factory: sessionmaker[Session],
    intake: Intake,
    remote: Remote,
    query: Query,
    actor: str,
    progress: Progress | None = None,
) -> ImportReport:
    """Query ``remote``, retrieve what ``query`` wants and import it; the import is recorded.

    Raises ChestXError when the server cannot be queried, or stops answering part way (what was
    imported stays; the same command resumes).
    """
    recorder = ImportRecorder.start(
        factory=factory, kind=ImportKind.dicomweb, source=remote.source, actor=actor
    )
    run = _Run(factory, intake, remote, query, actor, Tally(ImportReport(), recorder))
    try:
        try:
            instances = find_instances(remote.client(), query)
        except (requests.RequestException, ValueError) as exc:
            raise _server_error(remote, exc, "answering the query") from None
        recorder.set_total(len(instances))
        if progress is not None:
            progress(0, len(instances))
        for _ in run.all(instances):
            if progress is not None:
                progress(run.tally.done, len(instances))
    except BaseException as exc:
        why = str(exc) if isinstance(exc, ChestXError) else type(exc).__name__
        recorder.finish(error=f"stopped after {run.tally.done} instances: {why}")
        raise
    recorder.finish()
    return run.tally.report


@dataclass
class _Run:
    """One import's instances, in order: each recognised, skipped, or retrieved and taken in.
    Retrievals run :attr:`Remote.parallel` at a time (threads, a client each) ahead of the intake,
    which stays in this thread: a server answers two requests faster than one after the other."""

    factory: sessionmaker[Session]
    intake: Intake
    remote: Remote
    query: Query
    actor: str
    tally: Tally
    _local: threading.local = field(default_factory=threading.local)

    def all(self, instances: list[Found]) -> Iterator[None]:
        """Import ``instances``; yields after each one is counted."""
        window: deque[tuple[Found, Future[bytes]]] = deque()
        with ThreadPoolExecutor(max_workers=self.remote.parallel, thread_name_prefix="wado") as pool:
            for found in instances:
                if self._settled(found):
                    yield
                    continue
                window.append((found, pool.submit(self._retrieve, found)))
                if len(window) >= self.remote.parallel:
                    self._take(*window.popleft())
                    yield
            while window:
                self._take(*window.popleft())
                yield

    def _retrieve(self, found: Found) -> bytes:
        if not hasattr(self._local, "client"):
            self._local.client = self.remote.client()
        return retrieve(self._local.client, found)

    def _settled(self, found: Found) -> bool:
        """Counted without retrieval: imported before, or unwanted by what QIDO said of it."""
        label = instance_label(self.intake.key, found.sop_uid)
        if is_known(factory=self.factory, intake=self.intake, sop_instance_uid=found.sop_uid):
            self.tally.add(Outcome.recognised, label)
            return True
        # What QIDO said is enough to skip; what it did not say is checked after retrieval.
        wanted = self.query.selection
        selection = wanted if found.body_part else replace(wanted, body_parts=frozenset())
        reason = (
            selection.why_not(modality=found.modality, body_part=found.body_part) if found.modality else None
        )
        if reason:
            self.tally.add(Outcome.skipped, label, reason)
        return reason is not None

    def _take(self, found: Found, retrieval: Future[bytes]) -> None:
        label = instance_label(self.intake.key, found.sop_uid)
        try:
            data = retrieval.result()
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else 0
            if status in (401, 403) or status >= 500:
                raise _server_error(self.remote, exc, "sending an instance") from None
            self.tally.add(Outcome.rejected, label, f"could not be retrieved (HTTP {status})")
            return
        except requests.RequestException as exc:
            raise _server_error(self.remote, exc, "sending an instance") from None
        except Exception as exc:  # noqa: BLE001 - pydicom failing on what the server sent is input
            self.tally.add(
                Outcome.rejected, label, f"the server sent an unreadable instance ({type(exc).__name__})"
            )
            return
        take_instance(
            factory=self.factory,
            intake=self.intake,
            selection=self.query.selection,
            data=data,
            sop_instance_uid=found.sop_uid,
            actor=self.actor,
            tally=self.tally,
        )
