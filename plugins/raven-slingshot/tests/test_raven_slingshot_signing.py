"""The request signature, against Slingshot's documented rule and test vector."""

import base64

import pytest

from fieldlink_raven_slingshot.signing import (
    ACCESS_KEY_HEADER,
    API_KEY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    secret_key,
    signature,
    signed_headers,
    string_to_sign,
)

# Slingshot's official test vector, as far as the stored copy of its "Generating a
# signature" page goes.
VECTOR_METHOD = "GET"
VECTOR_HOST = "host.company.com"
VECTOR_URL = "/absolute/path"
VECTOR_TIMESTAMP = 1234567890
VECTOR_API_KEY = "071X7Hc9zdfElbB2fUqQVjAQ3BsOPa4F9l3yqekl"
VECTOR_SIGNATURE = "EssUFos9uCpS1FFUFaPTE3Qucz0="
# Cut off in the stored page: fill them in from Raven's page to run the full check.
VECTOR_ACCESS_KEY: str | None = None
VECTOR_SHARED_SECRET: str | None = None


def test_string_to_sign_of_the_official_vector():
    access_key = "access-key-of-the-vector"

    text = string_to_sign(
        VECTOR_METHOD,
        VECTOR_HOST,
        VECTOR_URL,
        VECTOR_TIMESTAMP,
        VECTOR_API_KEY,
        access_key,
    )

    assert text == (
        "GET\r\n"
        "host.company.com\r\n"
        "/absolute/path\r\n"
        "1234567890\r\n"
        "071X7Hc9zdfElbB2fUqQVjAQ3BsOPa4F9l3yqekl\r\n"
        "access-key-of-the-vector\r\n"
    )


@pytest.mark.skipif(
    VECTOR_ACCESS_KEY is None or VECTOR_SHARED_SECRET is None,
    reason=(
        "the official vector's Access Key and Shared Secret inputs are missing: "
        "they were cut off in the stored copy of Raven's 'Generating a signature' "
        "page; set VECTOR_ACCESS_KEY and VECTOR_SHARED_SECRET"
    ),
)
def test_signature_of_the_official_vector():
    # Passing with base64 settles the shared secret's encoding; failing here and
    # passing with "utf-8" would mean the default must change.
    headers = signed_headers(
        VECTOR_METHOD,
        f"https://{VECTOR_HOST}{VECTOR_URL}",
        api_key=VECTOR_API_KEY,
        access_key=VECTOR_ACCESS_KEY,
        shared_secret=VECTOR_SHARED_SECRET,
        timestamp=VECTOR_TIMESTAMP,
        encoding="base64",
    )

    assert headers[SIGNATURE_HEADER] == VECTOR_SIGNATURE


def test_method_host_and_path_are_normalised_and_keys_kept():
    text = string_to_sign(
        "get", "API.RavenSlingshot.com", "/FieldComputers/460", 7, "aB", "cD"
    )

    assert (
        text
        == "GET\r\napi.ravenslingshot.com\r\n/fieldcomputers/460\r\n7\r\naB\r\ncD\r\n"
    )


def test_headers_sign_the_path_without_port_or_query():
    secret = base64.b64encode(b"shared secret bytes").decode()

    headers = signed_headers(
        "get",
        "https://API.ravenslingshot.com:443/FieldComputers/460/PrescriptionMaps?page=2",
        api_key="the-api-key",
        access_key="the-access-key",
        shared_secret=secret,
        timestamp=1700000000,
    )

    expected = string_to_sign(
        "GET",
        "api.ravenslingshot.com",
        "/fieldcomputers/460/prescriptionmaps",
        1700000000,
        "the-api-key",
        "the-access-key",
    )
    assert headers == {
        API_KEY_HEADER: "the-api-key",
        ACCESS_KEY_HEADER: "the-access-key",
        TIMESTAMP_HEADER: "1700000000",
        SIGNATURE_HEADER: signature(expected, b"shared secret bytes"),
    }


def test_signature_is_base64_of_hmac_sha1():
    # RFC 2202, HMAC-SHA1 test case 2: digest effcdf6ae5eb2fa2d27416d5f184df9c259a7c79.
    assert signature("what do ya want for nothing?", b"Jefe") == (
        "7/zfauXrL6LSdBbV8YTfnCWafHk="
    )


def test_shared_secret_is_base64_decoded_by_default():
    assert secret_key("c2VjcmV0IGJ5dGVz") == b"secret bytes"
    # The URL-safe alphabet gives the bytes a URL-safe decoder would.
    assert secret_key("-_-_") == base64.b64decode("+/+/")


def test_shared_secret_as_utf8_bytes():
    assert secret_key("c2VjcmV0IGJ5dGVz", "utf-8") == b"c2VjcmV0IGJ5dGVz"
    assert secret_key("pässwörd", "utf-8") == "pässwörd".encode()


@pytest.mark.parametrize("secret", ["not base64!", "YWI", "YW Jj"])
def test_a_secret_that_is_not_base64_is_refused_without_fallback(secret):
    with pytest.raises(ValueError, match="not base64") as info:
        secret_key(secret)

    assert secret not in str(info.value)


def test_an_unknown_encoding_is_refused():
    with pytest.raises(ValueError, match="base64, utf-8"):
        secret_key("c2VjcmV0", "latin-1")
