"""The bundle repository's bucket, one module per cloud behind the `BucketSeam` in base.py."""

import importlib

from components.bucket.base import BucketSeam


def bucket_seam_for(cloud: str) -> BucketSeam:
    """Return the bucket seam of `cloud` (`aws` or `gcp`), importing only that cloud's SDK."""
    module = importlib.import_module(f"components.bucket.{cloud}")
    return module.SEAM
