"""The admin page's worklist-order section: the prioritization strategy and step hints for everyone.

Contract: :func:`status` reads :func:`services.prioritize.status`; :func:`status_html` renders it
(escaped). :func:`set_strategy` (every replica orders by the shared setting; the worklist is
re-ordered at once from the stored PRM scores, no model loads in the web process) and
:func:`set_hints` are for admins only, one unit of work each through :mod:`services.prioritize`,
and return the message to show. Scoring with a new PRM happens at the end of a loop run or by
``chestx prioritize``, never here.
"""

from __future__ import annotations

from typing import Any

from chestx.web.auth import UserInfo, require
from chestx.web.context import AppContext
from chestx.web.html import esc
from services import prioritize
from vocab.priority import PriorityStrategy

# (label, value) for the strategy chooser, from the one vocabulary of strategies.
STRATEGY_CHOICES: list[tuple[str, str]] = [(s.label, s.value) for s in PriorityStrategy]


def status(ctx: AppContext) -> dict[str, Any]:
    with ctx.read() as session:
        return prioritize.status(session=session)


def status_html(data: dict[str, Any]) -> str:
    """The strategy in force, what it does, and the last prioritization."""
    strategy: PriorityStrategy = data["strategy"]
    lines = [f"<p><b>{esc(strategy.label)}</b>: {esc(strategy.help)}</p>"]
    if data["cases"]:
        by = "; ".join(
            f"{b['cases']} by {b['strategy']}" + (f" with {b['prm']}" if b["prm"] else "") for b in data["by"]
        )
        at = f"{data['at']:%Y-%m-%d %H:%M} UTC" if data["at"] else ""
        lines.append(
            f'<p class="cx-muted" id="cx-priority-last">Last ordered {esc(at)}: {data["cases"]} open case(s) '
            f"({esc(by)}); {data['scored_steps']} step(s) carry a PRM score.</p>"
        )
    else:
        lines.append(
            '<p class="cx-muted" id="cx-priority-last">No case ordered by a strategy yet: the loop does it '
            "when it trains a PRM, or <code>chestx prioritize</code>.</p>"
        )
    hints = (
        "on for every reviewer"
        if data["hints_for_everyone"]
        else "each reviewer's own choice (off by default)"
    )
    lines.append(f'<p class="cx-muted">Step hints: {esc(hints)}.</p>')
    return "".join(lines)


def set_strategy(ctx: AppContext, admin: UserInfo, value: str) -> str:
    """Order the worklist by ``value`` from now on (admins only); the message to show."""
    require(admin)  # no roles named: only admins pass
    done = prioritize.set_strategy(factory=ctx.factory, strategy=value, actor=f"user:{admin.id}")
    return f"Worklist ordered by {PriorityStrategy(done.strategy).label.lower()}: {done.cases} open case(s)."


def set_hints(ctx: AppContext, admin: UserInfo, on: bool) -> str:
    """Step hints on for every reviewer, or back to each reviewer's choice (admins only)."""
    require(admin)
    with ctx.write(admin) as session:
        prioritize.set_hints_for_everyone(session=session, on=bool(on), actor=f"user:{admin.id}")
    if on:
        return "Step hints are on for every reviewer (from their next page load)."
    return "Step hints are each reviewer's own choice again."
