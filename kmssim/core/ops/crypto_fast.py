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
  a KeyId with Decrypt, a number of bytes, a Plaintext that is not exactly ``bytes``) is not
  in those sets;
* the key: found by the key id text it was found by before (the general path's
  resolution, `Service._named_ids`), in the key table now (an alias, a deleted key or a
  multi-Region id takes the general path);
* the key's checks and the authorization: a plan (`Service._plan`) remembered for this
  principal, key and operation, which holds only while the key, its state, its key policy
  and IAM are what they were when the general path's own checks passed and the policies
  allowed the action without looking at any request value (no conditions, no grants);
* the work: the same sealing (`CryptoOps._sealed`) and the same audit record, in the
  trail's packed form (`kmssim.core.trail.AuditTrail.packed_call`), as the general path.

What these steps found for a request is remembered, so that the same request again (same
principal, argument names, KeyId or blob ids, KeySpec and context) is one lookup, used
only while everything it depends on is as it was (`_holds`).

A failure of any of these (an AES-GCM tag that does not verify included) hands the call
to the general path before anything changed: the nonce counter and the random stream move
only once the call is certain to succeed.
"""

from __future__ import annotations

from typing import Any

from cryptography.exceptions import InvalidTag

from kmssim.core import blob, params
from kmssim.core._model_shapes import OPERATIONS
from kmssim.core.calls import call_layout
from kmssim.core.errors import InvalidCiphertextException
from kmssim.core.keys import SYMMETRIC, SecretBytes

#: What the fast paths are given: a `kmssim.core.ops.crypto.CryptoOps` (not imported: that
#: module imports this one).
CryptoOps = Any

__all__ = ["fast_encrypt", "fast_decrypt", "fast_data_key", "DATA_KEY_SPECS"]

_DATA_KEY_SPECS = {"AES_256": 32, "AES_128": 16}
DATA_KEY_SPECS = _DATA_KEY_SPECS
_UNSEEN = object()
#: Stands for the data key in a remembered GenerateDataKey response.
_NO_KEY = SecretBytes()
#: What a call without EncryptionContext has: no context's encoding, and no pairs.
_ABSENT = (blob.canonical_context(None), None)


def _gate(operation: str, **extra: Any) -> params.Gate:
    return params.Gate(OPERATIONS[operation]["rules"], extra,
                       encode=blob.canonical_context)


# Each operation's own checks beyond the model, as the general path makes them.
_ENCRYPT = _gate("Encrypt", Plaintext=lambda v: params.blob("Plaintext", v, high=4096))
_DECRYPT = _gate("Decrypt",
                 CiphertextBlob=lambda v: params.blob("CiphertextBlob", v, high=6144))
_ENCRYPT_SIZES = _ENCRYPT.sizes["Plaintext"]
_DECRYPT_SIZES = _DECRYPT.sizes["CiphertextBlob"]
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


def _context(gate: params.Gate, kw: dict[str, Any]) -> tuple[bytes, Any] | None:
    """The encoded context and its shared pairs, if the context is one accepted before
    (or is accepted now); `_ABSENT` when none is given."""
    context = kw.get("EncryptionContext", _UNSEEN)
    if context is _UNSEEN:
        return _ABSENT
    if type(context) is not dict:
        return None
    try:
        entry = gate.contexts.get(tuple(context.items()))
    except Exception:  # noqa: BLE001 - an unhashable or odd value: not a context of strings
        return None
    return entry if entry is not None else gate.context("EncryptionContext", context)


def _text(gate: params.Gate, member: str, value: Any) -> bool:
    return (type(value) is str and value in gate.texts[member]) or gate.text(member, value)


def _size(gate: params.Gate, member: str, value: Any) -> bool:
    return (type(value) is bytes and len(value) in gate.sizes[member]) \
        or gate.size(member, value)


def _planned(kms: CryptoOps, principal: str, key: Any, operation: str, check: Any) -> bool:
    plan = kms._plans.get((principal, key.key_id, operation))
    return (plan is not None and plan[0] is key and plan[1] == key.state
            and plan[2] is key.policy and plan[3] == kms.iam.version) \
        or kms._plan(principal, key, operation, operation, check)


def _holds(kms: CryptoOps, entry: tuple[Any, ...], material: Any) -> bool:
    """Whether everything a remembered entry depends on is as it was: its key still in
    the key table, with the same state, key policy and ``material`` (the key's current
    material; for Decrypt, its list of materials), the same IAM and the same trail.
    (A deleted key also changes state; the key table is asked all the same.)"""
    key = entry[0]
    return (kms._keys.get(key.key_id) is key and key.state == entry[1]
            and key.policy is entry[2] and kms.iam.version == entry[3]
            and kms.trail is entry[4] and material is entry[5])


def _remember(kms: CryptoOps, request: tuple[Any, ...], entry: tuple[Any, ...]) -> None:
    if len(kms._fast_calls) >= 4096:   # bounded, whatever the callers send
        kms._fast_calls.clear()
    kms._fast_calls[request] = entry


# -- the requests seen before -------------------------------------------------------
# A fast path first looks the request up by who sends it, its argument names (in order:
# the audit record follows it) and the values that decide everything but the data: the
# KeyId text (or the blob's key and material ids), the KeySpec, the context's pairs. The
# entry is what the checks below found for that request, with what they depend on; it is
# used only while those are unchanged: the key is still in the key table, in the same
# state, with the same key policy and material, IAM is the same, the trail is the same.
# Any difference, or a request not seen, goes through the checks again (`_*_entry`).


def _encrypt_entry(kms: CryptoOps, kw: dict[str, Any],
                   request: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """What Encrypt's checks say about ``request`` (see above), or None."""
    layout = _layout(kms, "Encrypt", request[1])
    if layout is None or not _text(_ENCRYPT, "KeyId", kw["KeyId"]):
        return None
    context = _context(_ENCRYPT, kw)
    if context is None:
        return None
    key_id = kms._named_ids.get(kw["KeyId"])
    key = None if key_id is None else kms._keys.get(key_id)
    if key is None or not _planned(kms, request[0], key, "Encrypt", kms._encrypt_checks):
        return None
    material = key.materials[-1]
    entry = (key, key.state, key.policy, kms.iam.version, kms.trail, material,
             kms._sealer(key, material, False), context[0],
             kms.trail.packed_call("Encrypt", request[0], key.arn, material.material_id,
                                   layout[1], layout[2](kw, context[1])),
             kms._encrypted(b"", key, SYMMETRIC))
    _remember(kms, request, entry)
    return entry


def fast_encrypt(kms: CryptoOps, kw: dict[str, Any], _: str) -> dict[str, Any] | None:
    """Encrypt's fast path (see the module's docstring)."""
    context = kw.get("EncryptionContext")
    if context is not None and type(context) is not dict:
        return None
    try:
        request = (kms._acting.get() or kms._principal, tuple(kw), kw.get("KeyId"),
                   None if context is None else tuple(context.items()))
        entry = kms._fast_calls.get(request)
    except Exception:  # noqa: BLE001 - something unhashable or odd: the general path decides
        return None
    if entry is None or not _holds(kms, entry, entry[0].materials[-1]):
        entry = _encrypt_entry(kms, kw, request)
        if entry is None:
            return None
    plaintext = kw["Plaintext"]
    # Other bytes-like values (a `SecretBytes`, marked as a data key) take the general path.
    if type(plaintext) is not bytes or not (len(plaintext) in _ENCRYPT_SIZES
                                            or _ENCRYPT.size("Plaintext", plaintext)):
        return None
    sealed = kms._sealed(entry[6], plaintext, entry[7])
    kms.trail.add_packed(kms.clock.now, entry[8])
    response = entry[9].copy()   # `CryptoOps._encrypted`'s response, made with this key
    response["CiphertextBlob"] = sealed
    return response


def _decrypt_entry(kms: CryptoOps, kw: dict[str, Any],
                   request: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """What Decrypt's checks say about ``request`` (see above), or None."""
    layout = _layout(kms, "Decrypt", request[1])
    if layout is None:
        return None
    parsed = blob.parse(kw["CiphertextBlob"])
    context = _context(_DECRYPT, kw)
    if context is None:
        return None
    key = kms._keys.get(parsed.key_id)
    material = None if key is None else key.material(parsed.material_id)
    if material is None or not _planned(kms, request[0], key, "Decrypt", kms._decryptable):
        return None
    try:
        cipher = kms._aesgcm(material)
    except Exception:  # noqa: BLE001 - material without a secret: the general path decides
        return None
    entry = (key, key.state, key.policy, kms.iam.version, kms.trail, key.materials, material,
             cipher, context[0],
             kms.trail.packed_call("Decrypt", request[0], key.arn, material.material_id,
                                   layout[1], layout[2](kw, context[1])),
             parsed.data_key, kms._decrypted(key, b"", material))
    _remember(kms, request, entry)
    return entry


def fast_decrypt(kms: CryptoOps, kw: dict[str, Any], _: str) -> dict[str, Any] | None:
    """Decrypt's fast path, for symmetric ciphertext without KeyId (see the module)."""
    ciphertext = kw.get("CiphertextBlob")
    if not (type(ciphertext) is bytes and len(ciphertext) in _DECRYPT_SIZES) \
            and not _DECRYPT.size("CiphertextBlob", ciphertext):
        return None
    try:
        start, nonce, header, body = blob.split(ciphertext)
    except InvalidCiphertextException:
        return None
    context = kw.get("EncryptionContext")
    if context is not None and type(context) is not dict:
        return None
    try:
        # ``start`` names the key and material (and whether the plaintext is a data key).
        request = (kms._acting.get() or kms._principal, tuple(kw), start,
                   None if context is None else tuple(context.items()))
        entry = kms._fast_calls.get(request)
    except Exception:  # noqa: BLE001 - something unhashable or odd: the general path decides
        return None
    # The materials list is replaced when a material changes (an imported one dropped),
    # not when rotation adds one, which older ciphertext does not care about.
    if entry is None or not _holds(kms, entry, entry[0].materials):
        entry = _decrypt_entry(kms, kw, request)
        if entry is None:
            return None
    try:
        plaintext = entry[7].decrypt(nonce, body, header + entry[8])
    except InvalidTag:  # the general path words it
        return None
    kms.trail.add_packed(kms.clock.now, entry[9])
    response = entry[11].copy()   # `CryptoOps._decrypted`'s response, with this material
    response["Plaintext"] = SecretBytes(plaintext) if entry[10] else plaintext
    return response


def _data_key_entry(kms: CryptoOps, kw: dict[str, Any], request: tuple[Any, ...],
                    operation: str) -> tuple[Any, ...] | None:
    """What GenerateDataKey(WithoutPlaintext)'s checks say about ``request``, or None."""
    gate = _DATA_KEY[operation]
    layout = _layout(kms, operation, request[1])
    if layout is None or not _text(gate, "KeyId", kw["KeyId"]) \
            or not _text(gate, "KeySpec", kw["KeySpec"]):
        return None
    context = _context(gate, kw)
    if context is None:
        return None
    key_id = kms._named_ids.get(kw["KeyId"])
    key = None if key_id is None else kms._keys.get(key_id)
    if key is None or not _planned(kms, request[0], key, operation,
                                   lambda k: kms._data_key_checks(k, operation)):
        return None
    material = key.materials[-1]
    entry = (key, key.state, key.policy, kms.iam.version, kms.trail, material,
             kms._sealer(key, material, True), context[0],
             kms.trail.packed_call(operation, request[0], key.arn, material.material_id,
                                   layout[1], layout[2](kw, context[1])),
             _DATA_KEY_SPECS[kw["KeySpec"]],
             kms._data_key_response(key, _NO_KEY if operation == "GenerateDataKey" else None,
                                    b""))
    _remember(kms, request, entry)
    return entry


def fast_data_key(kms: CryptoOps, kw: dict[str, Any],
                  operation: str) -> dict[str, Any] | None:
    """GenerateDataKey's and GenerateDataKeyWithoutPlaintext's fast path, for a KeySpec
    (see the module's docstring)."""
    context = kw.get("EncryptionContext")
    if context is not None and type(context) is not dict:
        return None
    try:
        request = (kms._acting.get() or kms._principal, tuple(kw), operation, kw.get("KeyId"),
                   kw.get("KeySpec"), None if context is None else tuple(context.items()))
        entry = kms._fast_calls.get(request)
    except Exception:  # noqa: BLE001 - something unhashable or odd: the general path decides
        return None
    if entry is None or not _holds(kms, entry, entry[0].materials[-1]):
        entry = _data_key_entry(kms, kw, request, operation)
        if entry is None:
            return None
    data_key = kms.entropy.bytes(entry[9])
    wrapped = kms._sealed(entry[6], data_key, entry[7])   # (sealed as a data key)
    kms.trail.add_packed(kms.clock.now, entry[8])
    # `CryptoOps._data_key_response`'s response, made with this key and material
    response = entry[10].copy()
    response["CiphertextBlob"] = wrapped
    if "Plaintext" in response:
        response["Plaintext"] = SecretBytes(data_key)
    return response
