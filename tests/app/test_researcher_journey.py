"""The researcher's journey (../shared/JOURNEYS.md), start to finish in a real browser.

A researcher opens the dashboards (progress, acceptance by step, task type and finding,
agreement, model quality by version; every chart downloads), then exports SFT, PRM, preference
pairs and records with filters, each zip downloaded once (a second request is refused). Each zip
loads with ``datasets.load_dataset`` (and its rows pass TRL's conversational check), holds no
identifier in any byte, puts an image in one split only, and the preference pairs become a
results file scored with ``chestx eval radrscore`` on the command line. Every label the pages
show is words, not ids; the server log holds no traceback.

The data is made through the real services: a radiograph imported from a DICOM whose header is
full of identifiers, reviewed by two reviewers; and, as in the demo, a case whose prior is another
pseudonym's radiograph (the same image would otherwise be in two splits).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from chestx.cli import app
from chestx.compose import intake
from chestx.web.dashboards.figures import CHARTS
from tests.app.conftest import login
from tests.conftest import ARTIFACTS, rg1_path
from tests.export.helpers import phi_dicom, phi_strings
from tests.export.test_phi import assert_no_phi

pytestmark = pytest.mark.browser
LEASE = dt.timedelta(minutes=15)
REVIEWERS = ("res-rev-ann", "res-rev-bob")
RAW_IDS = ("single_choice", "multiple_choice", "open_findings", "chat_template", "jsonl")


def _review(s, chain, name: str, verdicts, *, answer: str | None = None) -> None:  # noqa: ANN001
    from review_db import store
    from review_db.models import User

    user = s.scalar(select(User).where(User.username == name))
    store.claim_case(session=s, case_id=chain.case_id, reviewer_id=user.id, lease=LEASE)
    for step, (verdict, text) in zip(sorted(chain.steps, key=lambda x: x.position), verdicts, strict=True):
        store.record_verdict(
            session=s, step_id=step.id, reviewer_id=user.id, verdict=verdict, corrected_text=text, lease=LEASE
        )
    store.submit_review(
        session=s, chain_id=chain.id, reviewer_id=user.id, answer_verdict="disagree" if answer else "agree",
        corrected_answer=answer, time_spent_s=75.0, lease=LEASE,
    )  # fmt: skip


def _research_data(live, tmp: Path) -> dict:  # noqa: ANN001
    """Two model versions with metrics; a PHI-laden DICOM case reviewed twice (chain of v1); a
    temporal case on the demo's two RG1 studies (different pseudonyms; chain of v2) with a
    correction. Returns names and ids the test checks against."""
    from review_db import store
    from review_db.engine import session_scope
    from review_db.models import Case, ModelVersion, Study
    from services.importing import import_images

    for name in REVIEWERS:
        live.user(name)
    source = phi_dicom(tmp, rg1_path(), n=913)
    report = import_images(
        factory=live.factory, intake=intake(live.settings), paths=[source], actor="test",
        question="Is there a pneumothorax? (research journey)", options=["Yes", "No"],
        reference_answer="B", required_reviews=2,
    )  # fmt: skip
    assert report.ok, report.rejected
    with session_scope(live.factory, actor="test") as s:
        versions = []
        for name, status, metrics in (
            ("res-v1", "retired", {"radrscore": 0.41, "accuracy": 0.55}),
            ("res-v2", "rejected", {"radrscore": 0.47, "accuracy": 0.6}),
        ):
            version = ModelVersion(name=name, base_model="tiny", status=status, metrics=metrics, notes="")
            s.add(version)
            s.flush()
            versions.append(version.id)
        phi_case = s.get(Case, report.case_ids[0])
        chain = store.add_chain(
            session=s, case_id=phi_case.id, source="model", final_answer="A", model_version_id=versions[0],
            steps=["The lungs are clear.", "A pleural line is seen at the apex.", "So it is a pneumothorax."],
        )  # fmt: skip
        _review(s, chain, REVIEWERS[0], [("accept", None), ("reject", None), ("reject", None)], answer="B")
        _review(s, chain, REVIEWERS[1], [("accept", None), ("reject", None), ("reject", None)], answer="B")
        demo = s.scalar(select(Case).where(Case.external_id == "demo:rg1-temporal"))
        temporal = store.create_case(
            session=s, study_id=demo.study_id, prior_study_id=demo.prior_study_id, task_type="temporal",
            question="Compared with the prior, how have the nodules changed? (research journey)",
            options=["Improved", "Unchanged", "Worsened"], reference_answer="B",
        )  # fmt: skip
        chain = store.add_chain(
            session=s, case_id=temporal.id, source="model", final_answer="C", model_version_id=versions[1],
            steps=["Both studies are PA radiographs.", "A new opacity is seen at the left base."],
        )  # fmt: skip
        fixed = "No new opacity is seen; the nodules are unchanged."
        _review(s, chain, REVIEWERS[0], [("accept", None), ("correct", fixed)], answer="B")
        studies = [s.get(Study, sid) for sid in (phi_case.study_id, demo.study_id, demo.prior_study_id)]
        return {
            "phi_case": phi_case.id,
            "temporal": temporal.id,
            "patients": [st.patient_pseudonym for st in studies],
            "forbidden": [
                v for st in studies for v in (st.patient_pseudonym, st.study_pseudonym, st.image_sha256)
            ],
        }


def _seed_splitting(patients: list[str]) -> int:
    """A seed under which the two pseudonyms of the demo's RG1 would land in different splits
    if each patient were split alone: the export must still put them (and the image) together."""
    from exports import SplitSpec

    return next(
        s
        for s in range(200)
        if SplitSpec(seed=s).assign(patients[1]) != SplitSpec(seed=s).assign(patients[2])
    )


def _dashboards(page, live) -> None:  # noqa: ANN001
    for name, _title in CHARTS:
        page.wait_for_selector(f"#dash-{name} .js-plotly-plot .main-svg", state="attached", timeout=60_000)
        page.wait_for_selector(f"#dash-{name}-html a.dash-download")
    page.click("#dash-refresh")  # the latest data, on demand
    page.wait_for_function("document.querySelector('#dash-status').innerText.includes('Updated')")
    by_task = page.inner_text("#dash-by_task_type")
    assert "Comparison with prior" in by_task and "Yes / no" in by_task
    assert "res-v1" in page.inner_text("#dash-models") and "res-v2" in page.inner_text("#dash-models")
    assert "res-v1" in page.inner_text("#dash-by_model")
    assert "pneumothorax" in page.inner_text("#dash-by_finding")
    assert REVIEWERS[0] in page.inner_text("#dash-agreement")
    body = page.inner_text("body")
    assert not [raw for raw in RAW_IDS if raw in body]
    with page.expect_download() as download:  # one through the browser's own download
        page.click("#dash-progress-html a")
    assert download.value.suggested_filename == "chestx-progress.html"
    assert "Plotly" in Path(download.value.path()).read_text(encoding="utf-8")
    for name, title in CHARTS:  # and every chart's link serves its chart
        response = page.request.get(live.url + page.get_attribute(f"#dash-{name}-html a", "href"))
        assert response.status == 200, name
        assert f"chestx-{name}.html" in response.headers["content-disposition"]
        assert "Plotly" in response.text() and title.split()[0] in response.text()


def _export(page, live, tmp: Path, label: str) -> tuple[Path, dict]:  # noqa: ANN001
    """Build with the form as it stands; download the zip once; a second request is refused."""
    before = page.evaluate("document.querySelector('#cx-export-download')?.getAttribute('href') || ''")
    page.click("#cx-export-build")
    page.wait_for_function(
        "(old) => { const a = document.querySelector('#cx-export-download');"
        " return a && a.getAttribute('href') !== old; }",
        arg=before,
        timeout=120_000,
    )
    href = page.get_attribute("#cx-export-download", "href")
    with page.expect_download() as download:
        page.click("#cx-export-download")
    data = Path(download.value.path()).read_bytes()
    assert page.request.get(live.url + href).status == 404  # one download per offer
    folder = tmp / label
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        archive.extractall(folder)
    (tmp / f"{label}.zip").write_bytes(data)
    return folder, json.loads((folder / "manifest.json").read_text())


def _one_split_per_image(folder: Path) -> set[str]:
    """Image names under each split folder of an ImageFolder export: none in two splits."""
    where: dict[str, set[str]] = {}
    for path in folder.glob("*/images/*"):
        where.setdefault(path.name, set()).add(path.parts[-3])
    assert where and {n for n, splits in where.items() if len(splits) > 1} == set()
    return set(where)


def _results_file(rows: list[dict], path: Path) -> Path:
    """A RadRScore results file from preference rows: the model's original chain scored against
    the verified one."""
    items = []
    for row in rows:
        chosen = row["chosen"][0]["content"][0]["text"]
        items.append(
            {
                "question": row["prompt"][-1]["content"][-1]["text"],
                "answer": chosen[chosen.index("<answer>") :],
                "pred": row["rejected"][0]["content"][0]["text"],
                "reason_steps": chosen[len("<think>") : chosen.index("</think>")].strip(),
                "original_report": "",
            }
        )
    path.write_text("\n".join(json.dumps(i) for i in items) + "\n", encoding="utf-8")
    return path


def _choose(page, field: str, label: str) -> None:  # noqa: ANN001
    page.click(f"{field} input")
    page.locator("ul[role=listbox] li", has_text=label).first.click()
    page.keyboard.press("Escape")


def test_researcher_journey(live, new_page, tmp_path, capfd) -> None:  # noqa: ANN001, PLR0915
    import datasets
    from trl.data_utils import is_conversational

    made = _research_data(live, tmp_path)
    seed = _seed_splitting(made["patients"])
    live.user("res-journey", "researcher")
    page = new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    # 1. Dashboards, each chart downloadable.
    login(page, live, "res-journey", path="/dashboards/")
    _dashboards(page, live)

    # 2. Export: every choice in words; SFT of everything, the demo included, under a seed that
    # would split the demo's radiograph if patients were split alone.
    page.click("a[href='/export/']")
    page.wait_for_selector("#cx-export-build")
    labels = page.inner_text("#cx-export-kind") + page.inner_text("#cx-export-policy")
    assert "Preference pairs" in labels and "Majority of reviewers" in labels
    assert "Single choice" in page.inner_text("body") and not [
        r for r in RAW_IDS if r in page.inner_text("body")
    ]
    page.check("#cx-export-demo input")
    page.fill("#cx-export-seed input", str(seed))
    sft, manifest = _export(page, live, tmp_path, "sft")
    assert manifest["kind"] == "sft" and manifest["splits"]["seed"] == seed
    _one_split_per_image(sft)  # the demo's RG1 is a prior under another pseudonym
    assert manifest["splits"]["linked_units"] >= 2
    assert "no image is in two splits" in (sft / "README.md").read_text()  # the card says how
    loaded = datasets.load_dataset(str(sft), cache_dir=str(tmp_path / "hf"))
    rows = [r for split in loaded.values() for r in split]
    mine = {r["case_id"]: r for r in rows if r["case_id"] in (made["phi_case"], made["temporal"])}
    assert set(mine) == {made["phi_case"], made["temporal"]}
    assert len(mine[made["temporal"]]["images"]) == 2 and all(is_conversational(r) for r in rows)

    # 3. PRM as Parquet, only chains of model version res-v1.
    page.uncheck("#cx-export-demo input")
    page.locator("#cx-export-kind label", has_text="PRM").click()
    page.locator("#cx-export-format label", has_text="Parquet").click()
    _choose(page, "#cx-export-models", "res-v1")
    prm, manifest = _export(page, live, tmp_path, "prm")
    assert manifest["format"] == "parquet" and manifest["filters"]["model_versions"] == ["res-v1"]
    loaded = datasets.load_dataset(str(prm), cache_dir=str(tmp_path / "hf"))
    rows = [r for split in loaded.values() for r in split]
    assert (
        rows
        and {r["model_version"] for r in rows} == {"res-v1"}
        and {r["case_id"] for r in rows} == {made["phi_case"]}
    )
    assert all(len(r["completions"]) == len(r["labels"]) for r in rows)

    # 4. Preference pairs by one reviewer, reviewed from today (JSON Lines again, all versions).
    page.locator("#cx-export-kind label", has_text="Preference pairs").click()
    page.locator("#cx-export-format label", has_text="JSON Lines").click()
    page.click("#cx-export-models button[aria-label^='Remove'], #cx-export-models .token-remove")
    _choose(page, "#cx-export-reviewers", REVIEWERS[0])
    page.fill("#cx-export-from input, #cx-export-from textarea", dt.datetime.now(dt.UTC).date().isoformat())
    pairs, manifest = _export(page, live, tmp_path, "pairs")
    assert manifest["filters"]["reviewed_from"] and manifest["filters"]["model_versions"] == []
    loaded = datasets.load_dataset(str(pairs), cache_dir=str(tmp_path / "hf"))
    pair_rows = [r for split in loaded.values() for r in split]
    assert {r["case_id"] for r in pair_rows} == {made["phi_case"], made["temporal"]}
    assert all(is_conversational(r) for r in pair_rows) and manifest["filters"]["reviewers"] == 1

    # 5. Records of everything, DICOM images: each case in the split of its studies.
    page.locator("#cx-export-kind label", has_text="Records").click()
    page.locator("#cx-export-images label", has_text="DICOM").click()
    page.click("#cx-export-reviewers button[aria-label^='Remove'], #cx-export-reviewers .token-remove")
    page.fill("#cx-export-from input, #cx-export-from textarea", "")
    page.check("#cx-export-demo input")
    records, manifest = _export(page, live, tmp_path, "records")
    studies = {
        r["id"]: r["split"]
        for r in datasets.load_dataset(str(records), "studies", cache_dir=str(tmp_path / "hf"))["records"]
    }
    cases = datasets.load_dataset(str(records), "cases", cache_dir=str(tmp_path / "hf"))["records"]
    assert {made["phi_case"], made["temporal"]} <= set(cases["id"])
    for case in cases:
        for sid in (case["study_id"], case["prior_study_id"]):
            assert sid is None or studies[sid] == case["split"], case["id"]
    # The exports made on the server with `chestx export` show after a refresh.
    from exports import build_export

    build_export(
        session_factory=live.factory, kind="prm", out_dir=live.settings.exports_dir / "journey-prm",
        key=live.settings.key_bytes(), images="none",
    )  # fmt: skip
    try:
        page.click("#cx-export-refresh")
        page.wait_for_selector("#cx-export-listing td:has-text('journey-prm')")
    finally:  # the app is shared by the test session: leave its export folder as it was
        shutil.rmtree(live.settings.exports_dir / "journey-prm")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "researcher-export.png"), full_page=True)

    # 6. No identifier in any byte of any zip: the DICOM header's, usernames, database pseudonyms.
    forbidden = phi_strings() + [n.encode() for n in (*REVIEWERS, "res-journey", "demo-senior")]
    forbidden += [v.encode() for v in made["forbidden"] if v]
    assert assert_no_phi(sorted(tmp_path.glob("*.zip")), forbidden) > 1_000_000

    # 7. The model's original chains scored against the verified ones with `chestx eval radrscore`
    # (the command's own entry point, in this process: a subprocess would import torch again).
    results = _results_file(pair_rows, tmp_path / "results.jsonl")
    out, summary = tmp_path / "scores.jsonl", tmp_path / "summary.json"
    args = ["eval", "radrscore", str(results), "--out", str(out), "--summary", str(summary)]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, (done.output[-2000:], repr(done.exception))
    assert "overall" in done.output
    scores = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(scores) == 2 and all(0.0 <= s["completeness"] <= 1.0 for s in scores)
    assert "overall" in json.loads(summary.read_text())

    assert errors == []
    assert "Traceback" not in capfd.readouterr().err
