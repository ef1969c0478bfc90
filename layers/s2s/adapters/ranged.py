"""The S3 ranged reader: byte ranges of an S3 object with `Range` GETs pinned to one ETag, counted
and capped like every reader of s2s.domain.ranged; a botocore error becomes a RangeReadError."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from s2s.domain.ranged import DEFAULT_MAX_TOTAL_BYTES, RangeReadError, _CountingReader

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class S3RangedReader(_CountingReader):
    """Ranges of an S3 object through GetObject with a `Range` header.

    Without `size`, the first use of `size` asks HeadObject (not counted in `requests`, which
    counts ranged reads). The ETag seen by HeadObject, or the one given, is sent as `IfMatch`
    with every read, so an object replaced during inspection fails the read instead of mixing
    two objects' bytes.
    """

    def __init__(
        self,
        client: S3Client,
        bucket: str,
        key: str,
        size: int | None = None,
        *,
        etag: str | None = None,
        max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
    ) -> None:
        super().__init__(max_total_bytes)
        self.client = client
        self.bucket = bucket
        self.key = key
        self.etag = etag
        self._size = size

    @property
    def size(self) -> int:
        if self._size is None:
            head = self.client.head_object(Bucket=self.bucket, Key=self.key)
            self._size = int(head["ContentLength"])
            if self.etag is None:
                self.etag = head.get("ETag")
        return self._size

    def _fetch(self, start: int, length: int) -> bytes:
        params: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": self.key,
            "Range": f"bytes={start}-{start + length - 1}",
        }
        if self.etag:
            params["IfMatch"] = self.etag
        try:
            response = self.client.get_object(**params)
        except ClientError as exc:
            # 416: the object is shorter than the size we were told; a bad archive, not an outage.
            if exc.response.get("Error", {}).get("Code") == "InvalidRange":
                raise RangeReadError(f"range {start}+{length} is not satisfiable") from exc
            raise
        body = response["Body"]
        try:
            return body.read()
        finally:
            body.close()
