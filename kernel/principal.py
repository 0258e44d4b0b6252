"""Who calls: the principal the authorisation layer found for a request (public when none)."""
from __future__ import annotations

from dataclasses import dataclass

PRINCIPAL = "amanat.principal"     # the request scope key the authorisation layer sets


@dataclass(frozen=True)
class Principal:
    """The caller of one request."""

    subject: str
    roles: frozenset[str]
    office: str | None = None
    kind: str = "public"            # public | local | oidc | key
    api_key_id: str | None = None

    @property
    def is_public(self) -> bool:
        """No credentials were given."""
        return self.kind == "public"

    def has(self, *roles: str) -> bool:
        """Whether the caller holds one of these roles."""
        return bool(self.roles.intersection(roles))


PUBLIC = Principal("public", frozenset({"public"}))


def principal_of(scope) -> Principal:
    """The principal the authorisation layer set for this request (public when none)."""
    return scope.get(PRINCIPAL, PUBLIC)


def owner_of(principal: Principal, scope) -> str:
    """A caller's owner key (jobs, limits): the subject when signed in, else the address."""
    if not principal.is_public:
        return principal.subject
    client = scope.get("client")
    return f"ip:{client[0] if client else 'unknown'}"
