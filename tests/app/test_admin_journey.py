"""The admin's journey (../shared/JOURNEYS.md) in a real browser, start to finish, on the shared
live app: accounts (add, refuse bad input, change role, reset a password, deactivate and
reactivate, all audited as the admin), the model versions table, the loop run now, watched and
cancelled, a failed stage's log with the promoted model unchanged, and at the end a check that
the database holds exactly what the admin did.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from sqlalchemy import func, select

from tests.app.conftest import LOOP_YAML, PASSWORD, login
from tests.app.test_pages_browser import _end_workers, hold_workers
from tests.conftest import ARTIFACTS

pytestmark = pytest.mark.browser

ADMIN, NURSE = "journey-admin", "journey-nurse"
NEW_PASSWORD = "a brand new passphrase"
# A stage that fails at once: SFT from the promoted version, whose base model does not exist.
FAILING_LOOP = "min_new_verified: 1000\nstages: {sft: true}\ninclude_demo: true\nisolation: inline\n"


def _type(page, selector: str, text: str) -> None:  # noqa: ANN001
    page.fill(f"{selector} textarea, {selector} input", text)


def _pick(page, selector: str, label: str) -> None:  # noqa: ANN001
    page.click(f"{selector} input")
    page.locator("ul[role=listbox] li", has_text=label).first.click()


def _says(page, kind: str, text: str, where: str = "#cx-users-notice") -> None:  # noqa: ANN001
    """Wait until the notice ``where`` shows ``text`` in a box of ``kind`` (ok | error)."""
    page.wait_for_function(
        "([sel, kind, text]) => { const n = document.querySelector(sel + ' .cx-notice');"
        " return n && n.classList.contains('cx-' + kind) && n.innerText.includes(text); }",
        arg=[where, kind, text],
    )


def _db_state(live) -> dict:  # noqa: ANN001
    """Everything an admin's action could change, by table: counts and the users' rows."""
    from review_db.models import AuditLog, Case, ChainReview, ModelVersion, StepVerdict, User

    with live.factory() as s:
        counts = {m.__tablename__: s.scalar(select(func.count()).select_from(m)) for m in (
            Case, ChainReview, StepVerdict, ModelVersion)}  # fmt: skip
        users = {u.username: (u.role.value, u.active, u.password_hash) for u in s.scalars(select(User))}
        versions = {v.name: v.status.value for v in s.scalars(select(ModelVersion))}
        audit = s.scalar(select(func.max(AuditLog.id))) or 0
    return {"counts": counts, "users": users, "versions": versions, "audit": audit}


def _seed_versions(live) -> None:  # noqa: ANN001
    """Two model versions as earlier loop runs would leave them: a base, and a promoted child."""
    from review_db.engine import session_scope
    from review_db.models import ModelVersion
    from training import registry

    with session_scope(live.factory, actor="test:seed") as s:
        if s.scalar(select(ModelVersion).where(ModelVersion.name == "journey-v1")) is not None:
            return
        base = registry.register_version(
            session=s, name="journey-base", base_model="no-such-model-for-tests", adapter_path=None,
            parent_id=None, training_run_id=None,
        )  # fmt: skip
        v1 = registry.register_version(
            session=s, name="journey-v1", base_model="no-such-model-for-tests", adapter_path=None,
            parent_id=base.id, training_run_id=None,
        )  # fmt: skip
        registry.promote(session=s, version_id=base.id, note="seeded by the admin journey")
        registry.add_metrics(
            session=s, version_id=v1.id, metrics={"eval": {"accuracy": 0.75, "nll": 1.25, "n_cases": 40}}
        )
        registry.promote(session=s, version_id=v1.id, note="seeded by the admin journey")


def _only_admin(live, admin_id: int) -> list[int]:  # noqa: ANN001
    """Deactivate other tests' active admins, so that this one is the last; their ids (to restore)."""
    from review_db.engine import session_scope
    from review_db.models import User
    from review_db.types import Role

    with session_scope(live.factory, actor="test:setup") as s:
        others = s.scalars(
            select(User).where(User.role == Role.admin, User.active.is_(True), User.id != admin_id)
        ).all()
        for user in others:
            user.active = False
        return [u.id for u in others]


def _restore(live, ids: list[int]) -> None:  # noqa: ANN001
    from review_db.engine import session_scope
    from review_db.models import User

    with session_scope(live.factory, actor="test:setup") as s:
        for user_id in ids:
            s.get(User, user_id).active = True


def _back_to_login(page, url: str) -> None:  # noqa: ANN001
    """Open ``url`` on a page whose login has just ended: it lands on the login page. The open page
    may already be on its way there by itself (static/session.js sends it on its first 401), and
    that navigation can supersede this one, so the check is where the page ends, not the goto."""
    with contextlib.suppress(PlaywrightError):  # superseded by the page's own redirect
        page.goto(url, wait_until="domcontentloaded", timeout=15_000)
    page.wait_for_url("**/login?next=*")
    page.wait_for_selector("#username")  # the login form is served, not an error page


def test_admin_journey(live, new_page) -> None:  # noqa: ANN001
    admin_id = live.user(ADMIN, "admin")
    (Path(live.settings.home) / "loop.yaml").write_text(LOOP_YAML, encoding="utf-8")
    _seed_versions(live)
    others = _only_admin(live, admin_id)
    try:
        before = _db_state(live)
        page = new_page()
        login(page, live, ADMIN, path="/admin/")
        page.wait_for_selector("#cx-admin-users table")
        assert ADMIN in page.inner_text("#cx-admin-users")
        _accounts(page, live, new_page)
        _models_and_loop(page, live)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "admin-journey.png"), full_page=True)
        _only_what_the_admin_did(live, before, admin_id)
    finally:
        _restore(live, others)
        (Path(live.settings.home) / "loop.yaml").write_text(LOOP_YAML, encoding="utf-8")
        _end_workers(live.settings.home)


def _accounts(page, live, new_page) -> None:  # noqa: ANN001
    # Bad input: a clear message each time, nothing stored (checked at the end of the test).
    _type(page, "#cx-new-username", NURSE)
    _type(page, "#cx-new-password", "short")
    page.click("#cx-add-user")
    _says(page, "error", "at least 8 characters")
    _type(page, "#cx-new-username", ADMIN)
    _type(page, "#cx-new-password", PASSWORD)
    page.click("#cx-add-user")
    _says(page, "error", "already exists")
    _type(page, "#cx-new-username", "")
    _type(page, "#cx-new-password", PASSWORD)
    page.click("#cx-add-user")
    _says(page, "error", "username must be")
    _pick(page, "#cx-user-pick", f"{ADMIN} (admin)")
    page.click("#cx-deactivate")  # the last active admin cannot lock everyone out
    _says(page, "error", "last active admin")

    # Add a reviewer, who logs in in another browser.
    _type(page, "#cx-new-username", NURSE)
    _type(page, "#cx-new-display", "Night nurse")
    _pick(page, "#cx-new-role", "Reviewer")
    _type(page, "#cx-new-password", PASSWORD)
    page.click("#cx-add-user")
    _says(page, "ok", f"Added {NURSE} (reviewer)")
    assert page.input_value("#cx-new-password input") == ""  # never left in the form
    assert NURSE in page.inner_text("#cx-admin-users") and "Night nurse" in page.inner_text("#cx-admin-users")
    nurse = new_page()
    login(nurse, live, NURSE, path="/review/")
    nurse.wait_for_selector("#cx-table")

    # Change role: the picker is on the new account already.
    page.click("#cx-change-role")
    _says(page, "error", "Pick the new role")
    _pick(page, "#cx-user-role", "Educator")
    page.click("#cx-change-role")
    _says(page, "ok", f"{NURSE} is now educator (was reviewer)")
    assert nurse.goto(live.url + "/teach/").status == 200  # the new role counts at once

    # Reset the password: the old login ends, the new password works, the old one does not.
    _type(page, "#cx-reset-password", "tiny")
    page.click("#cx-reset-pw")
    _says(page, "error", "at least 8 characters")
    _type(page, "#cx-reset-password", NEW_PASSWORD)
    page.click("#cx-reset-pw")
    _says(page, "ok", f"New password set for {NURSE}; their open logins ended")
    _back_to_login(nurse, live.url + "/teach/")
    login(nurse, live, NURSE, path="/teach/")
    assert "wrong password" in nurse.inner_text("body")
    login(nurse, live, NURSE, password=NEW_PASSWORD, path="/teach/")
    nurse.wait_for_url(live.url + "/teach/")

    # Deactivate: the session stops working at once; reactivate: the account logs in again.
    page.click("#cx-deactivate")
    _says(page, "ok", f"Deactivated {NURSE}")
    assert f"{NURSE} (educator, inactive)" in _picker_options(page)
    _back_to_login(nurse, live.url + "/teach/")
    login(nurse, live, NURSE, password=NEW_PASSWORD, path="/teach/")
    assert "wrong password" in nurse.inner_text("body")
    page.click("#cx-reactivate")
    _says(page, "ok", f"Reactivated {NURSE}")
    login(nurse, live, NURSE, password=NEW_PASSWORD, path="/teach/")
    nurse.wait_for_url(live.url + "/teach/")
    page.click("#cx-admin-refresh")  # the table re-read: the nurse's one open login
    page.wait_for_function(
        "(name) => [...document.querySelectorAll('#cx-admin-users tr')].some(r =>"
        " r.innerText.includes(name) && r.innerText.includes('educator') && r.innerText.includes('yes'))",
        arg=NURSE,
    )


def _picker_options(page) -> str:  # noqa: ANN001
    page.click("#cx-user-pick input")
    text = page.inner_text("ul[role=listbox]")
    page.keyboard.press("Escape")
    return text


def _models_and_loop(page, live) -> None:  # noqa: ANN001
    from review_db.models import TrainingRun
    from review_db.types import RunStatus
    from training import runs

    models = page.inner_text("#cx-admin-models")
    assert "journey-v1\tpromoted\tjourney-base" in models and "0.750" in models and "1.250" in models

    # Run the loop now, watch its progress as the worker reports it, cancel it (the worker held
    # until then, so that it cannot end first).
    (Path(live.settings.home) / "loop.yaml").write_text(FAILING_LOOP, encoding="utf-8")
    page.click("#cx-run-loop")
    _says(page, "ok", "Loop run", where="#cx-train-notice")
    hold_workers(live.settings.home)
    page.wait_for_selector("#cx-train-active")
    with live.factory() as s:
        run_id = s.scalar(select(TrainingRun.id).order_by(TrainingRun.id.desc()))
    runs.write_progress(live.factory, run_id, {"stage": "sft", "step": 3, "total": 12, "loss": 0.25})
    page.wait_for_function(
        "document.querySelector('#cx-train-active').innerText.includes('step 3 / 12 · loss 0.250')"
    )
    page.click("#cx-cancel-job")
    _says(page, "ok", f"Run {run_id} cancelled", where="#cx-train-notice")
    page.wait_for_selector("#cx-train-idle")

    # A stage that fails: its log is on the page, the promoted model is the one before.
    page.click("#cx-run-loop")
    _says(page, "ok", "Loop run", where="#cx-train-notice")
    with live.factory() as s:
        loop_id = s.scalar(select(TrainingRun.id).order_by(TrainingRun.id.desc()))
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        with live.factory() as s:
            loop = s.get(TrainingRun, loop_id)
            if loop.status not in runs.ACTIVE:
                stage = s.scalars(select(TrainingRun).where(TrainingRun.parent_run_id == loop_id)).one()
                break
        time.sleep(0.5)
    assert loop.status is RunStatus.failed and stage.status is RunStatus.failed, loop.error
    log = f"#cx-run-log-{stage.id}"
    page.wait_for_selector(log, state="attached", timeout=30_000)  # the timer's last refresh
    page.click(f"{log} summary")
    shown = page.inner_text(log)
    assert "OSError" in shown and "Traceback" in shown
    assert page.locator(f"#cx-run-log-{loop_id}").count() == 1  # the loop's own log too
    assert "journey-v1\tpromoted" in page.inner_text("#cx-admin-models")


def _only_what_the_admin_did(live, before: dict, admin_id: int) -> None:  # noqa: ANN001
    from review_db.models import AuditLog, User

    after = _db_state(live)
    assert after["counts"] == before["counts"]  # no case, review, verdict or model version more
    assert after["versions"] == before["versions"]  # the promoted model is the one before
    added = {k: v for k, v in after["users"].items() if k not in before["users"]}
    assert list(added) == [NURSE] and added[NURSE][:2] == ("educator", True)
    assert {k: v for k, v in after["users"].items() if k != NURSE} == before["users"]
    with live.factory() as s:
        nurse_id = s.scalar(select(User.id).where(User.username == NURSE))
        rows = s.scalars(
            select(AuditLog).where(AuditLog.id > before["audit"], AuditLog.entity == "users")
        ).all()
    changes = [(r.actor, r.action, r.entity_id) for r in rows if r.action in ("insert", "update", "delete")]
    # add, role, password, deactivate, reactivate: each one row, each by the admin, on the nurse
    assert (
        changes
        == [(f"user:{admin_id}", "insert", str(nurse_id))]
        + [(f"user:{admin_id}", "update", str(nurse_id))] * 4
    )
    after_values = [r.after for r in rows if r.action == "update"]
    assert after_values[0]["role"] == "educator" and after_values[1]["password_hash"] == "***"
    assert (after_values[2]["active"], after_values[3]["active"]) == (False, True)
