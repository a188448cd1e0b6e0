"""Static files: WhiteNoise is created by the first request for one, not at a worker's start."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from bookstore.middleware import StaticFilesMiddleware


def _app(seen: list[str]):
    def get_response(request: HttpRequest) -> HttpResponse:
        seen.append(request.path)
        return HttpResponse("app")

    return get_response


def test_whitenoise_is_built_by_the_first_static_request_and_serves_it(settings, tmp_path):
    # A collected STATIC_ROOT of its own, indexed when WhiteNoise is built, as in production.
    settings.STATIC_ROOT = str(tmp_path)
    settings.WHITENOISE_AUTOREFRESH = False
    (tmp_path / "bookstore" / "admin").mkdir(parents=True)
    (tmp_path / "bookstore" / "admin" / "dashboard.css").write_text("body { margin: 0; }\n")
    seen: list[str] = []
    middleware = StaticFilesMiddleware(_app(seen))
    factory = RequestFactory()

    assert middleware(factory.get("/api/v1/books")).content == b"app"
    assert middleware._whitenoise is None  # no index of STATIC_ROOT for a worker that serves no static file

    response = middleware(factory.get("/static/bookstore/admin/dashboard.css"))
    assert response.status_code == 200
    assert b"".join(response.streaming_content).strip()  # type: ignore[attr-defined]
    assert middleware._whitenoise is not None
    assert middleware(factory.get("/api/v1/books")).content == b"app"  # everything else still passes through
    assert seen == ["/api/v1/books", "/api/v1/books"]


def test_an_unknown_static_path_goes_on_to_the_app():
    seen: list[str] = []
    middleware = StaticFilesMiddleware(_app(seen))
    assert middleware(RequestFactory().get("/static/no-such-file.css")).content == b"app"
    assert seen == ["/static/no-such-file.css"]


def test_files_served_at_the_site_root_build_it_at_once(settings, tmp_path):
    (tmp_path / "robots.txt").write_text("User-agent: *\n")
    settings.WHITENOISE_ROOT = str(tmp_path)
    middleware = StaticFilesMiddleware(_app([]))
    assert middleware._whitenoise is not None
    response = middleware(RequestFactory().get("/robots.txt"))
    assert response.status_code == 200
