"""Envelope encryption with a KMS key of the stack: what HIPAA messages hold is stored sealed.

Each value is encrypted under a data key of its own (AES-256-GCM), which KMS generates and returns both
plain and encrypted under the stack's key; only the encrypted data key is stored beside the ciphertext.
The encryption context (the company and the message) is bound to both: KMS refuses to open a data key
for another message, and GCM refuses ciphertext moved to another message.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

from scheduled_comms.adapters.aws import client as aws_client
from scheduled_comms.errors import SealBroken

SEALED_VERSION = 1


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _aad(context: dict[str, str]) -> bytes:
    return json.dumps(context, sort_keys=True, separators=(",", ":")).encode()


class KmsSealer:
    def __init__(self, key_id: str, client: Any | None = None) -> None:
        self._key_id = key_id
        self._client = client or aws_client("kms")

    def seal(self, plaintext: bytes, context: dict[str, str]) -> dict[str, Any]:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        data_key = self._client.generate_data_key(KeyId=self._key_id, KeySpec="AES_256", EncryptionContext=context)
        nonce = os.urandom(12)
        ciphertext = AESGCM(data_key["Plaintext"]).encrypt(nonce, plaintext, _aad(context))
        return {
            "v": SEALED_VERSION,
            "key": _b64(data_key["CiphertextBlob"]),
            "nonce": _b64(nonce),
            "data": _b64(ciphertext),
        }

    def open(self, sealed: dict[str, Any], context: dict[str, str]) -> bytes:
        from botocore.exceptions import ClientError
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        try:
            data_key = self._client.decrypt(CiphertextBlob=base64.b64decode(sealed["key"]), EncryptionContext=context)[
                "Plaintext"
            ]
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("InvalidCiphertextException", "IncorrectKeyException", "NotFoundException"):
                raise SealBroken(f"KMS refused the data key ({code})") from None
            raise
        try:
            nonce, ciphertext = base64.b64decode(sealed["nonce"]), base64.b64decode(sealed["data"])
            return AESGCM(data_key).decrypt(nonce, ciphertext, _aad(context))
        except InvalidTag:
            raise SealBroken("the sealed value was altered") from None
