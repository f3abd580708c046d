"""``chestx receive``: listen for chest radiographs sent over DICOM (C-STORE) until stopped.

A thin wrapper over :class:`services.pacs.receiver.Receiver` (the ``[pacs]`` extra, pynetdicom,
imported when the command runs): one line on stderr per instance received, and a summary when
it stops (Ctrl-C or SIGTERM). Listening beyond loopback needs an allow-list of AE titles.
"""

from __future__ import annotations

import ipaddress
import signal
import threading
from collections import Counter
from typing import Any

import typer

from chestx.cli.common import clean_errors, database, fail, settings
from chestx.compose import intake
from services.pacs.instances import Selection


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _ae_title(value: str, what: str) -> str:
    """A valid AE title (1 to 16 printable ASCII characters, no backslash), or exit with why not."""
    title = value.strip()
    if not 0 < len(title) <= 16 or not title.isascii() or not title.isprintable() or "\\" in title:
        raise fail(f"{what} {value!r} is not an AE title (1 to 16 ASCII characters, no backslash)")
    return title


def register(app: typer.Typer) -> None:
    @app.command("receive")
    def receive(
        port: int = typer.Option(11112, min=0, max=65535, help="TCP port to listen on."),
        ae_title: str = typer.Option("CHESTX", help="This receiver's AE title (senders call it)."),
        host: str = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0: every interface)."),
        allow: list[str] = typer.Option(
            [], "--allow", help="An AE title allowed to send (repeat); others are refused."
        ),
        modality: list[str] = typer.Option(["CR", "DX"], "--modality", help="Modalities to keep (repeat)."),
        body_part: list[str] = typer.Option(["CHEST"], "--body-part", help="Body parts to keep (repeat)."),
    ) -> None:
        """Receive chest radiographs from a PACS or a modality (DICOM C-STORE) until stopped.

        Each instance is de-identified and deduplicated as an imported file is; other modalities
        and body parts are accepted and not kept (the reason is recorded). Each sender's
        association is recorded as an import on the admin page.
        """
        from services.pacs import receiver as scp  # lazy: the optional [pacs] extra (pynetdicom)

        title, allowed = _ae_title(ae_title, "--ae-title"), tuple(_ae_title(a, "--allow") for a in allow)
        if not allowed and not _loopback(host):
            raise fail(f"listening on {host} needs --allow with the AE titles that may send")
        config = scp.ReceiverConfig(
            ae_title=title,
            port=port,
            host=host,
            allow=allowed,
            selection=Selection(
                frozenset(m.upper() for m in modality), frozenset(b.upper() for b in body_part)
            ),
        )
        counts: Counter[str] = Counter()

        def tell(sender: str, outcome: Any, label: str, reason: str) -> None:
            counts[outcome.value] += 1
            typer.echo(f"{sender}: {outcome.value} {label}" + (f": {reason}" if reason else ""), err=True)

        stop = threading.Event()
        with clean_errors():
            receiver = scp.Receiver(
                factory=database(), intake=intake(settings()), config=config, listener=tell
            )
            try:
                receiver.start()
            except OSError as exc:
                raise fail(f"cannot listen on {host}:{port} ({exc.strerror or type(exc).__name__})") from None
            previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
            who = ", ".join(allowed) if allowed else "any AE title"
            typer.echo(f"listening on {host}:{receiver.port} as {title}; accepting {who}", err=True)
            try:
                stop.wait()
            except KeyboardInterrupt:
                pass
            finally:
                receiver.stop()
                signal.signal(signal.SIGTERM, previous)
        summary = ", ".join(f"{counts[k]} {k}" for k in ("imported", "recognised", "skipped", "rejected"))
        typer.echo(f"stopped; received {sum(counts.values())} instances: {summary}")
