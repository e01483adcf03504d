"""Questions a learner asks of the audit trail, answered as tables.

CloudTrail records every KMS request and every rotation; these functions read
``kms.trail`` the way you would query CloudTrail (or Athena over it) and answer with a
`kmssim.core.table.Table`:

- `key_usage`: every call on a key: when, who, which operation, which key material;
- `who_used`: one row per principal: how many calls, which operations, first and last;
- `material_usage`: one row per key-material version: how often it encrypted and
  decrypted, and when it was last needed;
- `rotations`: every rotation of a key, automatic or on demand, and who asked;
- `failed_calls`: every refused call, with the AWS error code and message;
- `events`: any list of audit events as a table.

None of them calls KMS (so asking does not add to the trail) and none shows a secret.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kmssim.core import AuditEvent, Table

if TYPE_CHECKING:
    from kmssim.core import KMS

__all__ = ["key_usage", "who_used", "material_usage", "rotations", "failed_calls", "events",
           "short_principal", "event_key_id", "follow_aliases", "named_key", "ENCRYPTING",
           "DECRYPTING"]

#: Operations that use a key's *current* material to protect something new.
ENCRYPTING = frozenset({"Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
                        "ReEncrypt"})
#: Operations that use whichever material protected the ciphertext they are given.
DECRYPTING = frozenset({"Decrypt"})


def short_principal(principal: str) -> str:
    """``arn:aws:iam::111122223333:user/alice`` → ``user/alice``; a role's session
    ``arn:aws:sts::111122223333:assumed-role/app/kmssim`` → ``assumed-role/app/kmssim``,
    as CloudTrail names the caller (services unchanged)."""
    return principal.split(":", 5)[-1] if principal.startswith(
        ("arn:aws:iam::", "arn:aws:sts::")) else principal


def follow_aliases(event: AuditEvent, aliases: dict[str, str]) -> None:
    """Keep ``aliases`` (alias name → key id) up to date with ``event``; read the trail
    in order with it to know what an alias named at any moment."""
    request = event.request or {}
    if event.error_code is not None:
        return
    if event.name in ("CreateAlias", "UpdateAlias") and event.key_arn:
        aliases[request.get("aliasName", "")] = event.key_arn.rsplit("/", 1)[-1]
    elif event.name == "DeleteAlias":
        aliases.pop(request.get("aliasName", ""), None)
    elif event.name == "DeleteKey" and event.key_arn:
        gone = event.key_arn.rsplit("/", 1)[-1]
        for name in [n for n, key in aliases.items() if key == gone]:
            del aliases[name]


def named_key(event: AuditEvent) -> str | None:
    """The key id, key ARN, alias or alias ARN the request named (ReEncrypt: the
    destination), or None."""
    request = event.request or {}
    named = request.get("destinationKeyId" if event.name == "ReEncrypt" else "keyId")
    return named if isinstance(named, str) else None


def event_key_id(event: AuditEvent, aliases: dict[str, str] | None = None) -> str | None:
    """The id of the key an event concerns: the key it acted on; for a call refused
    before KMS found the key (a parameter error), the key its request names (aliases
    resolved through ``aliases``, see `follow_aliases`), as you would read CloudTrail."""
    if event.key_arn:
        return event.key_arn.rsplit("/", 1)[-1]
    named = named_key(event)
    if named is None:
        return None
    if "alias/" in named:
        return (aliases or {}).get(named[named.index("alias/"):])
    return named.rsplit("/", 1)[-1]


def _uses(event: AuditEvent, key_id: str, aliases: dict[str, str]
          ) -> list[tuple[str, str | None]]:
    """How ``event`` used the key ``key_id``: ``[(role, material id)]``, role being
    ``"key"`` (the key the call acted on) or ``"source"`` (ReEncrypt's source key)."""
    uses = []
    if event_key_id(event, aliases) == key_id:
        uses.append(("key", event.key_material_id))
    request = event.request or {}
    source = request.get("sourceKeyId")
    if isinstance(source, str) and source.rsplit("/", 1)[-1] == key_id:
        uses.append(("source", request.get("sourceKeyMaterialId")))
    return uses


def _calls(kms: KMS, key_id: str) -> list[tuple[AuditEvent, str, str | None]]:
    """Every API call that used the key, with how (see `_uses`), in trail order."""
    aliases: dict[str, str] = {}
    out = []
    for event in kms.trail:
        follow_aliases(event, aliases)
        if event.event_type == "AwsApiCall":
            out += [(event, role, material) for role, material in _uses(event, key_id, aliases)]
    return out


def _context(event: AuditEvent, role: str) -> dict[str, str] | None:
    request = event.request or {}
    if event.name == "ReEncrypt":
        return request.get("sourceEncryptionContext" if role == "source"
                           else "destinationEncryptionContext")
    return request.get("encryptionContext")


def key_usage(kms: KMS, key_id: str, *, since: datetime | None = None,
              until: datetime | None = None, crypto_only: bool = False) -> Table:
    """Every API call on a key (id, ARN or alias; deleted keys by id or ARN), oldest
    first: time, who, operation, key-material version, encryption context, outcome.

    ``crypto_only=True`` keeps only encrypting and decrypting calls. A ReEncrypt shows
    up on both its source key (``ReEncrypt (from)``) and its destination key.
    """
    history = kms.history(key_id)
    numbers = {v.material_id: v.number for v in history.versions}
    rows = []
    for event, role, material in _calls(kms, history.key_id):
        if (since and event.time < since) or (until and event.time > until) \
                or (crypto_only and event.name not in ENCRYPTING | DECRYPTING):
            continue
        rows.append({"time": event.time, "who": short_principal(event.principal),
                         "operation": event.name + (" (from)" if role == "source" else ""),
                         "version": numbers.get(material) if material else None,
                         "context": _context(event, role),
                         "outcome": event.error_code or "ok"})
    return Table.of(("time", "who", "operation", "version", "context", "outcome"), rows,
                    f"calls on {history.key_id}")


def who_used(kms: KMS, key_id: str) -> Table:
    """One row per principal that called on the key: calls, operations, first and
    last call, and how many were refused. Busiest first."""
    key_id = kms.history(key_id).key_id
    seen: dict[str, dict[str, Any]] = {}
    for event, role, _ in _calls(kms, key_id):
        if role == "source" and event.key_arn and event.key_arn.endswith(key_id):
            continue                                # a ReEncrypt onto the same key: once
        who = short_principal(event.principal)
        row = seen.setdefault(who, {"who": who, "calls": 0, "ops": Counter(),
                                    "first": event.time, "refused": 0})
        row["calls"] += 1
        row["ops"][event.name] += 1
        row["last"] = event.time
        row["refused"] += event.error_code is not None
    rows = sorted(seen.values(), key=lambda r: (-r["calls"], r["who"]))
    for row in rows:
        row["operations"] = ", ".join(f"{name} ×{n}" for name, n in sorted(row.pop("ops").items()))
    return Table.of(("who", "calls", "operations", "first", "last", "refused"), rows,
                    f"who used {key_id}")


def material_usage(kms: KMS, key_id: str) -> Table:
    """One row per key-material version: when it was current, how many calls used it
    to encrypt and to decrypt, and the last call that needed it. Old versions keep
    decrypting long after they stop encrypting: that is why KMS keeps them."""
    history = kms.history(key_id)
    encrypted: Counter[str] = Counter()
    decrypted: Counter[str] = Counter()
    last: dict[str, datetime] = {}
    for event, role, material in _calls(kms, history.key_id):
        if event.error_code is not None or material is None:
            continue
        if role == "source" or event.name in DECRYPTING:
            decrypted[material] += 1
        elif event.name in ENCRYPTING:
            encrypted[material] += 1
        else:
            continue
        last[material] = event.time
    rows = [{"version": v.number, "material": v.material_id[:12] + "…",
             "current from": v.created, "until": v.retired,
             "rotation": v.rotation_type or "(original)", "encrypted": encrypted[v.material_id],
             "decrypted": decrypted[v.material_id], "last used": last.get(v.material_id)}
            for v in history.versions]
    return Table.of(("version", "material", "current from", "until", "rotation", "encrypted",
                     "decrypted", "last used"), rows,
                    f"key material of {history.key_id}")


def rotations(kms: KMS, key_id: str) -> Table:
    """Every rotation of a key, oldest first: when, AUTOMATIC or ON_DEMAND, who asked
    (the caller of RotateKeyOnDemand, or KMS's own schedule), and the versions."""
    history = kms.history(key_id)
    numbers = {v.material_id: v.number for v in history.versions}
    requested: dict[datetime, str] = {}
    rows = []
    for event in kms.trail:
        if event.key_arn != history.arn:
            continue
        if event.name == "RotateKeyOnDemand" and event.error_code is None:
            requested[event.time] = short_principal(event.principal)
        elif event.name == "RotateKey":
            details = event.response or {}
            kind = details.get("rotationType")
            rows.append({"time": event.time, "type": kind,
                         "requested by": requested.get(event.time, "?") if kind == "ON_DEMAND"
                         else "KMS (schedule)",
                         "from version": numbers.get(details.get("previousKeyMaterialId", "")),
                         "to version": numbers.get(details.get("currentKeyMaterialId", "")),
                         "new material": (details.get("currentKeyMaterialId") or "")[:12] + "…"})
    return Table.of(("time", "type", "requested by", "from version", "to version",
                     "new material"), rows, f"rotations of {history.key_id}")


def failed_calls(kms: KMS, key_id: str | None = None) -> Table:
    """Every refused call (of one key, or all), oldest first, with AWS's error code
    and message: the first place to look when something stops working."""
    wanted = None if key_id is None else kms.history(key_id).key_id
    aliases: dict[str, str] = {}
    rows = []
    for event in kms.trail:
        follow_aliases(event, aliases)
        if event.error_code is None:
            continue
        concerned = event_key_id(event, aliases)
        if wanted is None or concerned == wanted:
            rows.append({"time": event.time, "who": short_principal(event.principal),
                         "operation": event.name, "key": concerned or named_key(event),
                         "error": event.error_code, "why": event.error_message})
    return Table.of(("time", "who", "operation", "key", "error", "why"), rows,
                    "failed calls" + (f" on {wanted}" if wanted else ""))


def events(trail_events: Iterable[AuditEvent], title: str = "audit events") -> Table:
    """Any audit events (e.g. ``kms.trail.query(...)``) as a table."""
    rows = [{"#": e.sequence, "time": e.time, "event": e.name,
             "type": "service" if e.event_type == "AwsServiceEvent" else "call",
             "who": short_principal(e.principal),
             "key": e.key_arn.rsplit("/", 1)[-1] if e.key_arn else None,
             "material": e.key_material_id[:8] + "…" if e.key_material_id else None,
             "outcome": e.error_code or "ok"} for e in trail_events]
    return Table.of(("#", "time", "event", "type", "who", "key", "material", "outcome"),
                    rows, title)
