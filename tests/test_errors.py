"""Every error of the REST surface is an RFC 9457 problem body a person can act on."""

from __future__ import annotations


def test_unknown_route_is_a_problem_document(client) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == 404 and body["title"] == "Not Found / Không tìm thấy" and body["detail"]
    assert body["type"].endswith("/not-found")


def test_wrong_method_is_a_problem_document(client) -> None:
    response = client.post("/healthz")
    assert response.status_code == 405 and response.mimetype == "application/problem+json"


def test_unexpected_failure_says_nothing_was_saved_and_hides_internals(app) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert "secret internals" not in response.get_data(as_text=True)
    assert "nothing was saved" in response.get_json()["detail"]


def test_health_and_readiness(client) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").get_json() == {"status": "ready"}


BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_a_browser_gets_an_error_page_in_its_language(client) -> None:
    response = client.get("/no/such/page", headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert "Không có trang này" in response.text and "There is no such page" not in response.text
    english = client.get("/no/such/page", headers={"Accept": BROWSER_ACCEPT, "Accept-Language": "en"})
    assert '<html lang="en">' in english.text and "There is no such page" in english.text
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_a_form_posted_without_its_csrf_token_asks_to_reload(client) -> None:
    response = client.post("/login", data={"id_number": "001080012345", "password": "x" * 12},
                           headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert "Hãy tải lại trang rồi gửi lại." in response.text


def test_an_unexpected_failure_on_a_page_hides_internals(app) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom-page")
    def boom_page() -> None:
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom-page", headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 500 and response.mimetype == "text/html"
    assert "secret internals" not in response.text and "không có gì bị lưu" in response.text
