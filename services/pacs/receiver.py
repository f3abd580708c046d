"""``chestx receive``: a DICOM C-STORE receiver a PACS or a modality routes chest radiographs to.

Contract: :class:`Receiver` listens (pynetdicom, in its own threads) on ``host:port`` under its
AE title; an association must call that title and, when an allow-list is given, come from one
of its AE titles, or it is refused (A-ASSOCIATE-RJ, "calling AE title not recognised"). It
accepts every storage SOP class in any transfer syntax, and C-ECHO. Each instance received goes
through :func:`services.pacs.instances.take_instance` (the file import's de-identification and
duplicate rule; not a CR or DX chest image: skipped with the reason). The C-STORE status says
what happened: success for imported, recognised and skipped instances (a skipped one is
accepted and not kept), failure 0xC000 with the reason as the error comment for a rejected one.
Each association that stores something is recorded as one import (``imports``, kind
``receiver``, source "SENDER to OURS"), finished when the sender releases or aborts it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydicom.dataset import Dataset
from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, AllStoragePresentationContexts, evt
from pynetdicom.sop_class import Verification
from sqlalchemy.orm import Session, sessionmaker

from services.import_runs import ImportRecorder
from services.importing import ImportReport, Intake
from services.pacs.instances import Selection, Tally, take_instance
from vocab.imports import ImportKind, Outcome

log = logging.getLogger(__name__)

SUCCESS, CANNOT_UNDERSTAND = 0x0000, 0xC000
# Told (calling AE title, outcome, instance label, reason) after each instance.
Listener = Callable[[str, Outcome, str, str], None]


@dataclass(frozen=True)
class ReceiverConfig:
    """Where and as whom to listen, whom to accept, and which instances to keep."""

    ae_title: str
    port: int
    host: str = "127.0.0.1"
    allow: tuple[str, ...] = ()  # calling AE titles accepted; empty: any
    selection: Selection = Selection()


class Receiver:
    """A running C-STORE receiver: :meth:`start`, then :meth:`stop` (or use it as a context)."""

    def __init__(
        self,
        *,
        factory: sessionmaker[Session],
        intake: Intake,
        config: ReceiverConfig,
        actor: str = "receiver",
        listener: Listener | None = None,
    ) -> None:
        self.factory, self.intake, self.config = factory, intake, config
        self.actor, self.listener = actor, listener
        self._server: Any = None
        self._port = config.port
        self._open: dict[int, Tally] = {}  # id(association) -> its tally, while it stores
        self._lock = threading.Lock()

    @property
    def port(self) -> int:
        """The port listened on (the one the system chose when the config said 0)."""
        return self._port

    def start(self) -> Receiver:
        """Bind and listen in background threads; OSError when the port cannot be bound."""
        ae = AE(ae_title=self.config.ae_title)
        ae.require_called_aet = True
        ae.require_calling_aet = list(self.config.allow)
        for context in AllStoragePresentationContexts:
            ae.add_supported_context(context.abstract_syntax, ALL_TRANSFER_SYNTAXES)
        ae.add_supported_context(Verification)
        handlers = [
            (evt.EVT_C_STORE, self._on_store),
            (evt.EVT_RELEASED, self._on_end),
            (evt.EVT_ABORTED, self._on_end),
            (evt.EVT_REJECTED, self._on_rejected),
        ]
        address = (self.config.host, self.config.port)
        self._server = ae.start_server(address, block=False, evt_handlers=handlers)
        self._port = int(self._server.server_address[1])
        return self

    def stop(self) -> None:
        """Stop listening; associations still open are recorded as ended by the shutdown."""
        if self._server is not None:
            self._server.shutdown()
            self._server = None
        with self._lock:
            left, self._open = list(self._open.values()), {}
        for tally in left:
            if tally.recorder is not None:
                tally.recorder.finish(error="the receiver stopped during the association")

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _tally(self, assoc: Any) -> Tally:
        with self._lock:
            tally = self._open.get(id(assoc))
            if tally is None:
                source = f"{assoc.requestor.ae_title} to {self.config.ae_title} (port {self.port})"
                recorder = ImportRecorder.start(
                    factory=self.factory, kind=ImportKind.receiver, source=source, actor=self.actor
                )
                tally = self._open[id(assoc)] = Tally(ImportReport(), recorder)
            return tally

    def _on_store(self, event: Any) -> int | Dataset:
        tally = self._tally(event.assoc)
        outcome, label, reason = take_instance(
            factory=self.factory,
            intake=self.intake,
            selection=self.config.selection,
            data=event.encoded_dataset(),
            sop_instance_uid=str(event.request.AffectedSOPInstanceUID),
            actor=self.actor,
            tally=tally,
        )
        if self.listener is not None:
            self.listener(event.assoc.requestor.ae_title, outcome, label, reason)
        if outcome is not Outcome.rejected:
            return SUCCESS
        status = Dataset()
        status.Status = CANNOT_UNDERSTAND
        status.ErrorComment = reason[:64]  # LO: the sender's log shows why
        return status

    def _on_end(self, event: Any) -> None:
        with self._lock:
            tally = self._open.pop(id(event.assoc), None)
        if tally is not None and tally.recorder is not None:
            aborted = event.event is evt.EVT_ABORTED
            tally.recorder.finish(error="the sender aborted the association" if aborted else None)

    def _on_rejected(self, event: Any) -> None:
        log.warning(
            "refused an association from AE title %r: not on the allow-list, or not calling %r",
            event.assoc.requestor.ae_title,
            self.config.ae_title,
        )
