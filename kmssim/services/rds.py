"""Amazon RDS: DB instances with encrypted storage, snapshots, and moving to another key.

``RDS(kms)`` is shaped like ``boto3.client("rds")`` for the calls that matter to KMS.
An encrypted instance's storage is encrypted locally with a data key that KMS made under
``aws/rds`` or ``KmsKeyId``, with the encryption context ``{"aws:rds:db-id":
<DbiResourceId>}`` (KMS Developer Guide, "How Amazon RDS uses AWS KMS").

RDS uses the key **through a grant**, as AWS services that encrypt data at rest do (KMS
Developer Guide, "Grants in AWS KMS": "The service creates a grant on behalf of a user in
the account, uses its permissions, and retires the grant as soon as its task is
complete"). Creating an encrypted instance takes, from the caller, ``kms:DescribeKey``
and ``kms:CreateGrant`` on the key (RDS User Guide, "AWS KMS key management"), requested
through RDS (``kms:ViaService`` is ``rds.<region>.amazonaws.com``). So:

1. the caller, through RDS: ``DescribeKey``, then ``CreateGrant`` for RDS's service
   principal ``rds.<region>.amazonaws.com`` (grantee and retiring principal, as AWS's
   ListGrants example shows a service's grant), for the operations RDS needs
   (`GRANT_OPERATIONS`), constrained to the instance's encryption context;
2. RDS itself, under the grant (its grant token at first): ``GenerateDataKeyWithoutPlaintext``
   for the storage's data key, and ``Decrypt`` to put the data key in the host's memory, as
   EBS does for the volumes RDS builds on (KMS Developer Guide, "Amazon EC2 example two");
3. the grant stays while the instance exists, because every reboot ``Decrypt``s the data key
   again; ``DeleteDBInstance`` retires it. Copying a snapshot to another key and restoring
   one use short-lived grants, retired at the end of the call.

Reads and writes of rows make no KMS call. A reboot is when a disabled key bites (the
instance becomes ``inaccessible-encryption-credentials``). The grants' exact operations
and constraints are not published by AWS: `GRANT_OPERATIONS` and the ``aws:rds:db-id``
constraint are kmssim's choice, modelled on the documented EBS grant (an
``EncryptionContextSubset`` on the volume id).

Rotating the KMS key needs nothing from RDS: the wrapped data key names its key
material. To move a database to *another* key (a manual rotation, or leaving
``aws/rds``, which you cannot manage), copy a snapshot with a new ``KmsKeyId`` and
restore an instance from the copy; ``ModifyDBInstance`` cannot change the key.
`database` gives the instance's `Database` for logging in and reading rows.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kmssim.core.errors import KMSError
from kmssim.services.caller import AWSService, api
from kmssim.services.database import Database, DatabaseError
from kmssim.services.errors import AWSServiceError
from kmssim.services.errors import RDSExceptions as Errors

if TYPE_CHECKING:
    from kmssim.core import KMS, CiphertextInfo

__all__ = ["RDS", "EncryptedVolume", "GRANT_OPERATIONS"]

_DEFAULT_KEY = "alias/aws/rds"
_INACCESSIBLE = "inaccessible-encryption-credentials"
#: What RDS's grant lets it do with the key (kmssim's choice; AWS does not publish RDS's
#: grant, and these are the operations RDS's data-key handling uses, plus DescribeKey and
#: the grant operations a service's grant carries).
GRANT_OPERATIONS = ["Decrypt", "GenerateDataKeyWithoutPlaintext", "ReEncryptFrom",
                    "ReEncryptTo", "DescribeKey", "CreateGrant", "RetireGrant"]


class EncryptedVolume:
    """An instance's storage: pages, AES-256-GCM-encrypted under the data key if the
    storage is encrypted (stored plain otherwise)."""

    def __init__(self, kms: KMS, pages: dict[str, bytes], data_key: bytes | None,
                 encrypted: bool) -> None:
        self._kms = kms
        self.pages = pages
        self.encrypted = encrypted
        self._cipher = AESGCM(data_key) if data_key is not None else None

    def names(self) -> list[str]:
        return sorted(self.pages)

    def read(self, name: str) -> bytes | None:
        page = self.pages.get(name)
        if page is None or not self.encrypted:
            return page
        if self._cipher is None:
            raise DatabaseError("the storage's data key is not available (KMS key "
                                "inaccessible)")
        return self._cipher.decrypt(page[:12], page[12:], name.encode())

    def write(self, name: str, data: bytes) -> None:
        if not self.encrypted:
            self.pages[name] = bytes(data)
            return
        if self._cipher is None:
            raise DatabaseError("the storage's data key is not available (KMS key "
                                "inaccessible)")
        nonce = self._kms.entropy.bytes(12)
        self.pages[name] = nonce + self._cipher.encrypt(nonce, data, name.encode())

    def plain_pages(self) -> dict[str, bytes]:
        """Every page decrypted (for copying storage to another data key)."""
        return {name: self.read(name) or b"" for name in self.pages}


@dataclass(slots=True)
class _Storage:
    """What an instance or snapshot holds: pages and, if encrypted, the wrapped data key."""

    pages: dict[str, bytes]
    encrypted: bool
    key_arn: str | None = None
    wrapped_key: bytes = field(default=b"", repr=False)
    context: dict[str, str] = field(default_factory=dict)
    grant_id: str | None = None     # an instance's grant for RDS on its key


@dataclass(slots=True)
class _Instance:
    identifier: str
    arn: str
    dbi: str
    engine: str
    instance_class: str
    master_username: str
    created: datetime
    allocated: int
    storage: _Storage
    database: Database
    status: str = "available"


@dataclass(slots=True)
class _Snapshot:
    identifier: str
    arn: str
    instance: _Instance          # what it was taken from (engine, users, dbi)
    created: datetime
    storage: _Storage
    source: str | None = None


class RDS(AWSService):
    """A simulated Amazon RDS on top of a `kmssim.KMS`.

    >>> from kmssim import KMS
    >>> kms = KMS(seed=6); rds = RDS(kms)
    >>> rds.create_db_instance(DBInstanceIdentifier="orders", MasterUserPassword="pw-1",
    ...                        StorageEncrypted=True)["DBInstance"]["StorageEncrypted"]
    True
    >>> rds.database("orders").connect("admin", "pw-1").put("order-1", "3 apples")
    """

    service = "rds"
    exceptions = Errors
    invalid_parameter = Errors.InvalidParameterValue

    def __init__(self, kms: KMS) -> None:
        super().__init__(kms)
        self._instances: dict[str, _Instance] = {}
        self._snapshots: dict[str, _Snapshot] = {}

    def _kms_failure(self, error: KMSError) -> AWSServiceError:
        return Errors.KMSKeyNotAccessibleFault(
            f"The specified KMS key is not accessible ({error.code}): {error.message}")

    # -- finding ------------------------------------------------------------------------
    def _instance(self, identifier: Any) -> _Instance:
        instance = self._instances.get(identifier.lower()) if isinstance(identifier, str) \
            else None
        if instance is None:
            raise Errors.DBInstanceNotFoundFault(f"DBInstance {identifier} not found.")
        return instance

    def _snapshot(self, identifier: Any) -> _Snapshot:
        snapshot = self._snapshots.get(identifier.lower()) if isinstance(identifier, str) \
            else None
        if snapshot is None and isinstance(identifier, str):
            snapshot = next((s for s in self._snapshots.values() if s.arn == identifier), None)
        if snapshot is None:
            raise Errors.DBSnapshotNotFoundFault(f"DBSnapshot {identifier} not found.")
        return snapshot

    @staticmethod
    def _identifier(value: Any, what: str) -> str:
        if not isinstance(value, str) or not value or not value[0].isalpha() \
                or not value.replace("-", "").isalnum() or len(value) > 63 or "--" in value:
            raise Errors.InvalidParameterValue(
                f"{what} {value!r} is not valid: 1–63 letters, digits or hyphens, starting "
                "with a letter.")
        return value.lower()

    # -- storage and keys ---------------------------------------------------------------------
    def _new_dbi(self) -> str:
        return "db-" + base64.b32encode(self.kms.entropy.bytes(20)).decode()[:26]

    @property
    def service_principal(self) -> str:
        """RDS's service principal in this Region: the grantee of its grants, and the
        caller of the KMS requests RDS makes under them."""
        return self._endpoint

    def _grant(self, key_id: str, context: dict[str, str]) -> tuple[str, str, str]:
        """As the caller, through RDS: DescribeKey, then a grant for RDS on the key,
        constrained to ``context``. Returns (key ARN, grant id, grant token)."""
        key_arn = self.kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]
        grant = self.kms.create_grant(
            KeyId=key_arn, GranteePrincipal=self.service_principal,
            RetiringPrincipal=self.service_principal, Operations=list(GRANT_OPERATIONS),
            Constraints={"EncryptionContextSubset": dict(context)})
        return key_arn, grant["GrantId"], grant["GrantToken"]

    def _retire(self, key_arn: str | None, grant_id: str | None) -> None:
        """RDS retires its grant (as its retiring principal)."""
        if key_arn is None or grant_id is None:
            return
        with self.kms.acting_as(self.service_principal):
            self.kms.retire_grant(KeyId=key_arn, GrantId=grant_id)

    def _wrap(self, key_id: str, context: dict[str, str], *, keep: bool = False
              ) -> tuple[bytes, _Storage]:
        """A fresh data key under ``key_id``, through a grant for RDS: (plaintext, storage
        record without pages). ``keep`` keeps the grant (an instance's); otherwise RDS
        retires it once the data key is made."""
        key_arn, grant_id, token = self._grant(key_id, context)
        try:
            with self.kms.acting_as(self.service_principal):
                wrapped = self.kms.generate_data_key_without_plaintext(
                    KeyId=key_arn, KeySpec="AES_256", EncryptionContext=context,
                    GrantTokens=[token])["CiphertextBlob"]
                plaintext = self.kms.decrypt(CiphertextBlob=wrapped, EncryptionContext=context,
                                             GrantTokens=[token])["Plaintext"]
        except KMSError:
            self._retire(key_arn, grant_id)
            raise
        if not keep:
            self._retire(key_arn, grant_id)
        return plaintext, _Storage({}, True, key_arn, wrapped, context,
                                   grant_id if keep else None)

    def _unwrap(self, storage: _Storage, token: str | None = None) -> bytes | None:
        """RDS decrypts the storage's data key, under its grant."""
        if not storage.encrypted:
            return None
        with self.kms.acting_as(self.service_principal):
            return self.kms.decrypt(CiphertextBlob=storage.wrapped_key,
                                    EncryptionContext=storage.context,
                                    **({"GrantTokens": [token]} if token else {})
                                    )["Plaintext"]

    def _reading(self, storage: _Storage) -> bytes | None:
        """The plaintext data key of a snapshot's storage, through a short-lived grant."""
        if not storage.encrypted:
            return None
        key_arn, grant_id, token = self._grant(str(storage.key_arn), storage.context)
        try:
            return self._unwrap(storage, token)
        finally:
            self._retire(key_arn, grant_id)

    def _rekey(self, source: _Storage, key_id: str, context: dict[str, str]) -> _Storage:
        """``source``'s pages re-encrypted under a fresh data key from ``key_id``."""
        pages = EncryptedVolume(self.kms, source.pages, self._reading(source),
                                source.encrypted).plain_pages()
        data_key, target = self._wrap(key_id, context)
        volume = EncryptedVolume(self.kms, target.pages, data_key, True)
        for name, data in pages.items():
            volume.write(name, data)
        return target

    def _attach(self, identifier: str, dbi: str, storage: _Storage, data_key: bytes | None,
                **settings: Any) -> _Instance:
        volume = EncryptedVolume(self.kms, storage.pages, data_key, storage.encrypted)
        database = Database(identifier, engine=settings["engine"], storage=volume)
        instance = _Instance(identifier, self._arn(f"db:{identifier}"), dbi, settings["engine"],
                             settings["instance_class"], settings["master_username"],
                             self.kms.now, settings["allocated"], storage, database)
        self._instances[identifier] = instance
        return instance

    # -- descriptions ---------------------------------------------------------------------------
    def _describe_instance(self, instance: _Instance) -> dict[str, Any]:
        described: dict[str, Any] = {
            "DBInstanceIdentifier": instance.identifier,
            "DBInstanceClass": instance.instance_class, "Engine": instance.engine,
            "DBInstanceStatus": instance.status, "MasterUsername": instance.master_username,
            "Endpoint": {"Address": instance.database.host, "Port": instance.database.port},
            "AllocatedStorage": instance.allocated, "InstanceCreateTime": instance.created,
            "StorageEncrypted": instance.storage.encrypted}
        if instance.storage.encrypted:
            described["KmsKeyId"] = instance.storage.key_arn
        described.update(DbiResourceId=instance.dbi, DBInstanceArn=instance.arn)
        return described

    def _describe_snapshot(self, snapshot: _Snapshot) -> dict[str, Any]:
        described: dict[str, Any] = {
            "DBSnapshotIdentifier": snapshot.identifier,
            "DBInstanceIdentifier": snapshot.instance.identifier,
            "SnapshotCreateTime": snapshot.created, "Engine": snapshot.instance.engine,
            "AllocatedStorage": snapshot.instance.allocated, "Status": "available",
            "Port": snapshot.instance.database.port,
            "MasterUsername": snapshot.instance.master_username,
            "InstanceCreateTime": snapshot.instance.created, "SnapshotType": "manual",
            "Encrypted": snapshot.storage.encrypted}
        if snapshot.storage.encrypted:
            described["KmsKeyId"] = snapshot.storage.key_arn
        described.update(DBSnapshotArn=snapshot.arn, DbiResourceId=snapshot.instance.dbi)
        if snapshot.source is not None:
            described["SourceDBSnapshotIdentifier"] = snapshot.source
        return described

    # -- instances ------------------------------------------------------------------------------
    @api("CreateDBInstance", required=("DBInstanceIdentifier",),
         resource="DBInstanceIdentifier")
    def create_db_instance(self, DBInstanceIdentifier: str, DBInstanceClass: str | None = None,
                           Engine: str | None = None, MasterUsername: str | None = None,
                           MasterUserPassword: str | None = None,
                           AllocatedStorage: int | None = None,
                           StorageEncrypted: bool | None = None, KmsKeyId: str | None = None,
                           DBName: str | None = None) -> dict[str, Any]:
        """Create a DB instance (defaults: ``db.t3.micro``, ``postgres``, user ``admin``).

        ``StorageEncrypted=True`` encrypts its storage under ``KmsKeyId`` or, without
        one, the AWS managed key ``aws/rds``; a ``KmsKeyId`` alone implies encryption.
        As in the RDS API, storage is unencrypted unless you ask. You (the caller) need
        ``kms:DescribeKey`` and ``kms:CreateGrant`` on the key: RDS creates a grant for
        itself and uses the key under it while the instance exists. Returns
        ``{"DBInstance": …}``. Raises DBInstanceAlreadyExistsFault, InvalidParameterValue,
        InvalidParameterCombination, KMSKeyNotAccessibleFault.
        """
        identifier = self._identifier(DBInstanceIdentifier, "DBInstanceIdentifier")
        if identifier in self._instances:
            raise Errors.DBInstanceAlreadyExistsFault(f"DB instance already exists: {identifier}")
        if not isinstance(MasterUserPassword, str) or len(MasterUserPassword) < 8:
            raise Errors.InvalidParameterValue(
                "MasterUserPassword is required and must be at least 8 characters.")
        if KmsKeyId is not None and StorageEncrypted is False:
            raise Errors.InvalidParameterCombination(
                "KmsKeyId requires StorageEncrypted; it can't be used with an unencrypted "
                "instance.")
        encrypted = bool(StorageEncrypted) or KmsKeyId is not None
        dbi = self._new_dbi()
        data_key, storage = (self._wrap(KmsKeyId or _DEFAULT_KEY, {"aws:rds:db-id": dbi},
                                        keep=True)
                             if encrypted else (None, _Storage({}, False)))
        user = MasterUsername or "admin"
        instance = self._attach(identifier, dbi, storage, data_key, engine=Engine or "postgres",
                                instance_class=DBInstanceClass or "db.t3.micro",
                                master_username=user, allocated=AllocatedStorage or 20)
        instance.database.admin().create_user(user, MasterUserPassword)
        return {"DBInstance": self._describe_instance(instance)}

    @api("DescribeDBInstances", resource="DBInstanceIdentifier")
    def describe_db_instances(self, DBInstanceIdentifier: str | None = None) -> dict[str, Any]:
        """``{"DBInstances": [...]}``: one instance, or all of them by identifier."""
        instances = ([self._instance(DBInstanceIdentifier)] if DBInstanceIdentifier
                     else [self._instances[k] for k in sorted(self._instances)])
        return {"DBInstances": [self._describe_instance(i) for i in instances]}

    @api("RebootDBInstance", required=("DBInstanceIdentifier",), resource="DBInstanceIdentifier")
    def reboot_db_instance(self, DBInstanceIdentifier: str) -> dict[str, Any]:
        """Restart an instance. Its host forgets the data key and asks KMS to decrypt it
        again: if KMS refuses (key disabled, pending deletion or deleted), the instance
        is left ``inaccessible-encryption-credentials`` and KMSKeyNotAccessibleFault is
        raised; reboot again once the key is usable to recover it."""
        instance = self._instance(DBInstanceIdentifier)
        try:
            data_key = self._unwrap(instance.storage)
        except KMSError as error:
            instance.status, instance.database.available = _INACCESSIBLE, False
            failure = self._kms_failure(error)
            failure.hint = failure.hint or error.hint
            raise failure from error
        volume = EncryptedVolume(self.kms, instance.storage.pages, data_key,
                                 instance.storage.encrypted)
        instance.database.storage = volume
        instance.status, instance.database.available = "available", True
        return {"DBInstance": self._describe_instance(instance)}

    @api("DeleteDBInstance", required=("DBInstanceIdentifier",), resource="DBInstanceIdentifier")
    def delete_db_instance(self, DBInstanceIdentifier: str, SkipFinalSnapshot: bool | None = None,
                           FinalDBSnapshotIdentifier: str | None = None) -> dict[str, Any]:
        """Delete an instance, after a final snapshot unless ``SkipFinalSnapshot=True``.
        Its snapshots remain. RDS retires its grant on the instance's key."""
        instance = self._instance(DBInstanceIdentifier)
        if not SkipFinalSnapshot and FinalDBSnapshotIdentifier is None:
            raise Errors.InvalidParameterCombination(
                "FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.")
        if FinalDBSnapshotIdentifier is not None:
            self.create_db_snapshot(DBSnapshotIdentifier=FinalDBSnapshotIdentifier,
                                    DBInstanceIdentifier=instance.identifier)
        del self._instances[instance.identifier]
        instance.status, instance.database.available = "deleting", False
        # RDS no longer needs the key for this instance: it retires its grant.
        self._retire(instance.storage.key_arn, instance.storage.grant_id)
        instance.storage.grant_id = None
        return {"DBInstance": self._describe_instance(instance)}

    # -- snapshots ------------------------------------------------------------------------------
    def _new_snapshot(self, identifier: Any) -> str:
        identifier = self._identifier(identifier, "DBSnapshotIdentifier")
        if identifier in self._snapshots:
            raise Errors.DBSnapshotAlreadyExistsFault(f"Cannot create the snapshot because a "
                                                      f"snapshot with the identifier "
                                                      f"{identifier} already exists.")
        return identifier

    @api("CreateDBSnapshot", required=("DBSnapshotIdentifier", "DBInstanceIdentifier"),
         resource="DBInstanceIdentifier")
    def create_db_snapshot(self, DBSnapshotIdentifier: str,
                           DBInstanceIdentifier: str) -> dict[str, Any]:
        """Snapshot an instance's storage. The snapshot is encrypted exactly as the
        instance is (same KMS key, same wrapped data key): no KMS call. Returns
        ``{"DBSnapshot": …}``. Raises DBInstanceNotFoundFault, InvalidDBInstanceStateFault,
        DBSnapshotAlreadyExistsFault."""
        instance = self._instance(DBInstanceIdentifier)
        identifier = self._new_snapshot(DBSnapshotIdentifier)
        if instance.status != "available":
            raise Errors.InvalidDBInstanceStateFault(
                f"DB instance {instance.identifier} is not available (it is {instance.status}).")
        storage = instance.storage
        copy = _Storage(dict(storage.pages), storage.encrypted, storage.key_arn,
                        storage.wrapped_key, dict(storage.context))
        snapshot = _Snapshot(identifier, self._arn(f"snapshot:{identifier}"), instance,
                             self.kms.now, copy)
        self._snapshots[identifier] = snapshot
        return {"DBSnapshot": self._describe_snapshot(snapshot)}

    @api("CopyDBSnapshot", required=("SourceDBSnapshotIdentifier", "TargetDBSnapshotIdentifier"),
         resource="TargetDBSnapshotIdentifier")
    def copy_db_snapshot(self, SourceDBSnapshotIdentifier: str, TargetDBSnapshotIdentifier: str,
                         KmsKeyId: str | None = None, CopyTags: bool | None = None
                         ) -> dict[str, Any]:
        """Copy a snapshot; with ``KmsKeyId``, re-encrypt the copy under that key.

        This is how a database moves to another KMS key (manual rotation, or away from
        ``aws/rds``): copy its snapshot with the new ``KmsKeyId``, then
        `restore_db_instance_from_db_snapshot` from the copy. Through short-lived grants
        (retired when the copy is made), RDS decrypts the source's data key, gets a new
        one from the new key and re-encrypts the storage. An
        unencrypted snapshot copied with a ``KmsKeyId`` becomes encrypted. Raises
        DBSnapshotNotFoundFault, DBSnapshotAlreadyExistsFault, KMSKeyNotAccessibleFault.
        """
        source = self._snapshot(SourceDBSnapshotIdentifier)
        identifier = self._new_snapshot(TargetDBSnapshotIdentifier)
        if KmsKeyId is None:
            storage = _Storage(dict(source.storage.pages), source.storage.encrypted,
                               source.storage.key_arn, source.storage.wrapped_key,
                               dict(source.storage.context))
        else:
            storage = self._rekey(source.storage, KmsKeyId,
                                  {"aws:rds:db-id": source.instance.dbi})
        snapshot = _Snapshot(identifier, self._arn(f"snapshot:{identifier}"), source.instance,
                             self.kms.now, storage, source.arn)
        self._snapshots[identifier] = snapshot
        return {"DBSnapshot": self._describe_snapshot(snapshot)}

    @api("DescribeDBSnapshots", resource="DBSnapshotIdentifier")
    def describe_db_snapshots(self, DBSnapshotIdentifier: str | None = None,
                              DBInstanceIdentifier: str | None = None) -> dict[str, Any]:
        """``{"DBSnapshots": [...]}``: one snapshot, those of an instance, or all."""
        if DBSnapshotIdentifier is not None:
            snapshots = [self._snapshot(DBSnapshotIdentifier)]
        else:
            snapshots = [self._snapshots[k] for k in sorted(self._snapshots)
                         if DBInstanceIdentifier in (None,
                                                     self._snapshots[k].instance.identifier)]
        return {"DBSnapshots": [self._describe_snapshot(s) for s in snapshots]}

    @api("RestoreDBInstanceFromDBSnapshot", required=("DBInstanceIdentifier",
                                                      "DBSnapshotIdentifier"),
         resource="DBInstanceIdentifier")
    def restore_db_instance_from_db_snapshot(self, DBInstanceIdentifier: str,
                                             DBSnapshotIdentifier: str,
                                             DBInstanceClass: str | None = None
                                             ) -> dict[str, Any]:
        """Create a new instance from a snapshot, encrypted under the snapshot's key
        (same users, passwords and rows). Through a grant for the new instance (kept)
        and a short-lived one for the snapshot, RDS re-wraps the snapshot's data key
        (ReEncrypt) for the new instance's ``DbiResourceId`` and decrypts it. Raises
        DBSnapshotNotFoundFault, DBInstanceAlreadyExistsFault, KMSKeyNotAccessibleFault.
        """
        snapshot = self._snapshot(DBSnapshotIdentifier)
        identifier = self._identifier(DBInstanceIdentifier, "DBInstanceIdentifier")
        if identifier in self._instances:
            raise Errors.DBInstanceAlreadyExistsFault(f"DB instance already exists: {identifier}")
        dbi, source = self._new_dbi(), snapshot.storage
        storage, data_key = _Storage(dict(source.pages), source.encrypted), None
        if source.encrypted:
            context = {"aws:rds:db-id": dbi}
            # The new instance's grant (kept), and a short-lived one to read the snapshot.
            key_arn, grant_id, token = self._grant(str(source.key_arn), context)
            reading = self._grant(key_arn, source.context)
            try:
                with self.kms.acting_as(self.service_principal):
                    response = self.kms.re_encrypt(
                        CiphertextBlob=source.wrapped_key,
                        SourceEncryptionContext=source.context, DestinationKeyId=key_arn,
                        DestinationEncryptionContext=context, GrantTokens=[token, reading[2]])
                storage.key_arn, storage.wrapped_key = response["KeyId"], \
                    response["CiphertextBlob"]
                storage.context, storage.grant_id = context, grant_id
                data_key = self._unwrap(storage, token)
            except KMSError:
                self._retire(key_arn, grant_id)
                raise
            finally:
                self._retire(key_arn, reading[1])
        template = snapshot.instance
        instance = self._attach(identifier, dbi, storage, data_key, engine=template.engine,
                                instance_class=DBInstanceClass or template.instance_class,
                                master_username=template.master_username,
                                allocated=template.allocated)
        return {"DBInstance": self._describe_instance(instance)}

    # -- looking inside (simulator only) --------------------------------------------------------
    def database(self, db_instance_identifier: str) -> Database:
        """The instance's database: ``connect(user, password)``, then ``put``/``get`` rows."""
        return self._instance(db_instance_identifier).database

    def inspect_instance(self, db_instance_identifier: str) -> CiphertextInfo | None:
        """Which KMS key and key material wrap the instance's data key (None if its
        storage is unencrypted). No KMS request."""
        return self._inspect(self._instance(db_instance_identifier).storage)

    def inspect_snapshot(self, db_snapshot_identifier: str) -> CiphertextInfo | None:
        """Which KMS key and key material wrap the snapshot's data key (None if it is
        unencrypted). No KMS request."""
        return self._inspect(self._snapshot(db_snapshot_identifier).storage)

    def _inspect(self, storage: _Storage) -> CiphertextInfo | None:
        return self.kms.inspect_ciphertext(storage.wrapped_key) if storage.encrypted else None
