"""An external OpenID Connect provider: its keys served by a throwaway HTTP server on 127.0.0.1."""
import time
import uuid

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey

from geoserver.identity import Authenticator
from geoserver.settings import AuthSettings
from kernel.errors import Unavailable
from tests.support.accounts import licence
from tests.support.oidc import AUDIENCE, ISSUER, Provider


def _audit(sso, token: str) -> int:
    return sso.get("/audit?limit=1", headers={"Authorization": f"Bearer {token}"}).status_code


def test_a_provider_token_with_the_admin_role_reads_the_audit(sso, provider):
    token = provider.token(provider.published[0], realm_access={"roles": ["admin", "other"]})
    assert _audit(sso, token) == 200


def test_provider_roles_decide(sso, provider):
    assert _audit(sso, provider.token(provider.published[0])) == 403
    assert _audit(sso, provider.token(provider.published[0], realm_access={})) == 403


@pytest.mark.parametrize("claims", [{"aud": "someone-else"}, {"iss": "https://evil.invalid"},
                                    {"exp": int(time.time()) - 600}])
def test_provider_tokens_with_bad_claims_are_401(sso, provider, claims):
    token = provider.token(provider.published[0], realm_access={"roles": ["admin"]}, **claims)
    assert _audit(sso, token) == 401


def test_a_token_signed_by_a_key_the_provider_does_not_publish_is_401(sso, provider):
    kid = provider.new_key(publish=False)
    assert _audit(sso, provider.token(kid, realm_access={"roles": ["admin"]})) == 401


def test_a_rotated_key_is_fetched_when_a_token_names_it(sso, provider):
    before = provider.fetches
    kid = provider.new_key()
    assert _audit(sso, provider.token(kid, realm_access={"roles": ["admin"]})) == 200
    assert provider.fetches == before + 1
    assert _audit(sso, provider.token(kid, realm_access={"roles": ["admin"]})) == 200
    assert provider.fetches == before + 1   # cached


def test_a_shared_secret_token_under_the_provider_issuer_is_401(sso, provider):
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": now + 60,
              "realm_access": {"roles": ["admin"]}}
    token = jwt.encode({"alg": "HS256"}, claims, OctKey.generate_key(256), algorithms=["HS256"])
    assert _audit(sso, token) == 401


def test_local_tokens_still_work_beside_the_provider(sso, settings):
    from geoserver.cli_auth import add_user_with_token

    token = add_user_with_token(settings, f"t-local-{uuid.uuid4().hex[:6]}", "admin", None)
    assert _audit(sso, token) == 200


def test_a_provider_office_creates_a_licence_it_owns(sso, provider, db):
    token = provider.token(provider.published[0], realm_access={"roles": ["office"]},
                           office="ENG-SSO")
    response = sso.post("/ogc/collections/licenses/items", json=licence(db),
                        headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.text
    owner = db.execute("SELECT owner_office FROM licenses WHERE id = %s",
                       [response.json()["id"]]).fetchone()[0]
    assert owner == "ENG-SSO"
    assert response.json()["properties"]["holder_phone"] == "0551234567"


def test_an_office_role_without_an_office_claim_cannot_write(sso, provider, db):
    token = provider.token(provider.published[0], realm_access={"roles": ["office"]})
    response = sso.post("/ogc/collections/licenses/items", json=licence(db),
                        headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403


def test_the_key_server_down_at_first_use_is_503_not_a_pass(settings):
    provider = Provider()
    provider.new_key()
    provider.down = True
    conf = AuthSettings(oidc_issuer=ISSUER, oidc_audience=AUDIENCE, oidc_jwks_url=provider.url)
    authenticator = Authenticator(conf, settings.server.state_dir, settings.database.dsn)
    try:
        with pytest.raises(Unavailable):
            authenticator.authenticate(provider.token(provider.published[0]))
    finally:
        provider.server.shutdown()


def test_a_provider_user_cannot_pose_as_a_local_user_of_the_same_name(sso, provider, tokens,
                                                                      db):
    from tests.support.accounts import inspection, subject_of

    local = sso.post("/ogc/collections/inspections/items", json=inspection(db),
                     headers={"Authorization": f"Bearer {tokens['inspector']}"})
    assert local.status_code == 201
    namesake = provider.token(provider.published[0], sub=subject_of(tokens, "inspector"),
                              realm_access={"roles": ["inspector"]})
    response = sso.patch(local.headers["location"].replace("http://testserver", ""),
                         content=b'{"properties": {"result": "closed"}}',
                         headers={"Authorization": f"Bearer {namesake}",
                                  "If-Match": local.headers["etag"],
                                  "Content-Type": "application/merge-patch+json"})
    assert response.status_code == 403
