"""S3 errors: each carries the S3 error ``code``, the HTTP ``status`` and a message;
and :func:`as_s3_error`, the S3 error of each domain error of the core.

The front renders them as the S3 XML error document. They are domain errors
(``LockrError``), so a handler that knows nothing of S3 still answers with the right
status. Messages MUST NOT contain secrets, signing keys or expected signatures: a
client sees them verbatim.
"""

from __future__ import annotations

from gateway import multipart_terms as multipart
from gateway.errors import (
    BadRequest,
    Busy,
    Changed,
    Conflict,
    Forbidden,
    Gone,
    LockrError,
    NotFound,
    RateLimited,
    TooLarge,
    Unauthorized,
    UnsupportedMediaType,
)
from gateway.errors import QuotaExceeded as DomainQuotaExceeded


class S3Error(LockrError):
    """Base of every S3 error; ``code`` is the S3 error code (``<Code>`` in the XML)."""

    status = 400
    code = "InvalidRequest"
    default_message = "Invalid Request"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message if message is not None else self.default_message)


class SignatureDoesNotMatch(S3Error):
    status = 403
    code = "SignatureDoesNotMatch"
    default_message = (
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method."
    )


class InvalidAccessKeyId(S3Error):
    status = 403
    code = "InvalidAccessKeyId"
    default_message = "The AWS Access Key Id you provided does not exist in our records."


class AccessDenied(S3Error):
    status = 403
    code = "AccessDenied"
    default_message = "Access Denied"


class RequestTimeTooSkewed(S3Error):
    status = 403
    code = "RequestTimeTooSkewed"
    default_message = "The difference between the request time and the current time is too large."


class AuthorizationHeaderMalformed(S3Error):
    status = 400
    code = "AuthorizationHeaderMalformed"
    default_message = "The authorization header is malformed."


class AuthorizationQueryParametersError(S3Error):
    status = 400
    code = "AuthorizationQueryParametersError"
    default_message = "The authorization query parameters are malformed."


class XAmzContentSHA256Mismatch(S3Error):
    status = 400
    code = "XAmzContentSHA256Mismatch"
    default_message = "The provided 'x-amz-content-sha256' header does not match what was computed."


class InvalidDigest(S3Error):
    """A checksum that is not well-formed (bad base64, wrong length)."""

    status = 400
    code = "InvalidDigest"
    default_message = "The Content-MD5 or checksum value you specified is not valid."


class BadDigest(S3Error):
    """A well-formed checksum that does not match the data received."""

    status = 400
    code = "BadDigest"
    default_message = "The checksum you specified did not match the calculated checksum."


class IncompleteBody(S3Error):
    status = 400
    code = "IncompleteBody"
    default_message = "You did not provide the number of bytes specified by the length header."


class InvalidRequest(S3Error):
    status = 400
    code = "InvalidRequest"
    default_message = "Invalid Request"


class InvalidArgument(S3Error):
    status = 400
    code = "InvalidArgument"
    default_message = "Invalid Argument"


class MissingSecurityHeader(S3Error):
    status = 400
    code = "MissingSecurityHeader"
    default_message = "Your request was missing a required header."


class NoSuchBucket(S3Error):
    status = 404
    code = "NoSuchBucket"
    default_message = "The specified bucket does not exist"


class NoSuchKey(S3Error):
    status = 404
    code = "NoSuchKey"
    default_message = "The specified key does not exist."


class BucketNotEmpty(S3Error):
    status = 409
    code = "BucketNotEmpty"
    default_message = "The bucket you tried to delete is not empty"


class BucketAlreadyOwnedByYou(S3Error):
    status = 409
    code = "BucketAlreadyOwnedByYou"
    default_message = "The bucket you tried to create already exists, and you own it."


class InvalidBucketName(S3Error):
    status = 400
    code = "InvalidBucketName"
    default_message = "The specified bucket is not valid."


class KeyConflict(S3Error):
    """The key cannot be written as asked: a file and a folder would share a name (a
    key ``a`` beside keys under ``a/``), or a name is taken. Not an AWS code: lockr's
    tree has no room for both, where S3's flat namespace has."""

    status = 409
    code = "KeyConflict"
    default_message = "A file and a folder would share this name."


class EntityTooLarge(S3Error):
    status = 400
    code = "EntityTooLarge"
    default_message = "Your proposed upload exceeds the maximum allowed object size."


class QuotaExceeded(S3Error):
    """The account is full (bytes or entries); S3 has no code of its own for this."""

    status = 403
    code = "QuotaExceeded"
    default_message = "The account's storage quota is used up."


class SlowDown(S3Error):
    status = 503
    code = "SlowDown"
    default_message = "Please reduce your request rate."


class NoSuchVersion(S3Error):
    """A version other than ``null``: lockr's buckets are unversioned."""

    status = 404
    code = "NoSuchVersion"
    default_message = "The specified version does not exist."


class MetadataTooLarge(S3Error):
    status = 400
    code = "MetadataTooLarge"
    default_message = "Your metadata headers exceed the maximum allowed metadata size."


class MalformedXML(S3Error):
    status = 400
    code = "MalformedXML"
    default_message = (
        "The XML you provided was not well-formed or did not validate against our published schema."
    )


class InvalidRange(S3Error):
    status = 416
    code = "InvalidRange"
    default_message = "The requested range is not satisfiable"


class PreconditionFailed(S3Error):
    status = 412
    code = "PreconditionFailed"
    default_message = "At least one of the pre-conditions you specified did not hold"


class KeyTooLongError(S3Error):
    status = 400
    code = "KeyTooLongError"
    default_message = "Your key is too long"


class AccessControlListNotSupported(S3Error):
    status = 400
    code = "AccessControlListNotSupported"
    default_message = "The bucket does not allow ACLs"


class InvalidBucketAclWithObjectOwnership(S3Error):
    status = 400
    code = "InvalidBucketAclWithObjectOwnership"
    default_message = (
        "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting"
    )


class MalformedACLError(S3Error):
    status = 400
    code = "MalformedACLError"
    default_message = (
        "The XML you provided was not well-formed or did not validate against our published schema"
    )


class ConditionalRequestConflict(S3Error):
    """A conditional write's object changed while it was written."""

    status = 409
    code = "ConditionalRequestConflict"
    default_message = (
        "A conflicting operation occurred. If using PutObject you can retry the request. "
        "If using multipart upload you should initiate another CreateMultipartUpload "
        "request and re-upload each part."
    )


class MethodNotAllowed(S3Error):
    status = 405
    code = "MethodNotAllowed"
    default_message = "The specified method is not allowed against this resource."


class InvalidPartNumber(S3Error):
    status = 416
    code = "InvalidPartNumber"
    default_message = "The requested partnumber is not satisfiable"


class NotImplementedYet(S3Error):
    status = 501
    code = "NotImplemented"
    default_message = (
        "A header or query you provided implies functionality that is not implemented."
    )


class NoSuchUpload(S3Error):
    status = 404
    code = "NoSuchUpload"
    default_message = (
        "The specified upload does not exist. The upload ID may be invalid, or the upload "
        "may have been aborted or completed."
    )


class InvalidPart(S3Error):
    status = 400
    code = "InvalidPart"
    default_message = (
        "One or more of the specified parts could not be found. The part may not have been "
        "uploaded, or the specified entity tag may not match the part's entity tag."
    )


class InvalidPartOrder(S3Error):
    status = 400
    code = "InvalidPartOrder"
    default_message = (
        "The list of parts was not in ascending order. Parts must be ordered by part number."
    )


class EntityTooSmall(S3Error):
    status = 400
    code = "EntityTooSmall"
    default_message = "Your proposed upload is smaller than the minimum allowed object size."


class OperationAborted(S3Error):
    status = 409
    code = "OperationAborted"
    default_message = (
        "A conflicting conditional operation is currently in progress against this "
        "resource. Try again."
    )


class InternalError(S3Error):
    status = 500
    code = "InternalError"
    default_message = "We encountered an internal error. Please try again."


def as_s3_error(error: LockrError, *, key: str) -> S3Error:
    """The S3 error for a domain error of the core (``key``: the request's, if any)."""
    if isinstance(error, S3Error):
        return error
    message = error.message
    specific = _SPECIFIC.get(type(error))
    if specific is not None:
        return specific(message)
    if isinstance(error, NotFound | Gone):
        return NoSuchKey() if key else NoSuchBucket()
    if isinstance(error, DomainQuotaExceeded):
        return QuotaExceeded(message)
    if isinstance(error, TooLarge):
        return EntityTooLarge(message)
    if isinstance(error, Conflict):
        return KeyConflict(message)
    if isinstance(error, BadRequest | UnsupportedMediaType):
        return InvalidArgument(message)
    if isinstance(error, RateLimited | Busy):
        return SlowDown(message)
    if isinstance(error, Forbidden | Unauthorized):
        return AccessDenied(message)
    return InternalError()


_SPECIFIC: dict[type[LockrError], type[S3Error]] = {
    multipart.NoSuchUpload: NoSuchUpload,
    multipart.InvalidPart: InvalidPart,
    multipart.InvalidPartOrder: InvalidPartOrder,
    multipart.PartTooSmall: EntityTooSmall,
    multipart.UploadBusy: OperationAborted,
    Changed: OperationAborted,
}
