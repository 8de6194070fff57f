"""Schemathesis hooks for Hearth (loaded by scripts/schemathesis.sh).

Authentication follows the OpenAPI document's security schemes, both HTTP bearer:
- `api_key` (POST /v1/access): the platform API key the server generated;
- `session`: for /v1/admin/* the first analyst's session, otherwise a session of a
  fresh owner account. Generated requests sign devices out, report the account
  compromised or revoke the token, so a new owner account and session are made every
  few seconds rather than once.
"""

import json
import os
import urllib.request
import uuid

import schemathesis

BASE = os.environ["HEARTH_URL"]
API_KEY = os.environ["HEARTH_API_KEY"]
ADMIN_TOKEN = os.environ["HEARTH_ADMIN_TOKEN"]
PASSWORD = "Schema-Thesis-7-Kettle!"


def _post(path, body):
    req = urllib.request.Request(
        BASE + path,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read() or b"{}")


def fresh_owner_token():
    email = f"st-{uuid.uuid4().hex[:12]}@example.org"
    _post("/v1/accounts", {"email": email, "password": PASSWORD})
    signed_in = _post(
        "/v1/sessions",
        {"email": email, "password": PASSWORD, "device_type": "computer", "device_name": "schemathesis"},
    )
    return signed_in["token"]


@schemathesis.auth(refresh_interval=5)
class HearthAuth:
    def get(self, case, ctx):
        return fresh_owner_token()

    def set(self, case, data, ctx):
        schemes = set()
        for requirement in case.operation.definition.raw.get("security") or []:
            schemes.update(requirement)
        if "api_key" in schemes:
            token = API_KEY
        elif "session" in schemes:
            token = ADMIN_TOKEN if case.path.startswith("/v1/admin") else data
        else:
            return
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {token}"
