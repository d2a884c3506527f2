"""Every error of the REST surface is an RFC 9457 problem body a person can act on."""

from __future__ import annotations


def test_unknown_route_is_a_problem_document(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == 404 and body["title"] == "Not Found / Không tìm thấy" and body["detail"]
    assert body["type"].endswith("/not-found")


def test_wrong_method_is_a_problem_document(client) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/healthz")
    assert response.status_code == 405 and response.mimetype == "application/problem+json"


def test_unexpected_failure_says_nothing_was_saved_and_hides_internals(app) -> None:  # type: ignore[no-untyped-def]
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert "secret internals" not in response.get_data(as_text=True)
    assert "nothing was saved" in response.get_json()["detail"]


def test_health_and_readiness(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").get_json() == {"status": "ready"}
