"""TLS settings of the REST client against a local HTTPS server with a self-signed certificate:
refused by default (with a clear error), trusted through ``MLFLOW_TRACKING_SERVER_CERT_PATH``, or not
checked with ``MLFLOW_TRACKING_INSECURE_TLS=true``."""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mlcask.exceptions import MlcaskException
from mlcask.tracking.rest import RestTrackingStore
from mlcask.tracking.rest.http import close_all
from tests.support import free_port


def self_signed(folder):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
                   .not_valid_after(now + datetime.timedelta(hours=1))
                   .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                  critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        payload = json.dumps({"experiment": {"experiment_id": "3", "name": "tls"}}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


def serve_https(folder, client_ca=None):
    """An HTTPS server (and its certificate); with ``client_ca`` it requires a client certificate signed by it."""
    cert_file, key_file = self_signed(folder)
    port = free_port()
    httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    if client_ca is not None:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(client_ca)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return httpd, f"https://127.0.0.1:{port}", cert_file


@pytest.fixture
def https_server(tmp_path):
    httpd, url, cert_file = serve_https(tmp_path)
    yield url, cert_file
    httpd.shutdown()
    httpd.server_close()
    close_all()


@pytest.fixture(autouse=True)
def tls_env(monkeypatch):
    for name in ("MLFLOW_TRACKING_INSECURE_TLS", "MLFLOW_TRACKING_SERVER_CERT_PATH", "MLFLOW_TRACKING_CLIENT_CERT_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")


def test_an_unknown_certificate_is_refused(https_server):
    url, _ = https_server
    with pytest.raises(MlcaskException) as caught:
        RestTrackingStore(url).get_experiment("3")
    assert url in str(caught.value) and "CERTIFICATE" in str(caught.value).upper()


def test_the_server_certificate_path_is_trusted(https_server, monkeypatch):
    url, cert_file = https_server
    monkeypatch.setenv("MLFLOW_TRACKING_SERVER_CERT_PATH", str(cert_file))
    assert RestTrackingStore(url).get_experiment("3").name == "tls"


def test_insecure_tls_skips_the_check(https_server, monkeypatch):
    url, _ = https_server
    monkeypatch.setenv("MLFLOW_TRACKING_INSECURE_TLS", "true")
    assert RestTrackingStore(url).get_experiment("3").name == "tls"


def test_a_missing_certificate_path_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("MLFLOW_TRACKING_SERVER_CERT_PATH", str(tmp_path / "nope.pem"))
    with pytest.raises(MlcaskException, match="nope.pem"):
        RestTrackingStore("https://127.0.0.1:1")


def test_a_client_certificate_is_presented(tmp_path, monkeypatch):
    (tmp_path / "client").mkdir()
    client_cert, client_key = self_signed(tmp_path / "client")
    bundle = tmp_path / "client" / "bundle.pem"
    bundle.write_bytes(client_cert.read_bytes() + client_key.read_bytes())
    (tmp_path / "server").mkdir()
    httpd, url, server_cert = serve_https(tmp_path / "server", client_ca=client_cert)
    try:
        monkeypatch.setenv("MLFLOW_TRACKING_SERVER_CERT_PATH", str(server_cert))
        with pytest.raises(MlcaskException):
            RestTrackingStore(url).get_experiment("3")
        monkeypatch.setenv("MLFLOW_TRACKING_CLIENT_CERT_PATH", str(bundle))
        assert RestTrackingStore(url).get_experiment("3").name == "tls"
    finally:
        httpd.shutdown()
        httpd.server_close()
        close_all()
