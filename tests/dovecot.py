"""A throwaway Dovecot IMAP server on loopback (Debian's `dovecot-imapd`), for the email
channel's IMAP tests: one mailbox user, IMAPS with a certificate from a test CA (trustme)."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import trustme

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"


@dataclass(frozen=True)
class ImapServer:
    """Where the test mailbox is and how to reach it."""

    host: str
    port: int  # IMAPS
    user: str
    password: str
    ca_file: Path  # the CA that signed the server's certificate

    @property
    def url(self) -> str:
        """The mailbox as `WARMLINE_IMAP_URL` names it."""
        return f"imaps://{self.user}@{self.host}:{self.port}/INBOX"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def dovecot_server() -> Iterator[ImapServer]:
    """Start Dovecot with its configuration, state and mail in a fresh temporary directory;
    stop it and remove the directory after. As root its processes run as Dovecot's own system
    users (it refuses root for mail), who must be able to reach the directory (pytest's own
    are private to root); otherwise as the current user."""
    if not os.path.exists(DOVECOT):
        raise AssertionError(
            "the IMAP tests need Debian's dovecot-imapd (scripts/ensure-test-packages.sh)"
        )
    directory = Path(tempfile.mkdtemp(prefix="warmline-dovecot-"))
    directory.chmod(0o755)
    try:
        with _running(directory) as server:
            yield server
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def _running(directory: Path) -> Iterator[ImapServer]:
    for name in ("run", "state", "home"):
        (directory / name).mkdir(exist_ok=True)
    ca = trustme.CA()
    certificate = ca.issue_cert("127.0.0.1", "localhost")
    certificate.private_key_and_cert_chain_pem.write_to_path(str(directory / "server.pem"))
    ca.cert_pem.write_to_path(str(directory / "ca.pem"))
    if os.geteuid() == 0:
        mail_user, mail_group, login_user = "dovecot", "dovecot", "dovenull"
        account = pwd.getpwnam(mail_user)
        os.chown(directory / "home", account.pw_uid, account.pw_gid)
    else:
        mail_user = login_user = pwd.getpwuid(os.geteuid()).pw_name
        mail_group = grp.getgrgid(os.getegid()).gr_name
    port = _free_port()
    password = "imap-test-password-42"
    (directory / "passwd").write_text(f"support:{{PLAIN}}{password}\n")
    (directory / "dovecot.conf").write_text(
        f"""
base_dir = {directory}/run
state_dir = {directory}/state
log_path = {directory}/dovecot.log
protocols = imap
listen = 127.0.0.1
first_valid_uid = 1
default_internal_user = {mail_user}
default_internal_group = {mail_group}
default_login_user = {login_user}
ssl = required
ssl_cert = <{directory}/server.pem
ssl_key = <{directory}/server.pem
auth_mechanisms = plain login
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {directory}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_group} home={directory}/home/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {port}
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = 0
  }}
}}
"""
    )
    process = subprocess.Popen(
        [DOVECOT, "-F", "-c", str(directory / "dovecot.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                log = directory / "dovecot.log"
                raise AssertionError(
                    f"dovecot exited with {process.returncode}: "
                    f"{log.read_text() if log.exists() else ''}"
                )
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError("dovecot did not listen within 20 s") from None
                time.sleep(0.1)
        yield ImapServer("127.0.0.1", port, "support", password, directory / "ca.pem")
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
