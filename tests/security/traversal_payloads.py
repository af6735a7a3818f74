"""Path traversal payloads, by family, from the MLflow CVEs that used them.

Every payload is meant to be refused wherever an API takes an artifact path, a model name,
an artifact name, or the path part of a ``runs:/`` registry source. ``aimed_at`` builds the
same tricks aimed at one file a known number of folders up.
"""

from __future__ import annotations

PAYLOADS: list[str] = [
    # Plain '../': CVE-2023-2356 (relative paths in model version sources), CVE-2023-1177
    # (the artifact 'path' read against a planted source), CVE-2023-6014.
    "..",
    "../secret.txt",
    "../../../../../../../../../../../../etc/passwd",
    "x/../../y",
    "./../x",
    "x/..",
    "x/../..",
    # Absolute paths, other roots and local URIs: CVE-2023-1177 (source 'file:///etc/'), CVE-2024-3573
    # (is_local_uri fooled by empty and 'file:' schemes).
    "/etc/passwd",
    "//etc/passwd",
    "//host/share/x",
    "/proc/self/root/etc/passwd",
    "file:///etc/passwd",
    "file:/etc/passwd",
    "file://localhost/etc/passwd",
    "FILE:///etc/passwd",
    "file:etc/passwd",
    "~/.ssh/id_rsa",
    "~root/.ssh/id_rsa",
    # Backslashes and Windows forms: CVE-2023-2780 and CVE-2023-6909 ('\..\filename'), CVE-2023-6831.
    "..\\..\\secret.txt",
    "\\..\\..\\secret.txt",
    "x\\..\\..\\y",
    "C:\\Windows\\win.ini",
    "C:/Windows/win.ini",
    "C:secret.txt",
    "\\\\?\\C:\\Windows",
    "\\\\host\\share\\x",
    "..%5c..%5csecret.txt",
    "%5c..%5c..%5csecret.txt",
    # Percent-encoding, single, double and triple: CVE-2024-1560 (a double-decoding bypass of the
    # CVE-2023-6831 fix), CVE-2023-6730.
    "%2e%2e/secret.txt",
    "%2e%2e%2fsecret.txt",
    "..%2fsecret.txt",
    ".%2e/secret.txt",
    "%2e./secret.txt",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "%252e%252e%252fsecret.txt",
    "..%252fsecret.txt",
    "%25252e%25252e%25252fsecret.txt",
    "%2fetc%2fpasswd",
    "%2F%2Fhost%2Fshare",
    # Overlong and invalid UTF-8 (the classic IIS/Tomcat decoders' bypass, tried against CVE-2024-1560's fix).
    "%c0%ae%c0%ae/secret.txt",
    "%c0%ae%c0%ae%c0%afsecret.txt",
    "%e0%80%ae%e0%80%ae/secret.txt",
    "..%c0%afsecret.txt",
    "%c1%9c..%c1%9csecret.txt",
    # ';' path parameters (Tomcat/Java style): CVE-2024-1593.
    "..;/secret.txt",
    "x/..;/..;/y",
    "%2e%2e%3b/secret.txt",
    "..;jsessionid=1/secret.txt",
    ".;/../secret.txt",
    # '#' and '?' smuggling, read as a path by some layers and dropped by others: CVE-2024-1483, CVE-2024-1594.
    "x#/../../secret.txt",
    "x?/../../secret.txt",
    "x%23/../../secret.txt",
    "x%3f/../../secret.txt",
    # NUL and control characters (truncation in C layers; log and header injection): CVE-2023-2356's NUL check.
    "%00",
    "x\x00y",
    "secret.txt\x00.png",
    "x%00/../secret.txt",
    "x\ny",
    "x\r\n../y",
    "x\x85y",
    # Unicode look-alikes that NFKC normalisation turns into '.', '/' or '\' (fullwidth, leader dots).
    "\uff0e\uff0e/secret.txt",
    "\u2024\u2024/secret.txt",
    "\u2025/secret.txt",
    "..\uff0fsecret.txt",
    "..\uff3csecret.txt",
    "%ef%bc%8e%ef%bc%8e/secret.txt",
    # Runs of dots that Windows trims to '..', and what naive '../' stripping leaves ('....//' -> '../').
    "....//secret.txt",
    ".../secret.txt",
    ".. /secret.txt",
    "x/.. ./y",
    "..../",
    # Very long paths (limits checked up front, not left to ENAMETOOLONG).
    "a/" * 600 + "x",
    "x" * 300,
    "../" * 400 + "etc/passwd",
]


def aimed_at(levels: int, target: str) -> list[str]:
    """The corpus' tricks aimed at ``target``, ``levels`` folders above the root of an API's paths."""
    return [
        "../" * levels + target,
        "%2e%2e%2f" * levels + target,
        "%252e%252e%252f" * levels + target,
        "..%5c" * levels + target,
        "..;/" * levels + target,
        "\uff0e\uff0e/" * levels + target,
        "x/" + "../" * (levels + 1) + target,
        "./" + "..%2f" * levels + target.replace("/", "%2f"),
    ]
