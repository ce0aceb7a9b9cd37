import hashlib


def test_healthz_and_readyz(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "blobs": "ok"}


def test_monolithic_blob_push_and_pull(client, make_token):
    token = make_token()
    data = b"hello weights" * 1000
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    headers = {"Authorization": f"Bearer {token.secret}"}
    r = client.post(f"/v2/acme/model/blobs/uploads/?digest={digest}", content=data, headers=headers)
    assert r.status_code == 201, r.text
    assert r.headers["docker-content-digest"] == digest
    r = client.get(f"/v2/acme/model/blobs/{digest}", headers=headers)
    assert r.status_code == 200
    assert r.content == data
