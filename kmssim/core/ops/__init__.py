"""The KMS operations, one module per family, each a mixin of `kmssim.core.kms.KMS`."""
