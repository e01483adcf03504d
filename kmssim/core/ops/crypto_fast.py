"""The fast paths of Encrypt, Decrypt and GenerateDataKey(WithoutPlaintext).

Each is called by the operation's decorator (`kmssim.core.calls.operation`), with the
simulator's lock held, for a call made in-process while no other call is in progress.
It either does the whole call and returns its response, or returns None having changed
nothing, and the call takes the general path, which decides and words every error. It
decides nothing itself; everything it relies on comes from the general path's rules:

* the arguments: the argument names must be a set the general path records in a known
  way (`kmssim.core.calls.call_layout`, derived from the general path's own recording),
  and each value one that the operation's compiled acceptors, and its own checks
  (`kmssim.core.params.blob`, `context`, `choice`), accepted before (a
  `kmssim.core.params.Gate`); an unusual argument (grant tokens, a dry run, an algorithm,
  a KeyId with Decrypt, a number of bytes) is not in those sets;
* the key: found by the key id text it was found by before (the general path's
  resolution, `Service._named_ids`), in the key table now (an alias, a deleted key or a
  multi-Region id takes the general path);
* the key's checks and the authorization: a plan (`Service._plan`) remembered for this
  principal, key and operation, which holds only while the key, its state, its key policy
  and IAM are what they were when the general path's own checks passed and the policies
  allowed the action without looking at any request value (no conditions, no grants);
* the work: the same sealing (`CryptoOps._sealed`) and the same audit record, in the
  trail's packed form (`kmssim.core.trail.AuditTrail.add_call`), as the general path.

A failure of any of these (an AES-GCM tag that does not verify included) hands the call
to the general path before anything changed: the nonce counter and the random stream move
only once the call is certain to succeed.
"""

from __future__ import annotations

from typing import Any

from kmssim.core import blob, params
from kmssim.core._model_shapes import OPERATIONS
from kmssim.core.calls import call_layout
from kmssim.core.errors import InvalidCiphertextException
from kmssim.core.keys import SYMMETRIC, SecretBytes

#: What the fast paths are given: a `kmssim.core.ops.crypto.CryptoOps` (not imported: that
#: module imports this one).
CryptoOps = Any

__all__ = ["fast_encrypt", "fast_decrypt", "fast_generate_data_key",
           "fast_generate_data_key_without_plaintext", "DATA_KEY_SPECS"]

_DATA_KEY_SPECS = {"AES_256": 32, "AES_128": 16}
DATA_KEY_SPECS = _DATA_KEY_SPECS
_UNSEEN = object()
#: What a call without EncryptionContext has: no context's encoding, and no pairs.
_ABSENT = (blob.canonical_context(None), None)


def _gate(operation: str, **extra: Any) -> params.Gate:
    return params.Gate(OPERATIONS[operation]["rules"], extra,
                       encode=blob.canonical_context)


# Each operation's own checks beyond the model, as the general path makes them.
_ENCRYPT = _gate("Encrypt", Plaintext=lambda v: params.blob("Plaintext", v, high=4096))
_DECRYPT = _gate("Decrypt",
                 CiphertextBlob=lambda v: params.blob("CiphertextBlob", v, high=6144))
_DATA_KEY = {
    name: _gate(name, KeySpec=lambda v: params.choice("KeySpec", v, tuple(_DATA_KEY_SPECS)))
    for name in ("GenerateDataKey", "GenerateDataKeyWithoutPlaintext")}
#: The arguments each fast path takes (the others take the general path), and of those,
#: the ones it needs.
_TAKES = {"Encrypt": ({"KeyId", "Plaintext", "EncryptionContext"}, {"KeyId", "Plaintext"}),
          "Decrypt": ({"CiphertextBlob", "EncryptionContext"}, {"CiphertextBlob"}),
          "GenerateDataKey": ({"KeyId", "KeySpec", "EncryptionContext"}, {"KeyId", "KeySpec"}),
          "GenerateDataKeyWithoutPlaintext": ({"KeyId", "KeySpec", "EncryptionContext"},
                                              {"KeyId", "KeySpec"})}


def _layout(kms: CryptoOps, operation: str, names: tuple[str, ...]) -> Any:
    """How a call of ``operation`` with arguments ``names`` is recorded (see
    `kmssim.core.calls.call_layout`), for this simulator's trail; None if the fast path
    does not take such a call."""
    entry = kms._layouts.get((operation, names), _UNSEEN)
    if entry is not _UNSEEN and (entry is None or entry[0] is kms.trail):
        return entry
    takes, needs = _TAKES[operation]
    entry = None
    given = set(names)
    if len(given) == len(names) and given <= takes and needs <= given:
        made = call_layout(operation, names)
        if made is not None:
            request_names, values = made
            entry = (kms.trail, kms.trail.call_head(kms.region, kms.account_id, request_names),
                     values)
    if len(kms._layouts) >= 256:
        kms._layouts.clear()
    kms._layouts[(operation, names)] = entry
    return entry


def _context(gate: params.Gate, context: dict[str, Any]) -> tuple[bytes, Any] | None:
    """The encoded context and its shared pairs, if the context is one accepted before
    (or is accepted now)."""
    try:
        entry = gate.contexts.get(tuple(context.items()))
    except TypeError:  # an unhashable value: not a context of strings
        return None
    return entry if entry is not None else gate.context("EncryptionContext", context)


def fast_encrypt(kms: CryptoOps, kw: dict[str, Any]) -> dict[str, Any] | None:
    """Encrypt's fast path (see the module's docstring)."""
    names = tuple(kw)
    layout = kms._layouts.get(("Encrypt", names), _UNSEEN)
    if layout is _UNSEEN or (layout is not None and layout[0] is not kms.trail):
        layout = _layout(kms, "Encrypt", names)
    if layout is None:
        return None
    gate = _ENCRYPT
    key_ref, plaintext = kw["KeyId"], kw["Plaintext"]
    if not ((type(key_ref) is str and key_ref in gate.texts["KeyId"])
            or gate.text("KeyId", key_ref)):
        return None
    if not ((type(plaintext) is bytes and len(plaintext) in gate.sizes["Plaintext"])
            or gate.size("Plaintext", plaintext)):
        return None
    context = kw.get("EncryptionContext", _UNSEEN)
    if context is _UNSEEN:
        context = _ABSENT
    elif type(context) is not dict or (context := _context(gate, context)) is None:
        return None
    key_id = kms._named_ids.get(key_ref)
    key = None if key_id is None else kms._keys.get(key_id)
    if key is None:
        return None
    principal = kms._acting.get() or kms._principal
    plan = kms._plans.get((principal, key_id, "Encrypt"))
    if (plan is None or plan[0] is not key or plan[1] != key.state
            or plan[2] is not key.policy or plan[3] != kms.iam.version) and not kms._plan(
                principal, key, "Encrypt", "Encrypt", kms._encrypt_checks):
        return None
    material = key.materials[-1]
    sealed = kms._sealed(key, material, plaintext, context[0])
    kms.trail.add_call(kms.clock.now, "Encrypt", principal, key.arn, material.material_id,
                       layout[1], layout[2](kw, context[1]))
    return kms._encrypted(sealed, key, SYMMETRIC)


def fast_decrypt(kms: CryptoOps, kw: dict[str, Any]) -> dict[str, Any] | None:
    """Decrypt's fast path, for symmetric ciphertext without KeyId (see the module)."""
    names = tuple(kw)
    layout = kms._layouts.get(("Decrypt", names), _UNSEEN)
    if layout is _UNSEEN or (layout is not None and layout[0] is not kms.trail):
        layout = _layout(kms, "Decrypt", names)
    if layout is None:
        return None
    gate = _DECRYPT
    ciphertext = kw["CiphertextBlob"]
    if not ((type(ciphertext) is bytes and len(ciphertext) in gate.sizes["CiphertextBlob"])
            or gate.size("CiphertextBlob", ciphertext)):
        return None
    context = kw.get("EncryptionContext", _UNSEEN)
    if context is _UNSEEN:
        context = _ABSENT
    elif type(context) is not dict or (context := _context(gate, context)) is None:
        return None
    try:
        parsed = blob.parse(ciphertext)
    except InvalidCiphertextException:
        return None
    key = kms._keys.get(parsed.key_id)
    if key is None:
        return None
    material = key.materials[-1] if key.materials else None
    if material is None or material.material_id != parsed.material_id:
        material = key.material(parsed.material_id)    # older data: an earlier material
        if material is None:
            return None
    principal = kms._acting.get() or kms._principal
    plan = kms._plans.get((principal, parsed.key_id, "Decrypt"))
    if (plan is None or plan[0] is not key or plan[1] != key.state
            or plan[2] is not key.policy or plan[3] != kms.iam.version) and not kms._plan(
                principal, key, "Decrypt", "Decrypt", kms._decryptable):
        return None
    try:
        cipher = kms._ciphers.get(material.material_id) or kms._aesgcm(material)
        plaintext = cipher.decrypt(parsed.nonce, parsed.body,
                                                  parsed.header + context[0])
    except Exception:  # noqa: BLE001 - InvalidTag and the like: the general path words it
        return None
    if parsed.data_key:
        plaintext = SecretBytes(plaintext)
    kms.trail.add_call(kms.clock.now, "Decrypt", principal, key.arn, material.material_id,
                       layout[1], layout[2](kw, context[1]))
    return kms._decrypted(key, plaintext, material)


def _fast_data_key(kms: CryptoOps, kw: dict[str, Any], operation: str,
                   plaintext_too: bool) -> dict[str, Any] | None:
    names = tuple(kw)
    layout = kms._layouts.get((operation, names), _UNSEEN)
    if layout is _UNSEEN or (layout is not None and layout[0] is not kms.trail):
        layout = _layout(kms, operation, names)
    if layout is None:
        return None
    gate = _DATA_KEY[operation]
    key_ref, spec = kw["KeyId"], kw["KeySpec"]
    if not ((type(key_ref) is str and key_ref in gate.texts["KeyId"])
            or gate.text("KeyId", key_ref)):
        return None
    if not ((type(spec) is str and spec in gate.texts["KeySpec"])
            or gate.text("KeySpec", spec)):
        return None
    context = kw.get("EncryptionContext", _UNSEEN)
    if context is _UNSEEN:
        context = _ABSENT
    elif type(context) is not dict or (context := _context(gate, context)) is None:
        return None
    key_id = kms._named_ids.get(key_ref)
    key = None if key_id is None else kms._keys.get(key_id)
    if key is None:
        return None
    principal = kms._acting.get() or kms._principal
    plan = kms._plans.get((principal, key_id, operation))
    if (plan is None or plan[0] is not key or plan[1] != key.state
            or plan[2] is not key.policy or plan[3] != kms.iam.version) and not kms._plan(
                principal, key, operation, operation,
                lambda k: kms._data_key_checks(k, operation)):
        return None
    material = key.materials[-1]
    data_key = SecretBytes(kms.entropy.bytes(_DATA_KEY_SPECS[spec]))
    wrapped = kms._sealed(key, material, data_key, context[0])
    kms.trail.add_call(kms.clock.now, operation, principal, key.arn, material.material_id,
                       layout[1], layout[2](kw, context[1]))
    return kms._data_key_response(key, data_key if plaintext_too else None, wrapped)


def fast_generate_data_key(kms: CryptoOps, kw: dict[str, Any]) -> dict[str, Any] | None:
    """GenerateDataKey's fast path, for a KeySpec (see the module's docstring)."""
    return _fast_data_key(kms, kw, "GenerateDataKey", True)


def fast_generate_data_key_without_plaintext(kms: CryptoOps,
                                             kw: dict[str, Any]) -> dict[str, Any] | None:
    """GenerateDataKeyWithoutPlaintext's fast path (see the module's docstring)."""
    return _fast_data_key(kms, kw, "GenerateDataKeyWithoutPlaintext", False)
