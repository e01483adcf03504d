"""Key lifecycle and alias operations: create, describe, list, enable, disable, delete.

Part of `kmssim.KMS`; each public method is the boto3 KMS client method of the same
name, with the same keyword arguments and response shape.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from kmssim.core import params, policy
from kmssim.core.calls import operation
from kmssim.core.errors import (
    AlreadyExistsException,
    InvalidAliasNameException,
    KMSInvalidStateException,
    LimitExceededException,
    NotFoundException,
    TagException,
    UnsupportedOperationException,
    ValidationException,
)
from kmssim.core.keys import SYMMETRIC, Key, KeyMaterial
from kmssim.core.ops.policies import key_policy_document
from kmssim.core.ops.signing import (
    ECC_CURVES,
    new_private_key,
    private_der,
    signing_algorithms,
)
from kmssim.core.paging import page
from kmssim.core.state import AWS_MANAGED_SERVICES, Service

__all__ = ["KeyOps", "KEY_SPECS"]

#: KeySpec → (allowed KeyUsage values, secret size in bytes or RSA modulus bits).
KEY_SPECS: dict[str, tuple[tuple[str, ...], int]] = {
    SYMMETRIC: (("ENCRYPT_DECRYPT",), 32),
    "RSA_2048": (("ENCRYPT_DECRYPT", "SIGN_VERIFY"), 2048),
    "RSA_3072": (("ENCRYPT_DECRYPT", "SIGN_VERIFY"), 3072),
    "RSA_4096": (("ENCRYPT_DECRYPT", "SIGN_VERIFY"), 4096),
    "ECC_NIST_P256": (("SIGN_VERIFY",), 256),
    "ECC_NIST_P384": (("SIGN_VERIFY",), 384),
    "ECC_NIST_P521": (("SIGN_VERIFY",), 521),
    "ECC_SECG_P256K1": (("SIGN_VERIFY",), 256),
    "HMAC_224": (("GENERATE_VERIFY_MAC",), 28),
    "HMAC_256": (("GENERATE_VERIFY_MAC",), 32),
    "HMAC_384": (("GENERATE_VERIFY_MAC",), 48),
    "HMAC_512": (("GENERATE_VERIFY_MAC",), 64),
}
#: KeySpec values AWS accepts but kmssim does not model: refused as unsupported, not as
#: invalid (so is KeyUsage KEY_AGREEMENT, which AWS allows for ECC_NIST_* keys).
_UNMODELLED_SPECS = ("ECC_NIST_EDWARDS25519", "SM2", "ML_DSA_44", "ML_DSA_65", "ML_DSA_87",
                     "ML_KEM_512", "ML_KEM_768", "ML_KEM_1024")
#: Every KeyUsage AWS knows (the model's enum); which fit a KeySpec is `_USAGES_IN_AWS`.
_KEY_USAGES = ("SIGN_VERIFY", "ENCRYPT_DECRYPT", "GENERATE_VERIFY_MAC", "KEY_AGREEMENT")
#: KeyUsage values AWS allows with each KeySpec family (Developer Guide, "Key spec reference").
_USAGES_IN_AWS = {"RSA": ("ENCRYPT_DECRYPT", "SIGN_VERIFY"), "HMAC": ("GENERATE_VERIFY_MAC",),
                  "SYMMETRIC": ("ENCRYPT_DECRYPT",), "ECC": ("SIGN_VERIFY", "KEY_AGREEMENT")}
#: AWS managed keys' descriptions where a real one is recorded (the AWS CLI's describe-key
#: example, awscli/examples/kms/describe-key.rst); the others follow its pattern.
_MANAGED_DESCRIPTIONS = {
    "s3": "Default KMS key that protects my S3 objects when no other key is defined"}
_ALIAS_NAME = re.compile(r"^alias/[a-zA-Z0-9/_-]+$")
_ALIAS_PATTERN = re.compile(r"^[a-zA-Z0-9:/_-]+$")     # the model's AliasName pattern
_ALIASES_PER_KEY = 50
_TAGS_PER_KEY = 50


class KeyOps(Service):
    """Create, describe, list, enable, disable and delete keys; manage aliases."""

    # -- making keys --------------------------------------------------------
    def _make_key(self, key_spec: str, key_usage: str, description: str, manager: str,
                  *, origin: str = "AWS_KMS", multi_region: bool = False) -> Key:
        # A multi-Region key's id is "mrk-" and 32 hex digits, the same in every Region.
        key_id = "mrk-" + self.entropy.bytes(16).hex() if multi_region else self.entropy.uuid4()
        materials: tuple[KeyMaterial, ...]
        if origin == "EXTERNAL":
            materials = ()          # until the customer imports some (PendingImport)
        elif key_spec.startswith("RSA_") or key_spec in ECC_CURVES:
            # ECC keys come from the seeded stream (the same on every seeded run); RSA keys
            # cannot, so they differ on every run (see kmssim.core.ops.signing).
            secret = private_der(new_private_key(key_spec, self.entropy))
            materials = (KeyMaterial(self.entropy.hex_id(), self.now, None, secret),)
        elif key_spec.startswith("HMAC_"):
            materials = (KeyMaterial(self.entropy.hex_id(), self.now, None,
                                     self.entropy.bytes(KEY_SPECS[key_spec][1])),)
        else:
            materials = (self._new_material(None),)
        key = Key(key_id, self._arn("key/" + key_id), self.now, key_spec, key_usage,
                  description, manager, materials,
                  policy=policy.default_key_policy(self.account_id),
                  ordinal=len(self._keys) + len(self._deleted), origin=origin,
                  multi_region=multi_region, primary_region=self.region if multi_region else None)
        key.set_state("PendingImport" if origin == "EXTERNAL" else "Enabled", self.now)
        self._keys[key_id] = key
        return key

    def _create_aws_managed(self, alias: str) -> Key:
        service = alias[len("alias/aws/"):]
        position = self.entropy.position
        key = self._make_key(SYMMETRIC, "ENCRYPT_DECRYPT", _MANAGED_DESCRIPTIONS.get(
            service, f"Default KMS key that protects my {service} data when no other key "
                     "is defined"), "AWS")
        # AWS managed keys rotate every year, counted from their creation; nobody can
        # change that, so the schedule is set here once and for all.
        entry = self.clock.schedule(key.start_schedule(365, self.now), "rotate", key.key_id)
        self._aliases[alias] = (key.key_id, self.now, self.now)
        # AWS's own policy for it: use through the service, read it directly, manage never.
        key.policy = policy.aws_managed_key_policy(service, self.account_id, self.region)

        def forget() -> None:
            del self._keys[key.key_id], self._aliases[alias]
            self.clock.cancel(entry)
            self.entropy.rewind(position)
            if self._calls[-1].key is key:
                self._calls[-1].key = None

        # The first call that names the alias makes the key; if that call then fails
        # (IncorrectKeyException, say), the key was never made.
        self._undo_on_failure(forget)
        return key

    @operation("CreateKey")
    def create_key(self, Policy: str | None = None, Description: str | None = None,
                   KeyUsage: str | None = None, CustomerMasterKeySpec: str | None = None,
                   KeySpec: str | None = None, Origin: str | None = None,
                   CustomKeyStoreId: str | None = None,
                   BypassPolicyLockoutSafetyCheck: bool | None = None,
                   Tags: list[dict[str, str]] | None = None, MultiRegion: bool | None = None,
                   XksKeyId: str | None = None) -> dict[str, Any]:
        """Create a customer managed KMS key and return its ``KeyMetadata``.

        ``KeySpec`` is ``SYMMETRIC_DEFAULT`` (the default; AES-256-GCM, rotatable),
        ``RSA_2048``/``3072``/``4096`` with ``KeyUsage="ENCRYPT_DECRYPT"`` or
        ``"SIGN_VERIFY"``, ``ECC_NIST_P256``/``P384``/``P521`` or ``ECC_SECG_P256K1``
        with ``KeyUsage="SIGN_VERIFY"``, or ``HMAC_224``/``256``/``384``/``512`` with
        ``KeyUsage="GENERATE_VERIFY_MAC"``. Raises ValidationException for an unknown
        spec or a usage that does not fit it, and UnsupportedOperationException for
        what kmssim does not model (SM2, Ed25519, ML-DSA and ML-KEM keys, KEY_AGREEMENT,
        custom key stores).
        """
        if KeySpec is not None and CustomerMasterKeySpec is not None:
            raise ValidationException("Specify KeySpec or CustomerMasterKeySpec, not both.")
        requested = KeySpec or CustomerMasterKeySpec
        if requested in _UNMODELLED_SPECS:
            raise UnsupportedOperationException(
                f"KeySpec {requested} is valid in AWS, but kmssim does not model it.",
                hint="kmssim simulates SYMMETRIC_DEFAULT, RSA, ECC (NIST P-256/384/521, "
                     "secp256k1) and HMAC keys.")
        spec = params.choice("KeySpec", requested or SYMMETRIC, tuple(KEY_SPECS))
        usages = KEY_SPECS[spec][0]
        if KeyUsage is not None:
            params.choice("KeyUsage", KeyUsage, _KEY_USAGES)
        elif spec != SYMMETRIC:
            raise ValidationException(
                "You must specify a KeyUsage value for all KMS keys except for symmetric "
                "encryption keys.",
                hint=f"For {spec}, add KeyUsage=\"{usages[0]}\".")
        usage = usages[0] if KeyUsage is None else KeyUsage   # never `or`: "" is not None
        if usage == "KEY_AGREEMENT" and spec.startswith("ECC_NIST_"):
            raise UnsupportedOperationException(
                f"KeyUsage KEY_AGREEMENT with {spec} is valid in AWS, but kmssim does not "
                "model it.", hint="kmssim's ECC keys are SIGN_VERIFY keys.")
        if usage not in usages:
            # AWS's wording (recording create_key_key_agreement_with_rsa).
            raise ValidationException(
                f"KeyUsage {usage} is not compatible with KeySpec {spec}",
                hint=f"{spec} keys take KeyUsage "
                     f"{' or '.join(_USAGES_IN_AWS[spec.split('_')[0]])}.")
        description = params.text("Description", "" if Description is None else Description,
                                  high=8192)
        origin = params.choice("Origin", "AWS_KMS" if Origin is None else Origin,
                               ("AWS_KMS", "EXTERNAL", "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE"))
        if origin in ("AWS_CLOUDHSM", "EXTERNAL_KEY_STORE"):
            raise UnsupportedOperationException(
                f"Origin {origin} is valid in AWS, but kmssim does not model it.",
                hint="kmssim models key material from KMS (AWS_KMS) or imported (EXTERNAL); "
                     "custom key stores are not simulated.")
        if origin == "EXTERNAL" and spec != SYMMETRIC:
            raise UnsupportedOperationException(
                f"Origin EXTERNAL with KeySpec {spec} is valid in AWS, but kmssim does not "
                "model it.", hint="kmssim imports material into SYMMETRIC_DEFAULT keys only.")
        multi_region = False if MultiRegion is None else params.flag("MultiRegion", MultiRegion)
        if CustomKeyStoreId is not None or XksKeyId is not None:
            raise UnsupportedOperationException("kmssim does not model custom key stores.")
        tags = self._tags(Tags or [])
        document = None
        if Policy is not None:
            # Checked before the key exists, against a stand-in ARN for the key to be made.
            document = key_policy_document(self, Policy, self._arn("key/*"),
                                           BypassPolicyLockoutSafetyCheck)
        key = self._make_key(spec, usage, description, "CUSTOMER", origin=origin,
                             multi_region=multi_region)
        key.tags.update(tags)
        if document is not None:
            key.policy = document.text
        self._touch(key)
        return {"KeyMetadata": self._metadata(key)}

    @staticmethod
    def _tags(tags: Any, existing: dict[str, str] | None = None) -> dict[str, str]:
        """The tags as a dict, or TagException with AWS's words (recorded for CreateKey
        and TagResource: more than 50, an ``aws:`` prefix in any case, a repeated key)."""
        if not isinstance(tags, list) or not all(
                isinstance(t, dict) and isinstance(t.get("TagKey"), str)
                and isinstance(t.get("TagValue"), str) for t in tags):
            raise ValidationException("Tags must be a list of {'TagKey': str, 'TagValue': str}.")
        keys = [t["TagKey"] for t in tags]
        if any(k.lower().startswith("aws:") for k in keys):
            raise TagException("Tags beginning with aws: are reserved",
                               hint="Tag keys that begin with aws: belong to AWS.")
        if len(set(keys)) != len(keys):
            raise TagException("Duplicate tag keys",
                               hint="Each TagKey may appear once in a request.")
        if len(set(keys) | set(existing or ())) > _TAGS_PER_KEY:
            raise TagException("Too many tags",
                               hint=f"A KMS key can have at most {_TAGS_PER_KEY} tags.")
        return {t["TagKey"]: t["TagValue"] for t in tags}

    def _multi_region_configuration(self, key: Key) -> dict[str, Any]:
        raise NotImplementedError  # pragma: no cover - MultiRegionOps defines it

    def _metadata(self, key: Key) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "AWSAccountId": self.account_id, "KeyId": key.key_id, "Arn": key.arn,
            "CreationDate": key.created, "Enabled": key.state == "Enabled",
            "Description": key.description, "KeyUsage": key.key_usage, "KeyState": key.state,
        }
        if key.state == "PendingDeletion":
            meta["DeletionDate"] = key.deletion_date
        elif key.state == "PendingReplicaDeletion":
            # KeyMetadata.PendingDeletionWindowInDays: present only in this state.
            meta["PendingDeletionWindowInDays"] = key.pending_window_days
        meta.update({"Origin": key.origin, "KeyManager": key.manager,
                     "CustomerMasterKeySpec": key.key_spec, "KeySpec": key.key_spec})
        if key.key_spec.startswith("HMAC_"):
            meta["MacAlgorithms"] = ["HMAC_SHA_" + key.key_spec[5:]]
        elif key.key_usage == "SIGN_VERIFY":
            meta["SigningAlgorithms"] = signing_algorithms(key.key_spec)
        elif key.key_spec.startswith("RSA_"):
            meta["EncryptionAlgorithms"] = ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]
        else:
            meta["EncryptionAlgorithms"] = [SYMMETRIC]
        meta["MultiRegion"] = key.multi_region
        if key.multi_region:
            meta["MultiRegionConfiguration"] = self._multi_region_configuration(key)
        if key.symmetric and key.materials:
            meta["CurrentKeyMaterialId"] = key.current.material_id
            info = key.imports.get(key.current.material_id)
            if info is not None and info.imported:
                meta["ExpirationModel"] = info.expiration_model
                if info.valid_to is not None:
                    meta["ValidTo"] = info.valid_to
        return meta

    # -- looking at keys ----------------------------------------------------
    @operation("DescribeKey", required=("KeyId",))
    def describe_key(self, KeyId: str, GrantTokens: list[str] | None = None) -> dict[str, Any]:
        """Return ``{"KeyMetadata": …}`` for a key id, key ARN, alias name or alias ARN.

        ``alias/aws/<service>`` (e.g. ``alias/aws/s3``) creates that AWS managed key on
        first use, as AWS does. Raises NotFoundException for an unknown key or alias.
        """
        key = self._key(KeyId)
        self._touch(key)
        return {"KeyMetadata": self._metadata(key)}

    @operation("ListKeys")
    def list_keys(self, Limit: int | None = None, Marker: str | None = None,
                  ResourceOwners: list[str] | None = None) -> dict[str, Any]:
        """List the account's keys in this Region (``Keys``, ``Truncated``, ``NextMarker``).

        ``ResourceOwners`` takes ``"SELF"`` and/or ``"OTHER_ACCOUNTS_VIA_RAM"``; kmssim
        models no sharing through RAM, so other accounts contribute no keys.
        """
        owners = ["SELF"] if ResourceOwners is None else ResourceOwners
        if not isinstance(owners, list) or not 1 <= len(owners) <= 2:
            raise ValidationException("ResourceOwners must be a list of one or two values.")
        for owner in owners:
            params.choice("ResourceOwners", owner, ("SELF", "OTHER_ACCOUNTS_VIA_RAM"))
        mine = list(self._keys.values()) if "SELF" in owners else []
        keys, fields = page(mine, Limit, Marker)
        return {"Keys": [{"KeyId": k.key_id, "KeyArn": k.arn} for k in keys], **fields}

    # -- changing keys ------------------------------------------------------
    def _customer_managed(self, key: Key, action: str) -> Key:
        if key.manager == "AWS":
            raise UnsupportedOperationException(
                f"{key.arn} is an AWS managed key. AWS manages its lifecycle and rotation; "
                f"you cannot {action} it.")
        return key

    @operation("EnableKey", required=("KeyId",))
    def enable_key(self, KeyId: str) -> dict[str, Any]:
        """Enable a disabled key (key id or ARN). Returns ``{}``.

        If an automatic rotation fell due while the key was disabled, the key rotates
        at once and then keeps its schedule. Raises KMSInvalidStateException when the
        key is pending deletion.
        """
        key = self._customer_managed(self._not_pending_deletion(self._key(KeyId, aliases=False)),
                                     "enable")
        self._touch(key)
        if key.state == "Enabled":
            return {}
        key.set_state("Enabled", self.now)
        if key.rotation_enabled and key.next_rotation is not None \
                and key.next_rotation <= self.now:
            self._rotate(key, "AUTOMATIC")
            key.rotation_anchor = self.now
            self.clock.schedule(key.advance_schedule(self.now), "rotate", key.key_id)
            self._sync_replicas(key)
        return {}

    @operation("DisableKey", required=("KeyId",))
    def disable_key(self, KeyId: str) -> dict[str, Any]:
        """Disable a key (key id or ARN): every cryptographic use fails with
        DisabledException until `enable_key`. Its rotation setting is kept, but a
        disabled key is not rotated. Returns ``{}``.
        """
        key = self._customer_managed(self._not_pending_deletion(self._key(KeyId, aliases=False)),
                                     "disable")
        self._touch(key)
        if key.state != "Disabled":
            key.set_state("Disabled", self.now)
        return {}

    @operation("UpdateKeyDescription", required=("KeyId", "Description"))
    def update_key_description(self, KeyId: str, Description: str) -> dict[str, Any]:
        """Replace a customer managed key's description. Returns ``{}``."""
        description = params.text("Description", Description, high=8192)
        key = self._customer_managed(self._not_pending_deletion(self._key(KeyId, aliases=False)),
                                     "edit")
        self._touch(key)
        key.description = description
        return {}

    @operation("ScheduleKeyDeletion", required=("KeyId",))
    def schedule_key_deletion(self, KeyId: str,
                              PendingWindowInDays: int | None = None) -> dict[str, Any]:
        """Schedule a key's deletion after a waiting period of 7–30 days (default 30).

        The key becomes ``PendingDeletion`` at once and can no longer be used; when
        the window has passed in simulated time, KMS deletes it with all its key
        material and aliases, and everything encrypted under it is unrecoverable.
        `cancel_key_deletion` stops it until then. A multi-Region primary key that still
        has replicas becomes ``PendingReplicaDeletion`` instead (no ``DeletionDate`` in the
        answer): its waiting period starts when its last replica is deleted. Raises
        ValidationException for a window outside 7–30 and KMSInvalidStateException if
        already pending.
        """
        window = 30 if PendingWindowInDays is None else params.integer(
            "PendingWindowInDays", PendingWindowInDays, 7, 30)
        key = self._customer_managed(self._not_pending_deletion(self._key(KeyId, aliases=False)),
                                     "delete")
        self._touch(key)
        key.pending_window_days = window
        if key.multi_region and not key.is_replica_in(self.region) and key.replica_regions:
            # A primary with replicas waits for them: PendingReplicaDeletion, no date yet;
            # its waiting period starts when the last replica is deleted (API Reference,
            # ScheduleKeyDeletion and ScheduleKeyDeletionResponse.DeletionDate).
            key.set_state("PendingReplicaDeletion", self.now)
            return {"KeyId": key.arn, "KeyState": "PendingReplicaDeletion",
                    "PendingWindowInDays": window}
        key.deletion_date = self.now + timedelta(days=window)
        key.set_state("PendingDeletion", self.now)
        self.clock.schedule(key.deletion_date, "delete", key.key_id)
        return {"KeyId": key.arn, "DeletionDate": key.deletion_date,
                "KeyState": "PendingDeletion", "PendingWindowInDays": window}

    @operation("CancelKeyDeletion", required=("KeyId",))
    def cancel_key_deletion(self, KeyId: str) -> dict[str, Any]:
        """Cancel a scheduled deletion. The key comes back **Disabled**: call
        `enable_key` to use it again. Raises KMSInvalidStateException if the key is
        not pending deletion.
        """
        key = self._key(KeyId, aliases=False)
        if key.state not in ("PendingDeletion", "PendingReplicaDeletion"):
            raise KMSInvalidStateException(f"{key.arn} is not pending deletion.")
        self._touch(key)
        key.deletion_date = None
        key.pending_window_days = None
        key.set_state("Disabled", self.now)
        return {"KeyId": key.arn}

    # -- tags ----------------------------------------------------------------
    @operation("TagResource", required=("KeyId", "Tags"))
    def tag_resource(self, KeyId: str, Tags: list[dict[str, str]]) -> dict[str, Any]:
        """Add or replace tags on a customer managed key. Returns ``{}``."""
        key = self._customer_managed(self._not_pending_deletion(self._key(KeyId, aliases=False)),
                                     "tag")
        tags = self._tags(Tags, key.tags)
        self._touch(key)
        key.tags.update(tags)
        return {}

    @operation("UntagResource", required=("KeyId", "TagKeys"))
    def untag_resource(self, KeyId: str, TagKeys: list[str]) -> dict[str, Any]:
        """Remove tags (by key) from a customer managed key; absent keys are ignored.
        Returns ``{}``."""
        if not isinstance(TagKeys, list) or not all(isinstance(t, str) for t in TagKeys):
            raise ValidationException("TagKeys must be a list of strings.")
        key = self._customer_managed(self._not_pending_deletion(self._key(KeyId, aliases=False)),
                                     "untag")
        self._touch(key)
        for name in TagKeys:
            key.tags.pop(name, None)
        return {}

    @operation("ListResourceTags", required=("KeyId",))
    def list_resource_tags(self, KeyId: str, Limit: int | None = None,
                           Marker: str | None = None) -> dict[str, Any]:
        """List a key's tags (``Tags``, ``Truncated``, ``NextMarker``)."""
        key = self._key(KeyId, aliases=False)
        self._touch(key)
        tags, fields = page(sorted(key.tags.items()), Limit, Marker, default=50, high=50)
        return {"Tags": [{"TagKey": k, "TagValue": v} for k, v in tags], **fields}

    # -- aliases ------------------------------------------------------------
    def _alias_name(self, name: Any, *, creating: bool) -> str:
        name = params.text("AliasName", name, low=1, high=256)
        if not _ALIAS_PATTERN.fullmatch(name):  # "$" alone would let a final "\n" pass
            # The model's pattern: AWS's standard validation error (kmssim.core.params
            # words the others of its kind).
            raise ValidationException(
                f"1 validation error detected: Value '{name}' at 'aliasName' failed to satisfy "
                f"constraint: Member must satisfy regular expression pattern: "
                f"{_ALIAS_PATTERN.pattern}",
                hint="An alias name is alias/ followed by letters, digits, '/', '_' or '-'.")
        if not name.startswith("alias/"):
            raise ValidationException(
                'Alias must start with the prefix "alias/". Please see '
                "https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html",
                hint=f"Write alias/{name}.")
        if name != "alias/" and not _ALIAS_NAME.fullmatch(name):
            # The model's pattern lets ':' through; the service refuses it in these words
            # (a recorded response: terraform-provider-aws issue 12891, for
            # "alias/Service:Test").
            raise ValidationException(
                f"{name} contains invalid characters for an alias",
                hint="After alias/, an alias name may hold letters, digits, '/', '_' and '-' "
                     "only; the ':' that the API's pattern allows is for ARNs.")
        if not _ALIAS_NAME.fullmatch(name):
            raise InvalidAliasNameException(
                f"Alias name {name!r} must begin with 'alias/' followed by letters, digits, "
                "'/', '_' or '-'.")
        if name.startswith("alias/aws/"):
            raise InvalidAliasNameException(
                f"{name} is reserved: names beginning with alias/aws/ belong to AWS managed keys.")
        if creating and name in self._aliases:
            raise AlreadyExistsException(f"An alias with the name {self._arn(name)} already exists")
        if not creating and name not in self._aliases:
            raise NotFoundException(f"Alias {self._arn(name)} is not found.")
        return name

    def _alias_target_key(self, target: Any) -> Key:
        key = self._customer_managed(self._key(target, aliases=False, parameter="TargetKeyId"),
                                     "point an alias at")
        return self._not_pending_deletion(key)

    @operation("CreateAlias", required=("AliasName", "TargetKeyId"))
    def create_alias(self, AliasName: str, TargetKeyId: str) -> dict[str, Any]:
        """Create ``AliasName`` (``alias/…``) for a customer managed key. Returns ``{}``.

        Raises AlreadyExistsException, InvalidAliasNameException (bad or reserved
        ``alias/aws/`` name), NotFoundException, KMSInvalidStateException (key pending
        deletion) or LimitExceededException (50 aliases per key).
        """
        name = self._alias_name(AliasName, creating=True)
        key = self._alias_target_key(TargetKeyId)
        if self._aliases.count_of(key.key_id) >= _ALIASES_PER_KEY:
            raise LimitExceededException(f"{key.arn} already has {_ALIASES_PER_KEY} aliases.")
        self._touch(key)
        self._aliases[name] = (key.key_id, self.now, self.now)
        return {}

    @operation("UpdateAlias", required=("AliasName", "TargetKeyId"))
    def update_alias(self, AliasName: str, TargetKeyId: str) -> dict[str, Any]:
        """Point an existing alias at another customer managed key. Returns ``{}``.

        This is how manual rotation works: applications keep using the alias while
        it moves to a new key. The new key must have the same type (symmetric,
        asymmetric or HMAC) and KeyUsage as the old one (else ValidationException).
        """
        name = self._alias_name(AliasName, creating=False)
        key = self._alias_target_key(TargetKeyId)
        old_id, created, _ = self._aliases[name]
        old = self._keys[old_id]
        if (_family(old.key_spec), old.key_usage) != (_family(key.key_spec), key.key_usage):
            raise ValidationException(
                f"{name} points to a {old.key_spec} key with KeyUsage {old.key_usage}; it can "
                f"only move to a key of the same type and usage, not {key.key_spec}/"
                f"{key.key_usage}.")
        self._touch(key)
        self._aliases[name] = (key.key_id, created, self.now)
        return {}

    @operation("DeleteAlias", required=("AliasName",))
    def delete_alias(self, AliasName: str) -> dict[str, Any]:
        """Delete an alias (the key is unaffected). Returns ``{}``."""
        name = self._alias_name(AliasName, creating=False)
        key = self._keys[self._aliases[name][0]]
        self._note(key)
        self._authorize(key)
        self._touch(key)
        del self._aliases[name]
        return {}

    @operation("ListAliases")
    def list_aliases(self, KeyId: str | None = None, Limit: int | None = None,
                     Marker: str | None = None) -> dict[str, Any]:
        """List aliases (all, or those of one key given by id or ARN), sorted by name.

        As in AWS, the full list includes the predefined ``alias/aws/<service>`` aliases
        of AWS managed keys: without ``TargetKeyId`` (or dates) until a service, or a
        call naming the alias, first uses it and KMS creates the key.
        """
        wanted = None if KeyId is None else self._key(KeyId, aliases=False).key_id
        rows: list[tuple[str, tuple[str, Any, Any] | None]] = [
            (name, entry) for name, entry in self._aliases.items()
            if wanted is None or entry[0] == wanted]
        if wanted is None:
            rows += [(name, None) for name in (f"alias/aws/{s}" for s in AWS_MANAGED_SERVICES)
                     if name not in self._aliases]
        chunk, fields = page(sorted(rows, key=lambda row: row[0]), Limit, Marker)
        listed = []
        for name, entry in chunk:
            alias: dict[str, Any] = {"AliasName": name, "AliasArn": self._arn(name)}
            if entry is not None:
                alias.update(TargetKeyId=entry[0], CreationDate=entry[1],
                             LastUpdatedDate=entry[2])
            listed.append(alias)
        return {"Aliases": listed, **fields}

    def _aliases_of(self, key_id: str) -> list[str]:
        return self._aliases.names_of(key_id)


def _family(key_spec: str) -> str:
    """Symmetric, HMAC or asymmetric: an alias may move only within one (S-ALIAS)."""
    if key_spec == SYMMETRIC or key_spec.startswith("HMAC_"):
        return key_spec.split("_")[0]
    return "asymmetric"


