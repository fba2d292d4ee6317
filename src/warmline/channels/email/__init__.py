"""The email channel (docs/email.md).

Inbound mail arrives through an SMTP listener (`smtp.py`, aiosmtpd) that `warmline serve`
starts when `WARMLINE_EMAIL_INBOUND_PORT` is set, or through IMAP polling (`imap.py`,
imapclient) of a mailbox that cannot forward. Each email is read (`parsing.py`: the newest
part of the text, without quoted history or signature; attachments as name, type and size;
automatic replies and bounces recognised), attached to its conversation only through a thread
token that only this deployment can make (`threads.py`), and goes through the engine like any
customer message (`inbound.py`). Replies and agents' messages go out through the relay in
`WARMLINE_SMTP_URL`, threaded with `Message-ID`, `In-Reply-To` and `References`
(`outbound.py`); `runtime.py` starts and stops it all.
"""
