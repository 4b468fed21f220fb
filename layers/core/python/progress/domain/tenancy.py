"""Tenants, credentials and xAPI scopes (C§4.2).

A credential belongs to exactly one tenant (TEN-002).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from progress.domain.errors import BadRequest


class Scope(StrEnum):
    """xAPI OAuth scopes (C§4.2 table) applied to Basic credentials too."""

    ALL = "all"
    ALL_READ = "all/read"
    STATEMENTS_WRITE = "statements/write"
    STATEMENTS_READ = "statements/read"
    STATEMENTS_READ_MINE = "statements/read/mine"
    STATE = "state"
    DEFINE = "define"
    PROFILE = "profile"
    # Not xAPI: the internal admin API (/admin). ``admin`` administers its own tenant
    # (credentials, learners' progress, transcripts, exports, rules); ``operator`` runs the
    # service (tenants, dead letters) and may act as admin of any tenant.
    ADMIN = "admin"
    OPERATOR = "operator"


def parse_scopes(text: str) -> frozenset[Scope]:
    """Parse a comma/space separated scope list; name the scope that is unknown."""
    scopes = set()
    for raw in text.replace(",", " ").split():
        try:
            scopes.add(Scope(raw))
        except ValueError:
            known = ", ".join(s.value for s in Scope)
            raise BadRequest(f"scopes: unknown scope {raw!r} (known: {known})") from None
    if not scopes:
        raise BadRequest("scopes: at least one scope is required")
    return frozenset(scopes)


def tenant_hash(tenant_id: str) -> str:
    """The tenant prefix of every stored key: stable, short, and not the tenant's name."""
    return hashlib.sha256(tenant_id.encode()).hexdigest()[:16]


# scrypt: secrets may be human-chosen (LRS_SECRET), so the stored hash must be slow to brute-force.
# Verification results are cached per container (see app.auth), so this cost is paid once.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


def hash_secret(secret: str, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def verify_secret(secret: str, stored: str) -> bool:
    try:
        scheme, salt_hex, digest_hex = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(secret.encode(), salt=bytes.fromhex(salt_hex), **_SCRYPT)
    return hmac.compare_digest(digest.hex(), digest_hex)


@dataclass(frozen=True, slots=True)
class Tenant:
    id: str
    name: str
    created: str


@dataclass(frozen=True, slots=True)
class Credential:
    key: str
    tenant_id: str
    secret_hash: str
    scopes: frozenset[Scope]
    label: str
    created: str
    # A learner's own credential: the agent key (``statements.agent_key``) of the one learner
    # whose progress ``statements/read/mine`` lets it read (their transcript).
    learner: str | None = None


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the tenant whose data the request may touch, and what it may do."""

    tenant_id: str
    key: str
    scopes: frozenset[Scope]
    label: str
    homepage: str
    learner: str | None = None  # the credential's learner, if it is a learner's own

    @property
    def authority(self) -> dict[str, Any]:
        """STMT-092: with Basic credentials the authority is the credential as an Agent."""
        return {
            "objectType": "Agent",
            "name": self.label,
            "account": {"homePage": self.homepage, "name": self.key},
        }

    def may_write_statements(self) -> bool:
        return bool(self.scopes & {Scope.ALL, Scope.STATEMENTS_WRITE})

    def may_read_all_statements(self) -> bool:
        return bool(self.scopes & {Scope.ALL, Scope.ALL_READ, Scope.STATEMENTS_READ})

    def may_read_own_statements(self) -> bool:
        return self.may_read_all_statements() or Scope.STATEMENTS_READ_MINE in self.scopes

    def may_read_progress_of(self, learner: str) -> bool:
        """Every learner's with a statements read scope; a learner credential with
        ``statements/read/mine`` its own learner's only."""
        if self.may_read_all_statements():
            return True
        return Scope.STATEMENTS_READ_MINE in self.scopes and learner == self.learner

    def is_operator(self) -> bool:
        return Scope.OPERATOR in self.scopes

    def may_administer(self, tenant_id: str) -> bool:
        """Operators administer every tenant; ``admin`` credentials their own only (TEN-001)."""
        return self.is_operator() or (Scope.ADMIN in self.scopes and tenant_id == self.tenant_id)

    def may_define(self) -> bool:
        return bool(self.scopes & {Scope.ALL, Scope.DEFINE})

    def may_use_state(self, write: bool) -> bool:
        return bool(self.scopes & {Scope.ALL, Scope.STATE}) or (
            not write and Scope.ALL_READ in self.scopes
        )

    def may_use_profiles(self, write: bool) -> bool:
        return bool(self.scopes & {Scope.ALL, Scope.PROFILE}) or (
            not write and Scope.ALL_READ in self.scopes
        )
