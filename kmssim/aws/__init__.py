"""What faces AWS's own tools: the JSON protocol, the HTTP endpoint, the boto3 bridge, and the
AWS CLI emulation behind ``%aws``. boto3, botocore and IPython are imported lazily, inside the
adapters that need them, so importing `kmssim` never needs them."""
