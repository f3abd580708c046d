"""Finding extraction: negation, laterality, synonyms, list scope, sentence shapes (no model)."""

from __future__ import annotations

import pytest

from reasoner.radrscore.extract import core_phrase, extract_findings, laterality
from reasoner.radrscore.types import Status


def statuses(text: str) -> list[tuple[str, str]]:
    return [(f.status.value, f.core) for f in extract_findings(text)]


@pytest.mark.parametrize(
    "text",
    [
        "No pneumothorax.",
        "There is no pneumothorax.",
        "The lungs are clear without pneumothorax.",
        "Absence of pneumothorax.",
        "Negative for pneumothorax.",
        "The chest is free of pneumothorax.",
        "Pneumothorax is not seen.",
        "A pneumothorax is not present on this image.",
        "There is no evidence of pneumothorax.",
        "The X-ray does not show any pneumothorax.",
        "The pleural line is normal, ruling out pneumothorax.",
        "Pneumothorax is excluded.",
    ],
)
def test_negation_cues_make_the_finding_absent(text: str) -> None:
    found = [f for f in extract_findings(text) if "pneumothorax" in f.cores]
    assert found, text
    assert all(not f.status.positive for f in found), (text, found)


@pytest.mark.parametrize(
    "text",
    [
        "There is a pneumothorax.",
        "A small right pneumothorax is seen.",
        "Pneumothorax is present at the apex.",
    ],
)
def test_affirmed_finding_is_present(text: str) -> None:
    found = [f for f in extract_findings(text) if "pneumothorax" in f.core]
    assert found and all(f.status.positive for f in found)


def test_negation_scope_covers_the_whole_list() -> None:
    found = extract_findings(
        "There are no signs of patchy cicatrix at the lung bases, enlarged cardiac shadow, "
        "or pleural effusion."
    )
    assert len(found) == 3
    assert {f.status for f in found} == {Status.ABSENT}
    assert "cardiomegaly" in [f.core for f in found]


def test_normal_structure_stands_for_its_abnormality_absent() -> None:
    found = extract_findings("Heart size is normal and the lungs are clear.")
    assert ("normal", "cardiomegaly") in [(f.status.value, f.core) for f in found]
    assert all(f.status is Status.NORMAL for f in found)
    assert statuses("The lungs are unremarkable.") == [("normal", "lung opacity")]


def test_contrast_splits_present_from_absent() -> None:
    found = {
        f.core: f.status for f in extract_findings("Mild cardiomegaly is seen, but there is no effusion.")
    }
    assert found["cardiomegaly"].positive
    assert not found["pleural effusion"].positive


@pytest.mark.parametrize(
    ("text", "side"),
    [
        ("left lower lobe opacity", "left"),
        ("opacity in the right upper lobe", "right"),
        ("bilateral effusions", "bilateral"),
        ("opacities at both lung bases", "bilateral"),
        ("left and right hilar enlargement", "bilateral"),
        ("granuloma in the lingula", "left"),
        ("cardiomegaly", None),
    ],
)
def test_laterality(text: str, side: str | None) -> None:
    assert laterality(text) == side


def test_core_drops_side_severity_and_fillers_and_maps_synonyms() -> None:
    assert core_phrase("The chest X-ray reveals an enlarged cardiac silhouette") == "cardiomegaly"
    assert core_phrase("mild elevation of the right hemidiaphragm") == "elevation diaphragm"
    assert core_phrase("small left pleural effusions") == "pleural effusion"
    assert core_phrase("Pneumothoraces") == "pneumothorax"
    assert core_phrase("low lung volumes") == "hypoinflation"


def test_explanations_and_definitions_carry_no_findings() -> None:
    assert extract_findings("This finding is consistent with conditions such as COPD.") == []
    assert extract_findings("Hypoinflation of the lungs involves low lung volumes.") == []


def test_topic_and_hypothetical_take_the_status_of_the_rest() -> None:
    topic = extract_findings("Regarding a severely tortuous thoracic aorta, none is observed.")
    assert topic and topic[0].core.endswith("tortuous thoracic aorta") and not topic[0].status.positive
    hypothetical = extract_findings(
        "Focal opacity in the left upper lobe would appear as a white area, yet the lungs are clear."
    )
    assert [(f.status.positive, f.laterality) for f in hypothetical] == [(False, "left")]


def test_investigation_takes_the_outcome_of_the_next_sentence() -> None:
    found = extract_findings(
        "Right apical atelectasis was examined by looking for volume loss. Since these were not present, "
        "the apex was normal."
    )
    assert [(f.status.positive, f.laterality) for f in found] == [(False, "right")]


def test_restating_tail_becomes_an_alias() -> None:
    (finding,) = extract_findings(
        "No rounded opacity near the right hilum, excluding a nodule at the right hilum."
    )
    assert not finding.status.positive
    assert any("nodule" in alias for alias in finding.aliases)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Written for this test in the style of other hospitals' reports (MIMIC-CXR, CheXpert
        # sites): impressions, devices and their position, interval change.
        ("No acute cardiopulmonary process.", [("absent", "acute cardiopulmonary process", None)]),
        ("No acute intrathoracic abnormality.", [("absent", "acute cardiopulmonary process", None)]),
        ("No evidence of free air under the diaphragm.", [("absent", "pneumoperitoneum", None)]),
        (
            "Endotracheal tube terminates 4 cm above the carina.",
            [("present", "endotracheal tube above carina", None)],
        ),
        ("Support devices in standard position.", [("present", "device", None)]),
        ("Dual-lead pacemaker with leads in expected position.", [("present", "dual pacemaker", None)]),
        ("Worsening left lower lobe consolidation.", [("worsened", "lower lobe consolidation", "left")]),
        (
            "Retrocardiac opacity may reflect atelectasis, though infection cannot be excluded.",
            [("present", "retrocardiac opacity", None), ("uncertain", "infection", None)],
        ),
        (
            "An infectious process is suspected at the right base.",
            [("uncertain", "infectious process base", "right")],
        ),
        ("The reasoning process starts with the heart.", []),
    ],
)
def test_other_hospitals_phrasing(text: str, expected: list[tuple]) -> None:
    assert [(f.status.value, f.core, f.laterality) for f in extract_findings(text)] == expected
