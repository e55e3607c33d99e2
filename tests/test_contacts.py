"""Contact details in the providers register cannot add recipients, links or formulas.

An email with ``?bcc=`` used to pass the register's check and become a ``mailto:`` link with a
hidden recipient on the page; ``mailto:a@b.org`` became ``mailto:mailto:``; phone numbers were
not checked at all (``=HYPERLINK(...)``, 199 characters).
"""

from __future__ import annotations

import pytest

from gapmap.cli.commands import main
from gapmap.errors import InputError
from gapmap.io.cells import mailto
from gapmap.io.registers import read_providers

from .helpers import GOOD_PEOPLE as Q
from .helpers import GOOD_PROVIDERS as P
from .helpers import csv_text as _csv
from .helpers import edit
from .helpers import write_file as _write


@pytest.mark.parametrize(
    "email",
    [
        "x@y.org?bcc=spy@evil.example&subject=hi",
        "mailto:a@b.org",
        "a b@example.org",
        "a@b@example.org",
        "a@example.org,b@example.org",
        "a@example.org&cc=b@example.org",
        "<a@example.org>",
        "a@localhost",
        "=1+1@example.org",
    ],
)
def test_an_email_that_is_not_one_address_is_refused(tmp_path, email):
    path = _write(tmp_path / "providers.csv", edit(P, 3, "email", email))
    with pytest.raises(InputError) as e:
        read_providers(path)
    (p,) = e.value.problems
    assert (p.row, p.column) == (3, "email")


@pytest.mark.parametrize(
    "phone",
    [
        '=HYPERLINK("https://evil.example","call")',
        "+44 " + "1" * 195,
        "call 01234",
        "0123+456789",
        "@SUM(1)",
        "123",
    ],
)
def test_a_phone_that_is_not_a_number_is_refused(tmp_path, phone):
    path = _write(tmp_path / "providers.csv", edit(P, 4, "phone", phone))
    with pytest.raises(InputError) as e:
        read_providers(path)
    (p,) = e.value.problems
    assert (p.row, p.column) == (4, "phone")


@pytest.mark.parametrize(
    "email,phone",
    [("first.last+care@mp-01.example.co.uk", "+44 (0)1622 694000"), ("", ""),
     ("Hello@Example.ORG", "01622-694 000")],
)  # fmt: skip
def test_ordinary_contacts_are_kept(tmp_path, email, phone):
    rows = [list(r) for r in P]
    rows[1][rows[0].index("email")] = email
    rows[1][rows[0].index("phone")] = phone
    prov = read_providers(_write(tmp_path / "providers.csv", _csv(rows)))
    assert prov["email"].iloc[0] == email and prov["phone"].iloc[0] == phone


def test_the_command_line_names_file_row_and_column(tmp_path, capsys):
    prov = _write(tmp_path / "providers.csv", edit(P, 2, "email", "x@y.org?bcc=spy@evil.example"))
    people = _write(tmp_path / "people.csv", _csv(Q))
    rc = main(["gaps", "--providers", str(prov), "--people", str(people), "--out",
               str(tmp_path / "out")])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2 and "providers.csv, row 2, column 'email'" in err, err
    assert not (tmp_path / "out").exists()


def test_a_mailto_link_names_one_recipient():
    assert mailto("hello@mp0001.example.org") == "mailto:hello@mp0001.example.org"
    link = mailto("x@y.org?bcc=spy@evil.example&subject=hi")  # were one ever to get through
    assert "?" not in link and "&" not in link and link.count(":") == 1
