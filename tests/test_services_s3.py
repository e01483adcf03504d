"""S3 with SSE-KMS: per-object data keys, S3 Bucket Keys, rotation, copies, errors."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kmssim import KMS
from kmssim.core.errors import DisabledException, KMSError
from kmssim.services import S3
from kmssim.services.errors import ParamValidationError, S3Error


@pytest.fixture
def kms() -> KMS:
    return KMS(seed=11)


@pytest.fixture
def key(kms: KMS) -> str:
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/photos", TargetKeyId=key_id)
    return key_id


def _bucket(s3: S3, name: str, key: str | None = None, bucket_key: bool = False) -> str:
    s3.create_bucket(Bucket=name)
    s3.set_default_encryption(name, key, bucket_key=bucket_key)
    return name


def _read(s3: S3, bucket: str, key: str) -> bytes:
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def test_object_round_trips_and_reports_the_key_arn_even_for_an_alias(kms, key):
    s3 = S3(kms)
    _bucket(s3, "photos", "alias/photos")
    put = s3.put_object(Bucket="photos", Key="cat.jpg", Body=b"meow")
    arn = kms.describe_key(KeyId=key)["KeyMetadata"]["Arn"]
    assert put["ServerSideEncryption"] == "aws:kms"
    assert put["SSEKMSKeyId"] == arn
    assert "BucketKeyEnabled" not in put
    got = s3.get_object(Bucket="photos", Key="cat.jpg")
    assert got["Body"].read() == b"meow"
    assert got["ContentLength"] == 4 and got["SSEKMSKeyId"] == arn and got["ETag"] == put["ETag"]


def test_a_new_bucket_encrypts_under_the_aws_managed_key_aws_s3(kms):
    s3 = S3(kms)
    s3.create_bucket(Bucket="logs")
    put = s3.put_object(Bucket="logs", Key="a", Body="text is UTF-8")
    managed = kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]
    assert put["SSEKMSKeyId"] == managed["Arn"] and managed["KeyManager"] == "AWS"
    assert _read(s3, "logs", "a") == b"text is UTF-8"
    rules = s3.get_bucket_encryption(Bucket="logs")["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules == [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"},
                      "BucketKeyEnabled": False}]


def test_each_object_gets_its_own_data_key_bound_to_the_object_arn(kms, key):
    s3 = S3(kms)
    _bucket(s3, "photos", key)
    for name in ("a", "b", "c"):
        s3.put_object(Bucket="photos", Key=name, Body=name.encode())
        _read(s3, "photos", name)
    generated = kms.trail.query(name="GenerateDataKey")
    decrypted = kms.trail.query(name="Decrypt")
    expected = [{"aws:s3:arn": f"arn:aws:s3:::photos/{n}"} for n in "abc"]
    assert [e.request["encryptionContext"] for e in generated] == expected
    assert [e.request["encryptionContext"] for e in decrypted] == expected
    assert s3.kms_calls == 6 and s3.kms_calls_by_operation() == {"Decrypt": 3,
                                                                 "GenerateDataKey": 3}


def test_a_bucket_key_makes_far_fewer_kms_calls(kms, key):
    s3 = S3(kms)
    _bucket(s3, "plain", key)
    _bucket(s3, "keyed", key, bucket_key=True)
    for bucket in ("plain", "keyed"):
        for number in range(200):
            s3.put_object(Bucket=bucket, Key=f"o{number}", Body=b"x" * number)
        for number in range(200):
            assert _read(s3, bucket, f"o{number}") == b"x" * number
    assert s3.kms_calls_for("plain") == 400          # one GenerateDataKey + one Decrypt each
    assert s3.kms_calls_for("keyed") == 1            # one bucket key for the whole burst
    keyed = [e for e in kms.trail.query(name="GenerateDataKey")
             if e.request["encryptionContext"] == {"aws:s3:arn": "arn:aws:s3:::keyed"}]
    assert len(keyed) == 1
    assert s3.head_object(Bucket="keyed", Key="o1")["BucketKeyEnabled"] is True


def test_a_bucket_key_is_reused_only_within_its_reuse_window(kms, key):
    s3 = S3(kms)
    _bucket(s3, "keyed", key, bucket_key=True)
    s3.put_object(Bucket="keyed", Key="first", Body=b"1")
    kms.advance(minutes=59)
    s3.put_object(Bucket="keyed", Key="second", Body=b"2")
    assert s3.kms_calls == 1
    kms.advance(minutes=1)                            # 60 minutes: the window has ended
    s3.put_object(Bucket="keyed", Key="third", Body=b"3")
    assert s3.kms_calls_by_operation() == {"GenerateDataKey": 2}
    assert _read(s3, "keyed", "first") == b"1"       # a fresh read asks KMS once more
    assert s3.kms_calls_by_operation() == {"Decrypt": 1, "GenerateDataKey": 2}


def test_the_reuse_window_can_be_changed(kms, key):
    s3 = S3(kms)
    s3.bucket_key_reuse = timedelta(minutes=5)
    _bucket(s3, "keyed", key, bucket_key=True)
    s3.put_object(Bucket="keyed", Key="a", Body=b"1")
    kms.advance(minutes=5)
    s3.put_object(Bucket="keyed", Key="b", Body=b"2")
    assert s3.kms_calls == 2


@pytest.mark.parametrize("bucket_key", [False, True])
def test_objects_written_before_during_and_after_rotations_read_back(kms, key, bucket_key):
    s3 = S3(kms)
    _bucket(s3, "photos", "alias/photos", bucket_key)
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
    written = {}
    for day in range(0, 400, 20):                     # every 20 days across 4 rotations
        name = f"day-{day:03d}"
        s3.put_object(Bucket="photos", Key=name, Body=name.encode())
        written[name] = name.encode()
        if day == 200:
            kms.rotate_key_on_demand(KeyId=key)       # an on-demand rotation on the way
        kms.advance(days=20)
    assert len(kms.history(key).versions) == 6
    assert {name: _read(s3, "photos", name) for name in written} == written
    versions = s3.inspect_bucket("photos").column("version")
    assert versions == sorted(versions) and versions[0] == 1 and versions[-1] == 6


def test_copying_an_object_onto_itself_reencrypts_it_under_the_current_material(kms, key):
    s3 = S3(kms)
    _bucket(s3, "photos", key)
    s3.put_object(Bucket="photos", Key="old", Body=b"from 2024", Metadata={"a": "1"})
    kms.rotate_key_on_demand(KeyId=key)
    assert s3.inspect_object("photos", "old").version == 1
    copied = s3.copy_object(Bucket="photos", Key="old", CopySource="photos/old",
                            MetadataDirective="REPLACE")
    assert s3.inspect_object("photos", "old").version == 2
    assert copied["SSEKMSKeyId"] == kms.history(key).arn
    assert copied["CopyObjectResult"]["ETag"] == s3.head_object(Bucket="photos", Key="old")["ETag"]
    assert _read(s3, "photos", "old") == b"from 2024"
    assert s3.head_object(Bucket="photos", Key="old")["Metadata"] == {}


def test_copying_to_another_key_and_bucket(kms, key):
    s3 = S3(kms)
    _bucket(s3, "photos", key)
    other = kms.create_key()["KeyMetadata"]["Arn"]
    _bucket(s3, "archive", bucket_key=True)
    s3.put_object(Bucket="photos", Key="cat", Body=b"meow", Metadata={"kind": "cat"})
    copied = s3.copy_object(Bucket="archive", Key="cat", CopySource={"Bucket": "photos",
                                                                     "Key": "cat"},
                            ServerSideEncryption="aws:kms", SSEKMSKeyId=other)
    assert copied["SSEKMSKeyId"] == other and copied["BucketKeyEnabled"] is True
    assert _read(s3, "archive", "cat") == b"meow"
    assert s3.head_object(Bucket="archive", Key="cat")["Metadata"] == {"kind": "cat"}


def test_naming_aws_kms_without_a_key_id_means_aws_s3_whatever_the_bucket_default(kms, key):
    s3 = S3(kms)
    _bucket(s3, "photos", key)
    put = s3.put_object(Bucket="photos", Key="a", Body=b"1", ServerSideEncryption="aws:kms")
    assert put["SSEKMSKeyId"] == kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]["Arn"]


def test_a_self_copy_that_changes_nothing_is_refused(kms, key):
    s3 = S3(kms)
    _bucket(s3, "photos", key)
    s3.put_object(Bucket="photos", Key="a", Body=b"1")
    with pytest.raises(s3.exceptions.InvalidRequest, match="copy an object to itself"):
        s3.copy_object(Bucket="photos", Key="a", CopySource="photos/a")


def test_listing_and_deleting_objects_calls_no_kms(kms, key):
    s3 = S3(kms)
    _bucket(s3, "photos", key)
    for name in ("b", "a", "c/1"):
        s3.put_object(Bucket="photos", Key=name, Body=b"x")
    calls = s3.kms_calls
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="photos")["Contents"]] == ["a", "b", "c/1"]
    assert s3.list_objects_v2(Bucket="photos", Prefix="c/")["KeyCount"] == 1
    s3.delete_object(Bucket="photos", Key="b")
    s3.delete_object(Bucket="photos", Key="missing")
    assert s3.list_objects_v2(Bucket="photos")["KeyCount"] == 2
    assert s3.list_buckets()["Buckets"][0]["Name"] == "photos"
    assert s3.kms_calls == calls


def test_bad_requests_raise_s3s_own_errors(kms):
    s3 = S3(kms)
    s3.create_bucket(Bucket="photos")
    with pytest.raises(s3.exceptions.NoSuchBucket):
        s3.put_object(Bucket="nope", Key="a", Body=b"")
    with pytest.raises(s3.exceptions.NoSuchKey) as caught:
        s3.get_object(Bucket="photos", Key="missing")
    assert caught.value.code == "NoSuchKey"
    assert caught.value.response["Error"]["Code"] == "NoSuchKey"
    assert "GetObject" in str(caught.value)
    with pytest.raises(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket="photos")
    with pytest.raises(s3.exceptions.InvalidBucketName):
        s3.create_bucket(Bucket="No_Such")
    with pytest.raises(s3.exceptions.InvalidArgument):
        s3.put_object(Bucket="photos", Key="a", Body=b"", ServerSideEncryption="AES256")
    with pytest.raises(s3.exceptions.InvalidArgument, match="requires HTTP header"):
        s3.put_object(Bucket="photos", Key="a", Body=b"", SSEKMSKeyId="alias/x")
    with pytest.raises(ParamValidationError, match="Unknown parameter"):
        s3.put_object(Bucket="photos", Key="a", Bodyy=b"")
    with pytest.raises(ParamValidationError, match="Missing required"):
        s3.get_object(Bucket="photos")
    assert issubclass(s3.exceptions.NoSuchKey, S3Error) and issubclass(S3Error, KMSError)


def test_badly_typed_metadata_and_prefix_are_invalid_arguments_and_call_no_kms(kms):
    s3 = S3(kms)
    s3.create_bucket(Bucket="photos")
    s3.put_object(Bucket="photos", Key="a", Body=b"1")
    calls = len(kms.trail)
    with pytest.raises(s3.exceptions.InvalidArgument, match="Metadata"):
        s3.put_object(Bucket="photos", Key="b", Body=b"2", Metadata="owner=me")
    with pytest.raises(s3.exceptions.InvalidArgument, match="Metadata"):
        s3.put_object(Bucket="photos", Key="b", Body=b"2", Metadata={"size": 2})
    with pytest.raises(s3.exceptions.InvalidArgument, match="Metadata"):
        s3.copy_object(Bucket="photos", Key="a", CopySource="photos/a",
                       MetadataDirective="REPLACE", Metadata=["owner"])
    with pytest.raises(s3.exceptions.InvalidArgument, match="Prefix"):
        s3.list_objects_v2(Bucket="photos", Prefix=5)
    assert len(kms.trail) == calls
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="photos")["Contents"]] == ["a"]


def test_a_refused_kms_request_becomes_a_kms_error_code_and_stores_nothing(kms, key):
    s3 = S3(kms)
    _bucket(s3, "photos", key)
    s3.put_object(Bucket="photos", Key="kept", Body=b"1")
    kms.disable_key(KeyId=key)
    with pytest.raises(s3.exceptions.KMSException) as caught:
        s3.put_object(Bucket="photos", Key="new", Body=b"2")
    assert caught.value.code == "KMS.DisabledException"
    assert isinstance(caught.value.__cause__, DisabledException)
    assert s3.list_objects_v2(Bucket="photos")["KeyCount"] == 1
    with pytest.raises(s3.exceptions.KMSException, match="disabled"):
        s3.get_object(Bucket="photos", Key="kept")
    with pytest.raises(s3.exceptions.KMSException) as missing:
        s3.put_object(Bucket="photos", Key="x", Body=b"", ServerSideEncryption="aws:kms",
                      SSEKMSKeyId="alias/none")
    assert missing.value.code == "KMS.NotFoundException"
    kms.enable_key(KeyId=key)
    assert _read(s3, "photos", "kept") == b"1"


def test_a_cached_bucket_key_keeps_working_until_its_window_ends(kms, key):
    s3 = S3(kms)
    _bucket(s3, "keyed", key, bucket_key=True)
    s3.put_object(Bucket="keyed", Key="a", Body=b"1")
    kms.disable_key(KeyId=key)
    s3.put_object(Bucket="keyed", Key="b", Body=b"2")      # no KMS call: cached bucket key
    assert _read(s3, "keyed", "a") == b"1"
    kms.advance(hours=1)
    with pytest.raises(s3.exceptions.KMSException, match="disabled"):
        s3.put_object(Bucket="keyed", Key="c", Body=b"3")


def test_s3_calls_kms_as_the_caller(kms, key):
    s3 = S3(kms)
    _bucket(s3, "photos", key)
    with kms.acting_as("alice"):
        s3.put_object(Bucket="photos", Key="a", Body=b"1")
    assert kms.trail.query(name="GenerateDataKey")[0].principal.endswith(":user/alice")
    assert repr(s3) == "<S3 us-east-1 111122223333: 1 KMS calls>"
