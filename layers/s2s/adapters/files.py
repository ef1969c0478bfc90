"""The bucket: presigned POSTs into `incoming/`, what landed there, the copy to `stored/`, presigned
GETs of stored files, deletes, and ranged reads for the zip inspection."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from s2s.adapters.aws import s3

if TYPE_CHECKING:
    from s2s.adapters.ranged import S3RangedReader


@dataclass(frozen=True, slots=True)
class Landed:
    """What HeadObject says of an object."""

    size: int
    last_modified: datetime
    etag: str


def presigned_post(bucket: str, key: str, size_bytes: int, seconds: int) -> tuple[str, dict[str, str]]:
    """A form that can only create exactly `key` with exactly `size_bytes` bytes, for `seconds`."""
    post = s3().generate_presigned_post(
        Bucket=bucket,
        Key=key,
        Conditions=[["content-length-range", size_bytes, size_bytes]],
        ExpiresIn=seconds,
    )
    return post["url"], dict(post["fields"])


def presigned_get(bucket: str, key: str, filename: str, seconds: int) -> str:
    """A GET of `key` for `seconds`, saved by the browser as `filename`."""
    return s3().generate_presigned_url(
        "get_object",
        Params={"Bucket": bucket, "Key": key, "ResponseContentDisposition": f'attachment; filename="{filename}"'},
        ExpiresIn=seconds,
    )


def head(bucket: str, key: str) -> Landed | None:
    """The object's size, time and ETag; None when it is not (or no longer) there."""
    client = s3()
    try:
        answer = client.head_object(Bucket=bucket, Key=key)
    except client.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    return Landed(int(answer["ContentLength"]), answer["LastModified"], answer["ETag"])


def copy_if_unchanged(bucket: str, source: str, target: str, etag: str) -> None:
    """Copy `source` to `target` only if it is still the object with `etag` (a replacement posted
    meanwhile fails the match and raises)."""
    s3().copy_object(
        Bucket=bucket,
        Key=target,
        CopySource={"Bucket": bucket, "Key": source},
        CopySourceIfMatch=etag,
        MetadataDirective="COPY",
    )


def delete(bucket: str, key: str) -> None:
    s3().delete_object(Bucket=bucket, Key=key)


def reader(bucket: str, key: str, size: int, etag: str) -> S3RangedReader:
    """Ranged reads of the object pinned to `etag` (s2s.adapters.ranged)."""
    from s2s.adapters.ranged import S3RangedReader

    return S3RangedReader(s3(), bucket, key, size=size, etag=etag)
