"""`meshwarden certs`: a CA and an ECDSA P-256 serving certificate for the admission Service.

The API server checks the Service's DNS name against the certificate's SANs (the CN is ignored
since Go 1.15) and trusts it through the webhook configuration's `caBundle`.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import ipaddress
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650
SERVING_DAYS = 365
CLOCK_SKEW = datetime.timedelta(minutes=5)
"""Certificates start a little in the past, so a node whose clock lags can still verify them."""


@dataclass(frozen=True)
class Issued:
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate


def service_dns_names(service: str, namespace: str) -> list[str]:
    """Every name a client in the cluster may use for the Service."""
    return [
        service,
        f"{service}.{namespace}",
        f"{service}.{namespace}.svc",
        f"{service}.{namespace}.svc.cluster.local",
    ]


def create_ca(common_name: str, days: int = CA_DAYS) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Issued(key, certificate)


def create_serving_certificate(
    ca: Issued, dns_names: Sequence[str], ip_addresses: Sequence[str] = (), days: int = SERVING_DAYS
) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses]
    ca_key_id = ca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_names[-1])]))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_key_id), critical=False
        )
        .sign(ca.key, hashes.SHA256())
    )
    return Issued(key, certificate)


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def ca_bundle(ca: Issued) -> str:
    """The webhook configuration's `caBundle`: the CA certificate, PEM, base64-encoded."""
    return base64.b64encode(_pem(ca.certificate)).decode("ascii")


@dataclass(frozen=True)
class Written:
    ca_cert: Path
    cert: Path
    key: Path


def write_material(out: Path, ca: Issued, serving: Issued) -> Written:
    """Writes ca.crt, tls.crt and tls.key (mode 0600); the CA key is not kept."""
    out.mkdir(parents=True, exist_ok=True)
    written = Written(out / "ca.crt", out / "tls.crt", out / "tls.key")
    written.ca_cert.write_bytes(_pem(ca.certificate))
    written.cert.write_bytes(_pem(serving.certificate))
    key_pem = serving.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    descriptor = os.open(written.key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        os.fchmod(handle.fileno(), 0o600)  # an existing file keeps its mode through O_CREAT
        handle.write(key_pem)
    return written


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def add_certs_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--service",
        default="meshwarden",
        metavar="S",
        help="name of the webhook's Service (default: %(default)s)",
    )
    parser.add_argument(
        "--namespace",
        default="meshwarden",
        metavar="N",
        help="namespace of the Service (default: %(default)s)",
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="directory for ca.crt, tls.crt, tls.key")
    parser.add_argument(
        "--days",
        type=int,
        default=SERVING_DAYS,
        metavar="DAYS",
        help="validity of the serving certificate (default: %(default)s; the CA: 10 years)",
    )


def run_certs(args: argparse.Namespace) -> int:
    """Writes the material and prints the base64 caBundle on stdout (the paths go to stderr)."""
    if args.days < 1:
        print("meshwarden certs: error: --days must be at least 1", file=sys.stderr)
        return 2
    names = service_dns_names(args.service, args.namespace)
    ca = create_ca(f"meshwarden-ca {args.service}.{args.namespace}")
    serving = create_serving_certificate(ca, names, days=args.days)
    try:
        written = write_material(Path(args.out), ca, serving)
    except OSError as exc:
        print(f"meshwarden certs: error: cannot write to {args.out}: {exc.strerror}", file=sys.stderr)
        return 2
    print(f"wrote {written.ca_cert}, {written.cert}, {written.key} for {', '.join(names)}", file=sys.stderr)
    print("caBundle for the ValidatingWebhookConfiguration:", file=sys.stderr)
    print(ca_bundle(ca))
    return 0
