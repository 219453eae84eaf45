from django.test import override_settings


def test_healthz_ok(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok", "storage": "ok"}


# A real connection attempt to a port where nothing listens.
@override_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0")
def test_healthz_reports_unreachable_broker(client, db):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["database"] == "ok"
    assert body["broker"] != "ok"


@override_settings(SECURE_SSL_REDIRECT=True)
def test_healthz_is_exempt_from_ssl_redirect(client, db):
    assert client.get("/healthz").status_code == 200
