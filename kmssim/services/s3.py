"""Amazon S3 with SSE-KMS: every object encrypted under a KMS key, the way S3 does it.

``S3(kms)`` is shaped like ``boto3.client("s3")`` for the calls that matter to KMS:
``create_bucket``, ``put_bucket_encryption``, ``put_object``, ``get_object``,
``copy_object``, ``head_object``, ``list_objects_v2``, ``delete_object``.

Without a Bucket Key, S3 asks KMS for a fresh data key for every object it writes
(``GenerateDataKey`` with the encryption context ``{"aws:s3:arn": "arn:aws:s3:::bucket/key"}``)
and asks KMS to decrypt it on every read. With an **S3 Bucket Key**, S3 asks KMS for a
*bucket-level* key (context ``{"aws:s3:arn": "arn:aws:s3:::bucket"}``), keeps it for a
limited time, and derives a unique key for each new object from it locally, so KMS sees
far fewer requests; reads decrypt the bucket key once per period too.

How long S3 reuses a bucket key is not published by AWS. kmssim reuses one for
``S3.BUCKET_KEY_REUSE`` (one hour) by default: long enough that a burst of writes
shares one KMS call, short enough that a key rotation or a disabled key shows up within
the hour, as the S3 guide says it does "for a limited time". Pass
``bucket_key_reuse=`` to change it. The per-object key is HKDF-SHA256 of the bucket key
with a random 16-byte salt stored with the object and the object's ARN as info; AWS does
not publish its derivation either.

kmssim models SSE-KMS only: a new bucket's default encryption is SSE-KMS with the AWS
managed key ``aws/s3``. (Real S3 has encrypted new buckets with SSE-S3, which involves no
KMS key, by default since January 2023.)
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kmssim.core import Table
from kmssim.services.caller import AWSService, StreamingBody, api
from kmssim.services.errors import S3Exceptions, S3KMSException

if TYPE_CHECKING:
    from kmssim.core import KMS, CiphertextInfo
    from kmssim.core.errors import KMSError

__all__ = ["S3", "StoredObject"]

_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_AWS_S3 = "alias/aws/s3"


@dataclass(frozen=True, slots=True)
class StoredObject:
    """An object as S3 keeps it: ciphertext plus the KMS-encrypted key that opens it.

    ``encrypted_key`` is the object's data key (no Bucket Key) or the bucket key it
    was derived from (``salt`` non-empty). Nothing here is secret.
    """

    ciphertext: bytes = field(repr=False)
    nonce: bytes = field(repr=False)
    encrypted_key: bytes = field(repr=False)
    salt: bytes = field(repr=False)
    key_arn: str
    key_material_id: str
    last_modified: datetime
    metadata: Mapping[str, str]
    content_type: str

    @property
    def bucket_key_enabled(self) -> bool:
        return bool(self.salt)

    @property
    def size(self) -> int:
        return len(self.ciphertext) - 16

    @property
    def etag(self) -> str:
        # With SSE-KMS the ETag is not the MD5 of the data; kmssim hashes the ciphertext.
        return '"' + hashlib.md5(self.ciphertext, usedforsecurity=False).hexdigest() + '"'


@dataclass(frozen=True, slots=True)
class _BucketKey:
    plaintext: bytes = field(repr=False)
    blob: bytes = field(repr=False)
    key_arn: str
    material_id: str
    obtained: datetime


@dataclass(slots=True)
class _Bucket:
    name: str
    created: datetime
    key_id: str | None = None            # None: the AWS managed key aws/s3
    bucket_key: bool = False
    objects: dict[str, StoredObject] = field(default_factory=dict)
    write_keys: dict[str, _BucketKey] = field(default_factory=dict)   # key ref → bucket key
    read_keys: dict[bytes, _BucketKey] = field(default_factory=dict)  # encrypted → bucket key

    @property
    def arn(self) -> str:
        return f"arn:aws:s3:::{self.name}"


class S3(AWSService):
    """A simulated Amazon S3 whose objects are encrypted with SSE-KMS.

    >>> from kmssim import KMS
    >>> kms = KMS(seed=5); s3 = S3(kms)
    >>> s3.create_bucket(Bucket="photos")["Location"]
    '/photos'
    >>> s3.put_object(Bucket="photos", Key="cat.jpg", Body=b"meow")["ServerSideEncryption"]
    'aws:kms'
    >>> s3.get_object(Bucket="photos", Key="cat.jpg")["Body"].read()
    b'meow'
    """

    service = "s3"
    exceptions = S3Exceptions
    invalid_parameter = S3Exceptions.InvalidArgument
    #: How long a bucket key is reused (AWS does not publish its period; see the module).
    BUCKET_KEY_REUSE = timedelta(hours=1)

    def __init__(self, kms: KMS, *, bucket_key_reuse: timedelta | None = None) -> None:
        super().__init__(kms)
        self.bucket_key_reuse = bucket_key_reuse or self.BUCKET_KEY_REUSE
        self._buckets: dict[str, _Bucket] = {}

    def _kms_failure(self, error: KMSError) -> S3KMSException:
        return S3KMSException(error)

    # -- buckets ------------------------------------------------------------------
    def _bucket(self, name: Any) -> _Bucket:
        bucket = self._buckets.get(name) if isinstance(name, str) else None
        if bucket is None:
            raise S3Exceptions.NoSuchBucket(f"The specified bucket does not exist: {name!r}")
        return bucket

    @api("CreateBucket", required=("Bucket",), resource="Bucket")
    def create_bucket(self, Bucket: str, CreateBucketConfiguration: dict[str, Any] | None = None,
                      ACL: str | None = None, ObjectOwnership: str | None = None
                      ) -> dict[str, Any]:
        """Create a bucket. Its default encryption is SSE-KMS with ``aws/s3``; change it
        with `put_bucket_encryption` or `set_default_encryption`. Returns ``Location``
        and ``BucketArn``. Raises InvalidBucketName, BucketAlreadyOwnedByYou."""
        if not isinstance(Bucket, str) or not _BUCKET_NAME.match(Bucket):
            raise S3Exceptions.InvalidBucketName(
                f"The specified bucket is not valid: {Bucket!r} (3–63 lowercase letters, "
                "digits, dots and hyphens, starting and ending with a letter or digit).")
        if Bucket in self._buckets:
            raise S3Exceptions.BucketAlreadyOwnedByYou(
                "Your previous request to create the named bucket succeeded and you already "
                "own it.")
        self._buckets[Bucket] = _Bucket(Bucket, self.kms.now)
        return {"Location": "/" + Bucket, "BucketArn": f"arn:aws:s3:::{Bucket}"}

    @api("ListBuckets")
    def list_buckets(self) -> dict[str, Any]:
        """List your buckets (``Buckets``: ``Name``, ``CreationDate``)."""
        return {"Buckets": [{"Name": b.name, "CreationDate": b.created}
                            for b in sorted(self._buckets.values(), key=lambda b: b.name)],
                "Owner": {"ID": self.kms.account_id}}

    @api("PutBucketEncryption", required=("Bucket", "ServerSideEncryptionConfiguration"),
         resource="Bucket")
    def put_bucket_encryption(self, Bucket: str,
                              ServerSideEncryptionConfiguration: dict[str, Any]
                              ) -> dict[str, Any]:
        """Set the bucket's default encryption, as boto3 takes it::

            {"Rules": [{"ApplyServerSideEncryptionByDefault":
                            {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/photos"},
                        "BucketKeyEnabled": True}]}

        Without ``KMSMasterKeyID`` new objects use ``aws/s3``. Objects already stored
        keep their encryption until copied. Returns ``{}``. Raises InvalidArgument.
        """
        bucket = self._bucket(Bucket)
        try:
            rule = ServerSideEncryptionConfiguration["Rules"][0]
            default = rule["ApplyServerSideEncryptionByDefault"]
            algorithm = default["SSEAlgorithm"]
        except (KeyError, IndexError, TypeError):
            raise S3Exceptions.InvalidArgument(
                "ServerSideEncryptionConfiguration needs Rules[0].ApplyServerSideEncryption"
                "ByDefault.SSEAlgorithm.") from None
        self._check_algorithm(algorithm)
        key_id = self._key_ref(default.get("KMSMasterKeyID"), "KMSMasterKeyID")
        bucket.key_id, bucket.bucket_key = key_id, self._flag(rule.get("BucketKeyEnabled"))
        return {}

    @api("GetBucketEncryption", required=("Bucket",), resource="Bucket")
    def get_bucket_encryption(self, Bucket: str) -> dict[str, Any]:
        """The bucket's default encryption, in the shape `put_bucket_encryption` takes."""
        bucket = self._bucket(Bucket)
        default = {"SSEAlgorithm": "aws:kms"}
        if bucket.key_id is not None:
            default["KMSMasterKeyID"] = bucket.key_id
        return {"ServerSideEncryptionConfiguration": {"Rules": [
            {"ApplyServerSideEncryptionByDefault": default,
             "BucketKeyEnabled": bucket.bucket_key}]}}

    def set_default_encryption(self, bucket: str, key_id: str | None = None, *,
                               bucket_key: bool = False) -> None:
        """Shortcut for `put_bucket_encryption`: SSE-KMS with ``key_id`` (an id, ARN or
        alias; None for ``aws/s3``), with or without an S3 Bucket Key."""
        default = {"SSEAlgorithm": "aws:kms"}
        if key_id is not None:
            default["KMSMasterKeyID"] = key_id
        self.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": default,
                       "BucketKeyEnabled": bucket_key}]})

    # -- checks -----------------------------------------------------------------------
    @staticmethod
    def _check_algorithm(algorithm: Any) -> None:
        if algorithm != "aws:kms":
            raise S3Exceptions.InvalidArgument(
                f"ServerSideEncryption {algorithm!r} is not modelled: kmssim's S3 stores "
                "every object with SSE-KMS ('aws:kms').")

    @staticmethod
    def _key_ref(value: Any, name: str) -> str | None:
        if value is not None and (not isinstance(value, str) or not value):
            raise S3Exceptions.InvalidArgument(
                f"{name} must be a KMS key id, key ARN, alias name or alias ARN.")
        return value

    @staticmethod
    def _flag(value: Any) -> bool:
        if value is not None and not isinstance(value, bool):
            raise S3Exceptions.InvalidArgument("BucketKeyEnabled must be True or False.")
        return bool(value)

    @staticmethod
    def _object_key(key: Any) -> str:
        if not isinstance(key, str) or not 1 <= len(key.encode()) <= 1024:
            raise S3Exceptions.InvalidArgument("Key must be a string of 1 to 1024 bytes.")
        return key

    @staticmethod
    def _metadata(metadata: Any) -> dict[str, str]:
        if metadata is None:
            return {}
        if not isinstance(metadata, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise S3Exceptions.InvalidArgument(
                'Metadata must be a dict of strings, e.g. {"owner": "team-a"}.')
        return dict(metadata)

    @staticmethod
    def _body(body: Any) -> bytes:
        if hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode()
        if not isinstance(body, (bytes, bytearray, memoryview)):
            raise S3Exceptions.InvalidArgument("Body must be bytes, a str or a readable file.")
        return bytes(body)

    def _stored(self, bucket: _Bucket, key: Any) -> StoredObject:
        stored = bucket.objects.get(self._object_key(key))
        if stored is None:
            raise S3Exceptions.NoSuchKey("The specified key does not exist.")
        return stored

    # -- encryption -------------------------------------------------------------------
    def _encryption(self, bucket: _Bucket, sse: Any, key_id: Any, bucket_key: Any
                    ) -> tuple[str, bool]:
        """The KMS key reference and Bucket Key setting for a new object."""
        if sse is not None:
            self._check_algorithm(sse)
        key_ref = self._key_ref(key_id, "SSEKMSKeyId")
        if key_ref is not None and sse is None:
            raise S3Exceptions.InvalidArgument(
                "Server Side Encryption with AWS KMS managed key requires HTTP header "
                "x-amz-server-side-encryption : aws:kms")
        if key_ref is None:
            # As S3 documents: naming aws:kms without a key id means aws/s3, whatever
            # the bucket's default; naming nothing means the bucket's default.
            key_ref = None if sse is not None else bucket.key_id
        use_bucket_key = bucket.bucket_key if bucket_key is None else self._flag(bucket_key)
        return key_ref or _AWS_S3, use_bucket_key

    def _seal(self, bucket: _Bucket, name: str, body: bytes, key_ref: str, bucket_key: bool,
              metadata: Mapping[str, str], content_type: str) -> StoredObject:
        object_arn = f"{bucket.arn}/{name}"
        salt = b""
        if bucket_key:
            cached = self._write_key(bucket, key_ref)
            salt = self.kms.entropy.bytes(16)
            object_key = _derive(cached.plaintext, salt, object_arn)
            encrypted, key_arn, material = cached.blob, cached.key_arn, cached.material_id
        else:
            response = self.kms.generate_data_key(
                KeyId=key_ref, KeySpec="AES_256", EncryptionContext={"aws:s3:arn": object_arn})
            object_key, encrypted = response["Plaintext"], response["CiphertextBlob"]
            key_arn, material = response["KeyId"], response["KeyMaterialId"]
        nonce = self.kms.entropy.bytes(12)
        ciphertext = AESGCM(object_key).encrypt(nonce, body, object_arn.encode())
        return StoredObject(ciphertext, nonce, encrypted, salt, key_arn, material, self.kms.now,
                            dict(metadata), content_type)

    def _write_key(self, bucket: _Bucket, key_ref: str) -> _BucketKey:
        cached = bucket.write_keys.get(key_ref)
        if cached is None or self.kms.now - cached.obtained >= self.bucket_key_reuse:
            response = self.kms.generate_data_key(
                KeyId=key_ref, KeySpec="AES_256", EncryptionContext={"aws:s3:arn": bucket.arn})
            cached = _BucketKey(response["Plaintext"], response["CiphertextBlob"],
                                response["KeyId"], response["KeyMaterialId"], self.kms.now)
            bucket.write_keys[key_ref] = cached
            bucket.read_keys[cached.blob] = cached
        return cached

    def _open(self, bucket: _Bucket, name: str, stored: StoredObject) -> bytes:
        object_arn = f"{bucket.arn}/{name}"
        if stored.bucket_key_enabled:
            cached = bucket.read_keys.get(stored.encrypted_key)
            if cached is None or self.kms.now - cached.obtained >= self.bucket_key_reuse:
                response = self.kms.decrypt(CiphertextBlob=stored.encrypted_key,
                                            EncryptionContext={"aws:s3:arn": bucket.arn})
                cached = _BucketKey(response["Plaintext"], stored.encrypted_key,
                                    response["KeyId"], response["KeyMaterialId"], self.kms.now)
                bucket.read_keys[stored.encrypted_key] = cached
            object_key = _derive(cached.plaintext, stored.salt, object_arn)
        else:
            object_key = self.kms.decrypt(CiphertextBlob=stored.encrypted_key,
                                          EncryptionContext={"aws:s3:arn": object_arn}
                                          )["Plaintext"]
        return AESGCM(object_key).decrypt(stored.nonce, stored.ciphertext, object_arn.encode())

    @staticmethod
    def _sse_fields(stored: StoredObject) -> dict[str, Any]:
        fields: dict[str, Any] = {"ServerSideEncryption": "aws:kms",
                                  "SSEKMSKeyId": stored.key_arn}
        if stored.bucket_key_enabled:
            fields["BucketKeyEnabled"] = True
        return fields

    # -- objects ----------------------------------------------------------------------
    @api("PutObject", required=("Bucket", "Key"), resource="Bucket")
    def put_object(self, Bucket: str, Key: str, Body: Any = b"",
                   ServerSideEncryption: str | None = None, SSEKMSKeyId: str | None = None,
                   BucketKeyEnabled: bool | None = None,
                   Metadata: dict[str, str] | None = None,
                   ContentType: str | None = None) -> dict[str, Any]:
        """Store an object, encrypted under the bucket's default KMS key or the one you
        name (``ServerSideEncryption="aws:kms", SSEKMSKeyId=...``).

        Returns ``ETag``, ``ServerSideEncryption`` (``"aws:kms"``), ``SSEKMSKeyId`` (the
        key **ARN**, even if you gave an alias) and ``BucketKeyEnabled`` when a Bucket Key
        was used. Raises NoSuchBucket, InvalidArgument, or ``KMS.<code>`` when KMS
        refuses (disabled key, key pending deletion, unknown key).
        """
        bucket = self._bucket(Bucket)
        name, body = self._object_key(Key), self._body(Body)
        metadata = self._metadata(Metadata)
        key_ref, use_bucket_key = self._encryption(bucket, ServerSideEncryption, SSEKMSKeyId,
                                                   BucketKeyEnabled)
        stored = self._seal(bucket, name, body, key_ref, use_bucket_key, metadata,
                            ContentType or "binary/octet-stream")
        bucket.objects[name] = stored
        return {"ETag": stored.etag, **self._sse_fields(stored)}

    @api("GetObject", required=("Bucket", "Key"), resource="Bucket")
    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        """Read an object: ``Body`` (call ``.read()``), ``ContentLength``, ``ETag``,
        ``LastModified``, ``Metadata`` and the SSE fields. S3 asks KMS to decrypt the
        object's data key (or, with a Bucket Key, the bucket key, at most once per reuse
        period). Objects written under any earlier key material read back unchanged.
        Raises NoSuchBucket, NoSuchKey, ``KMS.<code>``."""
        bucket = self._bucket(Bucket)
        stored = self._stored(bucket, Key)
        body = self._open(bucket, Key, stored)
        return {"Body": StreamingBody(body), **self._head(stored)}

    def _head(self, stored: StoredObject) -> dict[str, Any]:
        return {"ContentLength": stored.size, "ContentType": stored.content_type,
                "ETag": stored.etag, "LastModified": stored.last_modified,
                "Metadata": dict(stored.metadata), **self._sse_fields(stored)}

    @api("HeadObject", required=("Bucket", "Key"), resource="Bucket")
    def head_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        """An object's metadata and SSE fields, without reading it (no KMS call)."""
        return self._head(self._stored(self._bucket(Bucket), Key))

    @api("CopyObject", required=("Bucket", "Key", "CopySource"), resource="Bucket")
    def copy_object(self, Bucket: str, Key: str, CopySource: str | dict[str, str],
                    ServerSideEncryption: str | None = None, SSEKMSKeyId: str | None = None,
                    BucketKeyEnabled: bool | None = None, MetadataDirective: str | None = None,
                    Metadata: dict[str, str] | None = None) -> dict[str, Any]:
        """Copy an object; the copy is encrypted anew, under the *current* material of
        the destination's key (the bucket default, or ``SSEKMSKeyId``).

        This is how stored objects move to new key material after a rotation, or to
        another key: copy an object onto itself with ``MetadataDirective="REPLACE"``
        (re-encrypts under the bucket's default key) or with
        ``ServerSideEncryption="aws:kms", SSEKMSKeyId=...`` (that key; without
        ``SSEKMSKeyId`` S3 uses ``aws/s3``). S3 refuses a self-copy that changes
        nothing. ``CopySource`` is
        ``"bucket/key"`` or ``{"Bucket": …, "Key": …}``. Returns ``CopyObjectResult``
        (``ETag``, ``LastModified``) and the SSE fields.
        """
        source_bucket, source_key = _copy_source(CopySource)
        source = self._bucket(source_bucket)
        stored = self._stored(source, source_key)
        target, name = self._bucket(Bucket), self._object_key(Key)
        if MetadataDirective not in (None, "COPY", "REPLACE"):
            raise S3Exceptions.InvalidArgument("MetadataDirective must be COPY or REPLACE.")
        replaced = self._metadata(Metadata)
        changes = (ServerSideEncryption, SSEKMSKeyId, BucketKeyEnabled)
        if (source is target and source_key == name and MetadataDirective != "REPLACE"
                and all(value is None for value in changes)):
            raise S3Exceptions.InvalidRequest(
                "This copy request is illegal because it is trying to copy an object to "
                "itself without changing the object's metadata, storage class, website "
                "redirect location or encryption attributes.")
        body = self._open(source, source_key, stored)
        key_ref, use_bucket_key = self._encryption(target, *changes)
        metadata = replaced if MetadataDirective == "REPLACE" else stored.metadata
        copy = self._seal(target, name, body, key_ref, use_bucket_key, metadata,
                          stored.content_type)
        target.objects[name] = copy
        return {"CopyObjectResult": {"ETag": copy.etag, "LastModified": copy.last_modified},
                **self._sse_fields(copy)}

    @api("ListObjectsV2", required=("Bucket",), resource="Bucket")
    def list_objects_v2(self, Bucket: str, Prefix: str | None = None) -> dict[str, Any]:
        """List a bucket's objects (``Contents``: ``Key``, ``Size``, ``LastModified``,
        ``ETag``), sorted by key. No KMS call."""
        bucket = self._bucket(Bucket)
        if Prefix is not None and not isinstance(Prefix, str):
            raise S3Exceptions.InvalidArgument("Prefix must be a string.")
        prefix = Prefix or ""
        contents = [{"Key": name, "LastModified": o.last_modified, "ETag": o.etag,
                     "Size": o.size, "StorageClass": "STANDARD"}
                    for name, o in sorted(bucket.objects.items()) if name.startswith(prefix)]
        response: dict[str, Any] = {"IsTruncated": False, "Name": Bucket, "Prefix": prefix,
                                    "MaxKeys": 1000, "KeyCount": len(contents)}
        if contents:
            response["Contents"] = contents
        return response

    @api("DeleteObject", required=("Bucket", "Key"), resource="Bucket")
    def delete_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        """Delete an object (no error if it does not exist, as in S3). Returns ``{}``."""
        self._bucket(Bucket).objects.pop(self._object_key(Key), None)
        return {}

    # -- looking inside (simulator only) ------------------------------------------------
    def inspect_object(self, bucket: str, key: str) -> CiphertextInfo:
        """Which KMS key and key material protect an object (no KMS request).

        Reads the header of the object's encrypted data key, or of the bucket key it
        was derived from: see `kmssim.KMS.inspect_ciphertext`.
        """
        return self.kms.inspect_ciphertext(self._stored(self._bucket(bucket), key)
                                           .encrypted_key)

    def inspect_bucket(self, bucket: str) -> Table:
        """One row per object: size, KMS key, key-material version, Bucket Key or not,
        when written. Shows at a glance which objects predate a rotation."""
        rows = []
        for name, stored in sorted(self._bucket(bucket).objects.items()):
            info = self.kms.inspect_ciphertext(stored.encrypted_key)
            rows.append({"key": name, "size": stored.size, "kms key": info.key_id,
                         "version": info.version, "bucket key": stored.bucket_key_enabled,
                         "written": stored.last_modified})
        return Table.of(("key", "size", "kms key", "version", "bucket key", "written"), rows,
                        f"s3://{bucket}")

    def stored_object(self, bucket: str, key: str) -> StoredObject:
        """The object as S3 stores it (ciphertext and encrypted key; nothing secret)."""
        return self._stored(self._bucket(bucket), key)


def _derive(bucket_key: bytes, salt: bytes, object_arn: str) -> bytes:
    """The unique per-object key S3 derives from a bucket key (HKDF-SHA256)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt,
                info=b"kmssim/s3-bucket-key/" + object_arn.encode()).derive(bucket_key)


def _copy_source(source: Any) -> tuple[str, str]:
    if isinstance(source, Mapping) and isinstance(source.get("Bucket"), str) \
            and isinstance(source.get("Key"), str):
        return source["Bucket"], source["Key"]
    if isinstance(source, str) and "/" in source.lstrip("/"):
        bucket, _, key = source.lstrip("/").partition("/")
        return bucket, key
    raise S3Exceptions.InvalidArgument(
        'CopySource must be "bucket/key" or {"Bucket": ..., "Key": ...}.')

