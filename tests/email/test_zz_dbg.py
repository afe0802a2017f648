import time
from tests.email.conftest import Line, compose, YOUNG
from tests.email.test_faults import *

def test_dbg_erase(line):
    line.write(compose("CANCELLA", message_id="<erase1@mail.example.com>"))
    line.wait_replies(1)
    line.write(compose("sì", message_id="<erase2@mail.example.com>"))
    time.sleep(3)
    for m in line.inbound(): print("IN", repr(m.body))
    for m in line.outbound(): print("OUT", m.status, repr(m.body[:200]))

def test_dbg_huge(make_line):
    from email import message_from_bytes
    from email.message import EmailMessage
    line = make_line(SOS_EMAIL_MAX_MESSAGE_BYTES=1_000_000, SOS_EMAIL_MAX_ATTACHMENT_BYTES=500_000)
    big = EmailMessage(); big["From"]="a@b.cd"; big["Subject"]="x"; big["Message-ID"]="<q@b.cd>"
    big.set_content("testo")
    big.add_attachment(b"x"*3000000, maintype="video", subtype="mp4", filename="video.mp4")
    line.write(bytes(big))
    [stored] = line.wait_inbound(1)
    print(stored.media, stored.meta)
