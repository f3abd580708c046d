"""Scripts with ``gradio_client``: only the documented endpoint, only for the roles allowed."""

from __future__ import annotations

import httpx
import pytest
from gradio_client import Client


def _client(live, path: str, cookie: str | None) -> Client:  # noqa: ANN001
    headers = {"Cookie": f"chestx_session={cookie}"} if cookie else {}
    return Client(live.url + path, headers=headers, verbose=False, download_files=False)


def test_researcher_lists_exports_with_gradio_client(live) -> None:  # noqa: ANN001
    live.user("gc-researcher", "researcher")
    export = live.settings.exports_dir / "sft-2026-11-23"
    export.mkdir(parents=True)
    (export / "train.jsonl").write_text("{}\n")
    client = _client(live, "/export/", live.login_cookie("gc-researcher"))
    assert client.predict(api_name="/list_exports") == [["sft-2026-11-23", "1", "3"]]


def test_reviewer_cannot_reach_export_or_admin_endpoints(live) -> None:  # noqa: ANN001
    live.user("gc-reviewer")
    cookie = live.login_cookie("gc-reviewer")
    for path in ("/export/", "/admin/"):
        with pytest.raises(Exception):  # noqa: B017 - the client fails however it reports a 403
            _client(live, path, cookie).predict(api_name="/list_exports")
    direct = httpx.post(
        live.url + "/export/gradio_api/call/list_exports",
        json={"data": []},
        cookies={"chestx_session": cookie},
    )
    assert direct.status_code == 403


def test_unauthenticated_clients_get_nothing(live) -> None:  # noqa: ANN001
    for path in ("/review/", "/export/", "/teach/", "/admin/"):
        with pytest.raises(Exception):  # noqa: B017
            _client(live, path, None)
    call = httpx.post(live.url + "/export/gradio_api/call/list_exports", json={"data": []})
    assert call.status_code == 401


def test_review_handlers_are_not_in_the_public_api(live) -> None:  # noqa: ANN001
    live.user("gc-scripter")
    client = _client(live, "/review/", live.login_cookie("gc-scripter"))
    api = client.view_api(print_info=False, return_format="dict")
    assert api["named_endpoints"] == {} and api["unnamed_endpoints"] == {}
    with pytest.raises(Exception):  # noqa: B017 - private handlers cannot be called by name
        client.predict(api_name="/on_chain")
