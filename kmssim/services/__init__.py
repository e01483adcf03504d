"""AWS services that use KMS, simulated on top of a `kmssim.KMS` and its clock.

Each is shaped like its boto3 client for the calls that matter to KMS, and calls KMS
the way the real service does, so the audit trail shows the real pattern of requests:

- `S3`: objects with SSE-KMS, with or without S3 Bucket Keys;
- `SecretsManager`: secrets, their versions and their rotation (with a
  `RotationFunction` against a `Database`), on the same clock as the KMS keys;
- `Lambda`: functions whose environment variables are encrypted under KMS;
- `RDS`: encrypted DB instances and snapshots, and moving them to another key.

Every service counts the KMS requests it makes (``service.kms_calls``). Their errors
are in `kmssim.services.errors`; the core (`kmssim.KMS`) never imports this package.
"""

from kmssim.services.awslambda import Lambda, LambdaContext
from kmssim.services.database import Connection, Database, DatabaseError
from kmssim.services.errors import AWSServiceError
from kmssim.services.rds import RDS
from kmssim.services.rotation_function import RotationFunction
from kmssim.services.s3 import S3
from kmssim.services.secrets_rotation import RotationAttempt
from kmssim.services.secretsmanager import SecretsManager

__all__ = ["S3", "SecretsManager", "RotationFunction", "RotationAttempt", "Lambda",
           "LambdaContext", "RDS", "Database", "Connection", "DatabaseError", "AWSServiceError"]
