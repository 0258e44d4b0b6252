"""An external OpenID Connect provider for the tests: its keys served by a throwaway HTTP server
on 127.0.0.1, and the `provider` and `sso` fixtures (a plugin of tests/conftest.py)."""
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.testclient import TestClient

from geoserver import create_app
from geoserver.settings import AuthSettings, Settings

ISSUER = "https://sso.test.invalid/realms/amana"


AUDIENCE = "amanat-api"


class Provider:
    """A key server: a JWKS document that tests can change, and the private keys behind it."""

    def __init__(self):
        self.keys = {}
        self.published = []
        self.fetches = 0
        self.down = False
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server API)
                provider.fetches += 1
                if provider.down:
                    self.send_error(503)
                    return
                body = json.dumps({"keys": [provider.keys[kid].as_dict(private=False)
                                            | {"kid": kid, "use": "sig", "alg": "RS256"}
                                            for kid in provider.published]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/certs"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def new_key(self, publish: bool = True) -> str:
        kid = uuid.uuid4().hex[:8]
        self.keys[kid] = RSAKey.generate_key(2048, private=True)
        if publish:
            self.published.append(kid)
        return kid

    def token(self, kid: str, **claims) -> str:
        now = int(time.time())
        body = {"iss": ISSUER, "aud": AUDIENCE, "sub": f"nid-{uuid.uuid4().hex[:6]}",
                "iat": now, "exp": now + 300, "realm_access": {"roles": ["analyst"]}}
        body.update(claims)
        return jwt.encode({"alg": "RS256", "kid": kid}, body, self.keys[kid], algorithms=["RS256"])


@pytest.fixture(scope="module")
def provider():
    found = Provider()
    found.new_key()
    yield found
    found.server.shutdown()


@pytest.fixture(scope="module")
def sso(settings, provider):
    """The application with the provider configured (the local issuer stays on)."""
    conf = AuthSettings(oidc_issuer=ISSUER, oidc_audience=AUDIENCE, oidc_jwks_url=provider.url,
                        oidc_roles_claim="realm_access.roles", oidc_office_claim="office",
                        oidc_algorithms=["RS256"], jwks_min_refresh_s=0)
    with TestClient(create_app(Settings(database=settings.database, server=settings.server,
                                        auth=conf))) as test_client:
        yield test_client
